# Everything bootstraps itself: a fresh clone needs only Python 3.11 and make.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast lint docs bench data clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

demo: $(STAMP)  ## compile the common shapes once (mixedbayes warmup), then fit the demo model
	$(BIN)/python -m mixedbayes warmup --levels 32 256
	$(BIN)/python -m mixedbayes demo

test: $(STAMP)  ## lint, then unit tests and the slow sampling tests
	$(BIN)/ruff check src tests data benchmarks validation examples
	$(BIN)/python -m pytest -ra

test-fast: $(STAMP)  ## unit tests only (no sampling)
	$(BIN)/python -m pytest -ra -m "not slow"

docs: $(STAMP)  ## build the documentation site into site/ (mkdocs, strict: warnings fail)
	$(BIN)/mkdocs build --strict

bench: $(STAMP)  ## mixedbayes vs bambi, side by side; writes docs/performance.md
	$(BIN)/python benchmarks/run.py
	$(BIN)/python benchmarks/first_fit.py
	$(BIN)/python benchmarks/structures.py
	$(BIN)/python benchmarks/padding.py

data: $(STAMP)  ## regenerate the stand-in data sets in data/ with mb.simulate
	$(BIN)/python data/make_data.py

lint: $(STAMP)
	$(BIN)/ruff check src tests data benchmarks validation examples
	$(BIN)/ruff format --check src tests data benchmarks validation examples

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache src/*.egg-info site
