# The two commands a newcomer needs (see README):
#   make serve   install what is needed and start an instance on SQLite
#   make test    install what is needed and run the whole test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: serve test lint typecheck pytest tools bench demo clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.run-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.run-installed

# `make serve PORT=8010` when 8000 is taken (the base URL follows the port).
serve: $(VENV)/.run-installed
	$(BIN)/oce serve $(if $(PORT),--port $(PORT))

demo: $(VENV)/.run-installed
	$(BIN)/oce demo

# Browser and conformance tools the tests drive (Debian's chromium, an npm package).
tools:
	@sh tests/tools/install.sh

# bench/ is linted once it exists; ruff fails on a path that is not there.
LINTED := $(wildcard vocab federation instance tests bench)

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)

typecheck: $(VENV)/.dev-installed
	$(BIN)/mypy

# Two passes: everything but the hostile-load and fault tests on two workers
# (pytest-xdist; most of the suite's time is real processes waiting on each other),
# then those alone, so what they measure is not the rest of the suite's load.
# `make pytest PYTEST_ARGS=tests/web` runs just what it names, in one pass.
pytest: $(VENV)/.dev-installed
ifdef PYTEST_ARGS
	$(BIN)/pytest $(PYTEST_ARGS)
else
	$(BIN)/pytest -n 2 --dist loadfile -m "not load" --durations=25
	$(BIN)/pytest -m load
endif

test: tools lint typecheck pytest

bench: $(VENV)/.dev-installed
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
