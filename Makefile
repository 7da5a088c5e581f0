# One command from a fresh clone: `make test` builds .venv, installs the project and runs every test.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# This machine keeps these torch wheels on local disk; elsewhere override, e.g. TORCH_SPEC="torch torchvision".
TORCH_SPEC ?= torch==2.14.1 torchvision==0.29.1
EXTRAS ?= dev
STAMP := $(VENV)/.installed-$(EXTRAS)

.PHONY: install test test-fast clean

install: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install $(TORCH_SPEC)
	$(BIN)/python -m pip install -e ".[$(EXTRAS)]"
	touch $@

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# unit tests only (no integration / slow markers)
test-fast: install
	$(BIN)/python -m pytest -m "not integration and not slow" $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info
