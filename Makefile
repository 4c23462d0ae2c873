# The README's two commands: `make reports` and `make test`. Both set up .venv first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# `make reports` installs what a run needs (the core dependencies); `make test` adds the test and Spark extras.
EXTRAS := test,spark
CONFIG ?= data/default/config.yaml
# Extra arguments for `ecrm run`, e.g. make reports RUN_ARGS="--force --as-of 2025-03-31"
RUN_ARGS ?=
# Extra arguments for pytest, e.g. make test PYTEST_ARGS="-k runner"
PYTEST_ARGS ?=

.PHONY: reports test lab validate clean-reports setup wheel

setup: $(VENV)/.installed

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall whenever the dependency list changes.
$(VENV)/.installed-core: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed: $(VENV)/.installed-core
	$(BIN)/python -m pip install --quiet -e ".[$(EXTRAS)]"
	touch $@

reports: $(VENV)/.installed-core
	$(BIN)/ecrm run --config $(CONFIG) $(RUN_ARGS)

validate: $(VENV)/.installed-core
	$(BIN)/ecrm validate --config $(CONFIG)

# Two parts, each timed: the tests (aim: under 5 min on 2 cores), then the engine integration tests (Spark and the
# database servers, marker `engine`; aim: up to 5 min more). Both read one shared suite execution
# ($ECRM_TEST_SHARED_RUN: a new folder per `make test`, removed at the end, unless you set one). Both parts run even
# when the first fails; pytest's status 5 (no test selected in a part, e.g. PYTEST_ARGS="-k seef") counts as passed.
# Whole test files go to one worker (--dist loadfile), so a file's module fixture runs once; --dist loadgroup
# no longer groups on pytest 9.2 (pytest-dev/pytest-xdist#1386). --no-loadscope-reorder keeps the order
# tests/conftest.py gives (the slowest files first).
PYTEST := $(BIN)/python -m pytest -n 2 --dist loadfile --no-loadscope-reorder --durations=15
test: $(VENV)/.installed
	@shared="$${ECRM_TEST_SHARED_RUN:-}"; if [ -z "$$shared" ]; then shared=$$(mktemp -d -t ecrm-test-XXXXXX); \
	  trap 'rm -rf "$$shared"' EXIT; fi; status=0; \
	for part in "not engine" "engine"; do \
	  start=$$(date +%s); \
	  ECRM_TEST_SHARED_RUN="$$shared" $(PYTEST) -m "$$part" $(PYTEST_ARGS); rc=$$?; \
	  echo "make test: the tests marked '$$part' took $$(( $$(date +%s) - start )) s (pytest status $$rc)"; \
	  if [ $$rc -ne 0 ] && [ $$rc -ne 5 ]; then status=$$rc; fi; \
	done; exit $$status

lab: $(VENV)/.installed-core
	$(BIN)/python -m ipykernel install --sys-prefix --name ecrm --display-name "Python (ecrm)"
	$(BIN)/jupyter lab --notebook-dir=notebooks

# A wheel with the notebooks, registry, default data and messages inside (pip builds it in an isolated environment).
wheel: | $(BIN)/python
	$(BIN)/python -m pip wheel --no-deps -w dist .

clean-reports:
	rm -rf reports/*/ reports/latest reports/.staging-*
