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

# Whole test files go to one worker (--dist loadfile), so a file's module fixture runs once; --dist loadgroup
# no longer groups on pytest 9.2 (pytest-dev/pytest-xdist#1386). --no-loadscope-reorder keeps the order
# tests/conftest.py gives (the slowest files first).
test: $(VENV)/.installed
	$(BIN)/python -m pytest -n 2 --dist loadfile --no-loadscope-reorder --durations=15 $(PYTEST_ARGS)

lab: $(VENV)/.installed-core
	$(BIN)/python -m ipykernel install --sys-prefix --name ecrm --display-name "Python (ecrm)"
	$(BIN)/jupyter lab --notebook-dir=notebooks

# A wheel with the notebooks, registry, default data and messages inside (pip builds it in an isolated environment).
wheel: | $(BIN)/python
	$(BIN)/python -m pip wheel --no-deps -w dist .

clean-reports:
	rm -rf reports/*/ reports/latest reports/.staging-*
