VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install run test lint typecheck bench e2e-pg tour-images clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/callout demo

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy

test: lint typecheck
	$(VENV)/bin/pytest

# The deployment tests on PostgreSQL, the kill test 10 times in a row (`make test` runs it once).
e2e-pg: $(STAMP)
	CALLOUT_FAULT_ROUNDS=$${CALLOUT_FAULT_ROUNDS:-10} $(VENV)/bin/pytest -m e2e -p no:cacheprovider

bench: $(STAMP)
	$(PY) -m pip install -q -e '.[dev,bench]'
	$(VENV)/bin/python -m tests.bench

tour-images: $(STAMP)
	$(PY) -m pip install -q -e '.[dev,bench]'
	$(PY) -m tests.tour_images

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
