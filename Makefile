# Every target creates .venv and installs the project into it first, so each works on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint format bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "paperbot needs Python 3.11 or newer (found $$($(PYTHON) --version))"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

## make run: install, migrate, load the sample catalog if empty, start the bot (console without a token)
run: $(STAMP)
	$(BIN)/paperbot run

## make test: lint, type-check and the whole test suite (SQLite and PostgreSQL)
test: lint
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check bot storage tests benchmarks
	$(BIN)/ruff format --check bot storage tests benchmarks
	$(BIN)/mypy bot storage

format: $(STAMP)
	$(BIN)/ruff format bot storage tests benchmarks
	$(BIN)/ruff check --fix bot storage tests benchmarks

## make bench: benchmarks; results as JSON under benchmarks/results/
bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
