# Transfer learning and fine-tuning with transformers: course tasks.
#
#   make lab        open the course in JupyterLab (creates .venv first if needed)
#   make test       unit tests + every notebook in the offline smoke profile (creates .venv first)
#   make execute    re-run all notebooks in place, then normalise them (see variables below)
#   make html       export the executed notebooks to build/html for projection in class
#
# Variables: PYTHON (to create the venv), TORCH (the torch requirement), and for `make execute`
# PROFILE, CHECKPOINT and DATA. The committed outputs were made with the defaults below;
# on a machine with Hub access, `make execute PROFILE=default CHECKPOINT= DATA=` runs DistilBERT.

SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TORCH ?= torch==2.13.0
STAMP := $(VENV)/.installed-stamp

PROFILE ?= cpu
CHECKPOINT ?= ../shared/models/all-MiniLM-L6-v2
DATA ?= ../shared/data/sst2
NOTEBOOKS ?= $(sort $(wildcard notebooks/[0-9]*.ipynb))
OFFLINE_DIR ?= offline_assets
HUB_CHECKPOINT ?= distilbert-base-uncased
# Jupyter refuses to run as root (containers, some cloud machines) unless told to.
LAB_FLAGS ?= $(if $(filter 0,$(shell id -u)),--allow-root,)
BENCH_ARGS ?= --checkpoint tiny-distilbert --data sample --samples 512

.PHONY: install lab test execute html check-html check-notebooks offline-assets badges benchmark clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "$(TORCH)"
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $(STAMP)

lab: $(STAMP)
	$(BIN)/jupyter lab $(LAB_FLAGS) notebooks

test: $(STAMP)
	$(BIN)/python -m pytest

execute: $(STAMP)
	$(BIN)/python tools/execute_notebooks.py --profile "$(PROFILE)" --checkpoint "$(CHECKPOINT)" --data "$(DATA)" $(NOTEBOOKS)

check-notebooks: $(STAMP)
	$(BIN)/python tools/check_notebooks.py $(NOTEBOOKS)

html: $(STAMP)
	$(BIN)/jupyter nbconvert --to html --output-dir build/html $(NOTEBOOKS)
	@echo "HTML pages are in build/html/ (one per notebook, plots embedded)."

check-html: html
	$(BIN)/python tools/check_html.py build/html

offline-assets: $(STAMP)
	$(BIN)/python -m course_utils.offline "$(OFFLINE_DIR)" --checkpoint "$(HUB_CHECKPOINT)"

badges: $(STAMP)
	$(BIN)/python tools/set_repo_url.py $(NOTEBOOKS) README.md

benchmark: $(STAMP)
	$(BIN)/python benchmarks/speed.py $(BENCH_ARGS)

clean:
	rm -rf build notebooks/course_outputs course_outputs .pytest_cache
