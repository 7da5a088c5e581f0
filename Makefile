# One command from a fresh clone: `make test` builds .venv, installs the project and runs every test.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# This machine keeps these torch wheels on local disk; elsewhere override, e.g. TORCH_SPEC="torch torchvision".
TORCH_SPEC ?= torch==2.14.1 torchvision==0.29.1
EXTRAS ?= dev,train
comma := ,
STAMP := $(VENV)/.installed-$(subst $(comma),-,$(EXTRAS))

.PHONY: install test test-fast demo clean

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

# The main job: train the default config on the embedded digits on this CPU (val top-1 >= 95%).
demo: install
	$(BIN)/python tools/train.py configs/classification/digits_default.py --work-dir runs/demo
	@echo "run directory: runs/demo (metrics.jsonl, curves.png, best/model.safetensors, train.log)"

clean:
	rm -rf $(VENV) build *.egg-info
