# simopt — the two set-up commands are `make plan` and `make test`; both build .venv from scratch.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.simopt-installed
SCENARIO ?= scenarios/long_an.yaml

.PHONY: plan test lint typecheck pytest bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

plan: $(STAMP)
	$(BIN)/simopt validate $(SCENARIO)
	$(BIN)/simopt show $(SCENARIO)
	@# the audit exits 1 when the plan has findings; that is its answer, not a failure
	$(BIN)/simopt audit $(SCENARIO); rc=$$?; [ $$rc -le 1 ]
	@# a new run folder each time, results/<scenario>/<run-id>/; results/<scenario>/latest names it
	$(BIN)/simopt plan $(SCENARIO)

lint: $(STAMP)
	$(BIN)/ruff check simopt tests
	$(BIN)/ruff format --check simopt tests

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/python -m pytest

test: lint typecheck pytest

bench: $(STAMP)
	$(BIN)/python -m simopt.bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
