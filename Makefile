# The two commands of the README: `make demo` runs the main job, `make test` runs the tests.
# Both work on a fresh clone: they make a virtual environment in .venv and install into it.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The tests run on PYTEST_WORKERS processes (pytest-xdist; 0: in this one), a test file at a time on each, so a
# file's servers and module fixtures start once; each process starts its own servers on free loopback ports.
# Two, as CI has two cores; `make test PYTEST_WORKERS=auto` takes one per core.
PYTEST_WORKERS ?= 2
# The 20 slowest tests after the summary: where a CI run's minutes go (it must stay under 20).
PYTEST_ARGS ?= --durations=20

.PHONY: demo test check docs servers bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

demo: $(BIN)/python
	$(BIN)/python -m pip install --quiet --editable .
	$(BIN)/hotspotctl demo

# The real servers the tests talk to come from Debian's packages; the fixtures start them.
servers:
	tests/install-servers.sh

test: servers $(BIN)/python
	$(BIN)/python -m pip install --quiet --editable '.[test]'
	$(MAKE) --no-print-directory check
	$(BIN)/python -m pytest --numprocesses $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

# The quality gates, run by `make test` before the tests (and so by CI). The docs are built without
# --quiet: it would also silence the warnings that --strict turns into a failure.
check: $(BIN)/python
	$(BIN)/python -m pip install --quiet --editable '.[test,docs]'
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	site=$$(mktemp -d) && NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir "$$site"; status=$$?; rm -rf "$$site"; exit $$status

# The documentation site, served with live reload while you edit docs/ (http://127.0.0.1:8000).
docs: $(BIN)/python
	$(BIN)/python -m pip install --quiet --editable '.[docs]'
	$(BIN)/mkdocs serve

bench: servers $(BIN)/python
	$(BIN)/python -m pip install --quiet --editable '.[bench]'
	$(BIN)/python benchmarks/import_bench.py
	$(BIN)/python benchmarks/poll_bench.py
	$(BIN)/python benchmarks/cycle_bench.py
	$(BIN)/python benchmarks/influx_bench.py
	$(BIN)/python benchmarks/ssh_bench.py

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis
