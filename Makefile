# lakemesh: `make demo` runs the main job end to end, `make test` passes the tests.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
JOBS ?= 2
export PIP_CACHE_DIR ?= $(HOME)/.cache/lakemesh/pip

.PHONY: help venv demo test test-fast lint fmt bench postgres graphviz clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)  ## create .venv with lakemesh and its dev tools

postgres:  ## make sure a PostgreSQL server binary is installed (tests start their own cluster)
	@bash scripts/ensure-postgres.sh

graphviz:  ## make sure Graphviz's dot is installed (lineage pictures as svg or png, and their tests)
	@bash scripts/ensure-graphviz.sh

demo: venv  ## build the example mesh end to end on the embedded default
	$(BIN)/lakemesh demo

test: venv postgres graphviz  ## run the whole test suite (starts a throwaway PostgreSQL)
	$(BIN)/python -m pytest -q

test-fast: venv graphviz  ## fast tests in parallel (JOBS=2 workers): no PostgreSQL, nothing marked slow
	$(BIN)/python -m pytest -q -m "not slow and not postgres" -n $(JOBS) --dist loadscope

lint: venv  ## ruff, mypy and the layer contracts (import-linter, in pyproject.toml)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

fmt: venv
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

bench: venv postgres  ## run the benchmarks against their anchors
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache demo-workspace
