# Transfer learning and fine-tuning with transformers: course tasks.
#
#   make lab        open the course in JupyterLab (creates .venv first if needed)
#   make test       unit tests + docstring examples + every notebook in the offline smoke profile
#   make test-fast  the unit tests and docstring examples only, without those marked slow (seconds)
#   make test-colab a Colab-like first run: a fresh venv with transformers 4.x and no course runs
#                   notebook 1, whose set-up cell installs the course (needs pip's registry; minutes)
#   make lint       ruff, then the pre-commit hooks (notebook normaliser, JSON, large files) on all files
#   make execute    re-run every notebook and normalise it; all or nothing (tools/execute.py)
#   make html       export the executed notebooks to build/html for projection in class
#   make badges     after changing [tool.course] in pyproject.toml: point every Colab badge and
#                   install URL in the notebooks and README.md at that repository and branch
#
# Variables: PYTHON (to create the venv), TORCH (the torch requirement), NOTEBOOKS, and for
# `make execute` PROFILE, CHECKPOINT and DATA: COURSE_PROFILE, COURSE_CHECKPOINT and COURSE_DATA
# for the kernels, not set when empty (the default), so a fresh clone runs the default profile.
# Folders are meant from the repository root. The committed outputs were made with
#   make execute PROFILE=cpu CHECKPOINT=../shared/models/all-MiniLM-L6-v2 DATA=../shared/data/sst2

SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TORCH ?= torch==2.13.0
STAMP := $(VENV)/.installed-stamp

PROFILE ?=
CHECKPOINT ?=
DATA ?=
NOTEBOOKS ?= $(sort $(wildcard notebooks/[0-9]*.ipynb)) $(sort $(wildcard notebooks/A*.ipynb))
OFFLINE_DIR ?= offline_assets
HUB_CHECKPOINT ?= distilbert-base-uncased
# Jupyter refuses to run as root (containers, some cloud machines) unless told to.
LAB_FLAGS ?= $(if $(filter 0,$(shell id -u)),--allow-root,)
BENCH_ARGS ?= --checkpoint tiny-distilbert --data sample --samples 512
# The repository's address and branch, from pyproject.toml [tool.course] (written only there).
REPO_SLUG = $(shell sed -n 's|^repository = "https://github.com/\([^"]*\)".*|\1|p' pyproject.toml)
REPO_BRANCH = $(shell sed -n 's|^branch = "\([^"]*\)".*|\1|p' pyproject.toml)

.PHONY: install lab test test-colab test-fast lint execute html offline-assets badges benchmark clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "$(TORCH)"
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $(STAMP)

lab: $(STAMP)
	COURSE_START_DIR="$(CURDIR)" $(BIN)/jupyter lab $(LAB_FLAGS) notebooks

test: $(STAMP)
	$(BIN)/python -m pytest

test-colab: $(STAMP)
	$(BIN)/python -m pytest -q tests/colab_like_check.py

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow" tests course_utils tools

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/pre-commit run --all-files --show-diff-on-failure

execute: $(STAMP)
	$(BIN)/python -m tools.execute --profile "$(PROFILE)" --checkpoint "$(CHECKPOINT)" --data "$(DATA)" $(if $(RECORD),--record "$(RECORD)",) $(NOTEBOOKS)

html: $(STAMP)
	$(BIN)/jupyter nbconvert --to html --output-dir build/html $(NOTEBOOKS)
	@echo "HTML pages are in build/html/ (one per notebook, plots embedded)."

offline-assets: $(STAMP)
	$(BIN)/python -m course_utils.offline "$(OFFLINE_DIR)" --checkpoint "$(HUB_CHECKPOINT)"

badges:
	sed -i.bak -E -e 's#(colab\.research\.google\.com/github/)[^/]+/[^/]+/blob/[^/]+/#\1$(REPO_SLUG)/blob/$(REPO_BRANCH)/#g' \
	  -e 's#git\+https://github\.com/[^/]+/[^@"\\ )]+(@[^"\\ )]+)?#git+https://github.com/$(REPO_SLUG)@$(REPO_BRANCH)#g' \
	  $(NOTEBOOKS) README.md && rm -f $(addsuffix .bak,$(NOTEBOOKS) README.md)

benchmark: $(STAMP)
	$(BIN)/python benchmarks/speed.py $(BENCH_ARGS)

clean:
	rm -rf build notebooks/course_outputs course_outputs .pytest_cache
