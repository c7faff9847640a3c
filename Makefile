# Two commands matter: `make demo` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
UV_VERSION := 0.13.9
PYTEST_ARGS ?=

.PHONY: help install demo test lint format lab bench clean lock notebooks
NBVAL := -p nbval --nbval-lax --nbval-current-env --nbval-sanitize-with notebooks/nbval_sanitize.cfg

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml requirements/lock.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	$(BIN)/uv pip install --python $(BIN)/python --quiet -r requirements/lock.txt
	$(BIN)/uv pip install --python $(BIN)/python --quiet --no-deps -e .
	$(BIN)/python -m pip check
	@touch $(STAMP)

install: $(STAMP)  ## create .venv and install the pinned dependencies

demo: $(STAMP)  ## every notebook headless, then a 100-environment batch check, against sandboxes
	$(BIN)/akv-runbook demo
	$(BIN)/akv-runbook demo --fleet 100

test: $(STAMP)  ## lint, then run the whole test suite
	$(BIN)/ruff check helpers tests bench dags
	$(BIN)/ruff format --check helpers tests bench dags
	$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)
	$(BIN)/python -m pytest -p no:randomly $(NBVAL) notebooks/

lab: $(STAMP)  ## JupyterLab with the sandbox environment in the kernel
	$(BIN)/akv-runbook lab

notebooks: $(STAMP)  ## write the notebooks from helpers/devtools/notebook_sources.py, then run them in place against a deterministic sandbox (committed outputs)
	$(BIN)/akv-runbook notebooks

bench: $(STAMP)  ## sandbox load, a class of 30 under load, DAG-folder cost, our DAG files' parse time, then batch paths at 20/50/100 environments (about an hour)
	$(BIN)/python bench/sandbox_load.py
	$(BIN)/python bench/class_load.py
	$(BIN)/python bench/dag_cost.py
	$(BIN)/python bench/dag_parse.py
	$(BIN)/python bench/batch_checks.py

lint: $(STAMP)
	$(BIN)/ruff check helpers tests bench dags

format: $(STAMP)
	$(BIN)/ruff format helpers tests bench dags
	$(BIN)/ruff check --fix helpers tests bench dags

lock:  ## re-resolve requirements/lock.txt from pyproject.toml in one step
	$(BIN)/uv pip compile pyproject.toml --extra dev --extra class --python-version 3.11 --no-header -o requirements/lock.txt

clean:
	rm -rf $(VENV) .pytest_cache reports
