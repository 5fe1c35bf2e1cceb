# simopt — the two set-up commands are `make plan` and `make test`; both build .venv from scratch.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.simopt-installed
SCENARIO ?= scenarios/long_an.yaml

.PHONY: plan test lint typecheck pytest bench clean system-packages serve

# Tests use real parts: LibreOffice recalculates the workbook's formulas, headless Chromium
# renders the report, DejaVu fonts give both Vietnamese diacritics. Installed with apt when
# missing (as root, or through sudo).
SYSTEM_PACKAGES := soffice:libreoffice-calc-nogui chromium:chromium chromedriver:chromium-driver \
	/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf:fonts-dejavu-core

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

system-packages:
	@missing=""; for pair in $(SYSTEM_PACKAGES); do \
		what=$${pair%%:*}; pkg=$${pair##*:}; \
		if [ "$${what#/}" != "$$what" ]; then [ -e "$$what" ] || missing="$$missing $$pkg"; \
		else command -v "$$what" >/dev/null 2>&1 || missing="$$missing $$pkg"; fi; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing system packages:$$missing"; \
		sudo=""; [ "$$(id -u)" = 0 ] || sudo="sudo"; \
		$$sudo apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

pytest: $(STAMP) system-packages
	$(BIN)/python -m pytest

test: lint typecheck pytest

# the web app on http://127.0.0.1:8000/ (create the first user: $(BIN)/simopt users add NAME --role admin)
serve: $(STAMP)
	$(BIN)/simopt serve

bench: $(STAMP)
	$(BIN)/python -m simopt.bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
