# Switchboard: `make help` lists the targets.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PORT   ?= 5000
export PORT

.DEFAULT_GOAL := help

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(BIN)/switchboard: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	@touch $@

install: $(BIN)/switchboard ## Create the virtual environment and install everything

run: install ## Start web + worker on SQLite with demo data (http://127.0.0.1:5000)
	$(BIN)/switchboard db upgrade
	$(BIN)/switchboard demo
	BIND_HOST=127.0.0.1 PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start web worker

test: install ## Run the whole test suite (TEST_DATABASE_URL=postgresql+psycopg://… for PostgreSQL)
	$(BIN)/python -m pytest -m "not reliability"

reliability: install ## Real processes under injected faults; prints the figures table (PostgreSQL)
	$(BIN)/python -m pytest -m reliability

test-later: install ## The suite (browser tests aside) 200 days from now, under libfaketime
	FAKETIME=+200d LD_PRELOAD="$$(dpkg -L libfaketime | grep 'libfaketime.so.1$$')" \
		$(BIN)/python -m pytest -m "not browser and not reliability"

lint: install ## Check style with ruff
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: install ## Format and fix what ruff can
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install ## Run the benchmarks (see bench/README.md)
	$(BIN)/python -m bench.import_customers
	$(BIN)/python -m bench.console_pages
	$(BIN)/python -m bench.webhook
	$(BIN)/python -m bench.dispatch

.PHONY: help install run test test-later reliability lint fmt bench
