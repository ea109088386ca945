# hookpost -- `make run` to start it, `make test` to test it.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PORT   ?= 8000
export HOOKPOST_DATABASE_URL ?= sqlite:///./hookpost.db

.PHONY: run install test test-unit lint typecheck bench mutation clean

$(BIN)/hookpost: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

install: $(BIN)/hookpost

# The quickstart delivers to `hookpost listen` on this machine: allow loopback
# (the service default refuses it, like every private range).
run: export HOOKPOST_ALLOWED_NETWORKS ?= 127.0.0.0/8,::1/128
run: install
	$(BIN)/hookpost migrate
	$(BIN)/hookpost serve --port $(PORT)

# Every tier: tests/unit, tests/integration, tests/e2e (README, "Testing"); the import
# contracts first (a second; pyproject.toml [tool.importlinter]). Most tests wait on
# sockets, subprocesses and clocks, so they run on $(TEST_WORKERS) pytest-xdist workers;
# then the ones marked `serial` (they measure time, or act on state other tests share) run
# alone. Both runs always run; `make test` fails if either does.
TEST_WORKERS ?= 3
test: install
	$(BIN)/lint-imports
	status=0; \
	$(BIN)/pytest -q -n $(TEST_WORKERS) --dist worksteal -m "not serial" || status=$$?; \
	$(BIN)/pytest -q -m serial || status=$$?; \
	exit $$status

# The pure tier only, in seconds.
test-unit: install
	$(BIN)/pytest -q tests/unit

lint: install
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: install
	$(BIN)/python -m benchmarks core

# Mutation testing of the core modules against tests/unit (minutes; not part of CI).
# Its own venv: see the `mutation` extra in pyproject.toml. docs/mutation.md reads the result.
MVENV ?= .venv-mutation
$(MVENV)/bin/mutmut: pyproject.toml
	$(PYTHON) -m venv $(MVENV)
	$(MVENV)/bin/pip install --quiet --upgrade pip
	$(MVENV)/bin/pip install --quiet -e '.[mutation]'
	@touch $@

mutation: $(MVENV)/bin/mutmut
	rm -rf mutants
	$(MVENV)/bin/mutmut run
	$(MVENV)/bin/python scripts/mutation_report.py

clean:
	rm -rf $(VENV) $(MVENV) mutants hookpost.db hookpost.db-wal hookpost.db-shm hookpost.db-wake .hookpost
