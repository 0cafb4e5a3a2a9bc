# Transfer learning and fine-tuning with transformers: course tasks.
#
#   make lab        open the course in JupyterLab (creates .venv first if needed)
#   make test       unit tests + docstring examples + every notebook in the offline smoke profile
#   make test-fast  the unit tests and docstring examples only, without those marked slow (seconds,
#                   one worker per core)
#   make test-colab a Colab-like first run: a fresh venv with transformers 4.x and no course runs
#                   notebook 1, whose set-up cell installs the course (needs pip's registry; minutes)
#   make lint       the pre-commit hooks (notebook normaliser, ruff, JSON, large files) on all files
#   make execute    re-run every notebook and normalise it; all or nothing (tools/execute.py)
#   make constraints  after upgrading .venv and re-running `make execute`: pin the versions used
#   make html       export the executed notebooks to build/html for projection in class
#   make badges     after changing [tool.course] in pyproject.toml: point every Colab badge and
#                   install URL in the notebooks and README.md at that repository and branch
#
# Variables: PYTHON (to create the venv), TORCH (pip arguments for torch), NOTEBOOKS, and for
# `make execute` PROFILE, CHECKPOINT and DATA: COURSE_PROFILE, COURSE_CHECKPOINT and COURSE_DATA
# for the kernels, not set when empty (the default), so a fresh clone runs the default profile;
# RECORD (a JSON file for each notebook's wall time) and CONSTRAINTS (see constraints.txt).
# PROFILE, CHECKPOINT, DATA, RECORD and NOTEBOOKS are read from the command line only: the same
# names exported in your shell are ignored. Folders are meant from the repository root.
# The committed outputs were made with
#   make execute PROFILE=cpu CHECKPOINT=../shared/models/all-MiniLM-L6-v2 DATA=../shared/data/sst2

SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TORCH ?= torch==2.13.0
STAMP := $(VENV)/.installed-stamp

# `=`, not `?=`: a value from the environment loses to these, one from the command line wins.
PROFILE =
CHECKPOINT =
DATA =
RECORD =
NOTEBOOKS = $(sort $(wildcard notebooks/[0-9]*.ipynb)) $(sort $(wildcard notebooks/A*.ipynb))
# The exact versions the committed outputs were made with (`make constraints` writes it):
# `make execute` stops, naming each installed package that differs. CONSTRAINTS= skips the check.
CONSTRAINTS = constraints.txt
OFFLINE_DIR ?= offline_assets
HUB_CHECKPOINT ?= distilbert-base-uncased
# Jupyter refuses to run as root (containers, some cloud machines) unless told to.
LAB_FLAGS ?= $(if $(filter 0,$(shell id -u)),--allow-root,)
BENCH_ARGS ?= --checkpoint tiny-distilbert --data sample --samples 512
# The repository's address and branch, from pyproject.toml [tool.course] (written only there).
REPO_SLUG = $(shell sed -n 's|^repository = "https://github.com/\([^"]*\)".*|\1|p' pyproject.toml)
REPO_BRANCH = $(shell sed -n 's|^branch = "\([^"]*\)".*|\1|p' pyproject.toml)
# A value as one single-quoted shell word: a `"`, `'` or `$(...)` in it is text, never a command.
quote = '$(subst ','\'',$(1))'
QUOTED_NOTEBOOKS = $(foreach notebook,$(NOTEBOOKS),$(call quote,$(notebook)))

.PHONY: install lab test test-colab test-fast lint execute constraints html offline-assets badges benchmark clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q $(foreach word,$(TORCH),$(call quote,$(word)))
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $(STAMP)

lab: $(STAMP)
	COURSE_START_DIR=$(call quote,$(CURDIR)) $(BIN)/jupyter lab $(LAB_FLAGS) notebooks

test: $(STAMP)
	$(BIN)/python -m pytest

test-colab: $(STAMP)
	$(BIN)/python -m pytest -q tests/colab_like_check.py

# -n auto: one pytest worker per CPU core (pytest-xdist); most of the time is importing torch and transformers.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -n auto -m "not slow" tests course_utils tools

# The hooks call python, ruff and check-json from PATH (any environment's): here, .venv's.
lint: $(STAMP)
	PATH=$(call quote,$(abspath $(BIN))):"$$PATH" pre-commit run --all-files --show-diff-on-failure

execute: $(STAMP)
	$(BIN)/python -m tools.execute --profile $(call quote,$(PROFILE)) --checkpoint $(call quote,$(CHECKPOINT)) \
	  --data $(call quote,$(DATA)) $(if $(RECORD),--record $(call quote,$(RECORD))) \
	  $(if $(CONSTRAINTS),--constraints $(call quote,$(CONSTRAINTS))) $(QUOTED_NOTEBOOKS)

constraints: $(STAMP)
	{ echo "# Exact versions the committed notebook outputs were made with (make constraints wrote them from .venv)."; \
	  echo "# make execute stops when an installed package differs; pip install -c constraints.txt -e '.[dev]' installs them."; \
	  $(BIN)/python -m pip freeze --exclude course-utils | sed -E 's/\+[^ ]+$$//'; } > constraints.txt.tmp
	mv constraints.txt.tmp constraints.txt

html: $(STAMP)
	$(BIN)/jupyter nbconvert --to html --output-dir build/html $(QUOTED_NOTEBOOKS)
	@echo "HTML pages are in build/html/ (one per notebook, plots embedded)."

offline-assets: $(STAMP)
	$(BIN)/python -m course_utils.offline $(call quote,$(OFFLINE_DIR)) --checkpoint $(call quote,$(HUB_CHECKPOINT))

badges:
	sed -i.bak -E -e 's#(colab\.research\.google\.com/github/)[^/]+/[^/]+/blob/[^/]+/#\1$(REPO_SLUG)/blob/$(REPO_BRANCH)/#g' \
	  -e 's#git\+https://github\.com/[^/]+/[^@"\\ )]+(@[^"\\ )]+)?#git+https://github.com/$(REPO_SLUG)@$(REPO_BRANCH)#g' \
	  -e 's#(raw\.githubusercontent\.com/)[^/]+/[^/]+/[^/]+/#\1$(REPO_SLUG)/$(REPO_BRANCH)/#g' \
	  $(QUOTED_NOTEBOOKS) README.md && rm -f $(foreach file,$(NOTEBOOKS) README.md,$(call quote,$(file).bak))

benchmark: $(STAMP)
	$(BIN)/python benchmarks/speed.py $(BENCH_ARGS)

clean:
	rm -rf build notebooks/course_outputs course_outputs .pytest_cache
