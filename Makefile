# greenroom — the two commands a newcomer needs are `make demo` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3
STAMP := $(VENV)/.installed-stamp

.PHONY: setup demo test lint typecheck check bench schemas clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(VENV)/bin/greenroom characters list
	$(VENV)/bin/greenroom characters validate

test: setup
	$(PY) -m pytest -q

lint: setup
	$(VENV)/bin/ruff check .

typecheck: setup
	$(VENV)/bin/mypy

check: lint typecheck test

bench: setup
	$(PY) -m bench

schemas: setup
	$(PY) -m worker.characters.schema_gen
	$(PY) -m protocol.schema_gen

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
