# One command from a fresh clone: `make test` builds .venv, installs the project and runs every test.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# This machine keeps these torch wheels on local disk; elsewhere override, e.g. TORCH_SPEC="torch torchvision".
TORCH_SPEC ?= torch==2.14.1 torchvision==0.29.1
EXTRAS ?= dev,train,dense
comma := ,
STAMP := $(VENV)/.installed-$(subst $(comma),-,$(EXTRAS))
# mmcv 2.1.0 has no wheel for current torch: tools/build_mmcv.py builds it once (about 9 minutes on 2 cores)
# and caches it in $(VISIONATTN_WHEEL_CACHE) (default ~/.cache/visionattn/wheels), then installs the wheel.
NEEDS_MMCV := $(findstring dense,$(EXTRAS))

.PHONY: install test test-fast gpu-check demo demo-dense clean

install: $(STAMP)

$(STAMP): pyproject.toml Makefile tools/build_mmcv.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install $(TORCH_SPEC)
	if [ -n "$(NEEDS_MMCV)" ]; then \
	    $(BIN)/python -m pip install "setuptools>=77,<82" wheel && $(BIN)/python tools/build_mmcv.py; fi
	$(BIN)/python -m pip install -e ".[$(EXTRAS)]"
	touch $@

# one pytest worker per core (tests/conftest.py gives each worker its share of the threads)
XDIST ?= -n auto --dist worksteal

test: install
	$(BIN)/python -m pytest $(XDIST) $(PYTEST_ARGS)

# unit tests only (no integration / slow markers)
test-fast: install
	$(BIN)/python -m pytest $(XDIST) -m "not integration and not slow" $(PYTEST_ARGS)

# On a CUDA machine: the Triton kernel tests on the GPU, every family's backend agreement (fp32 / bf16 / fp16) and
# the GPU speed suite, report in gpu-check/; without a GPU it says so and dry-runs its plumbing (exit 0).
# COMPARE=official_models.py adds the official code to the speed suite (tools/benchmark.py --compare).
gpu-check: install
	$(BIN)/python tools/gpu_check.py --out gpu-check $(if $(COMPARE),--compare $(COMPARE))

# The main job: train the default config on the embedded digits on this CPU (val top-1 >= 95%).
demo:
	$(MAKE) install EXTRAS=train
	$(BIN)/python tools/train.py configs/classification/digits_default.py --work-dir runs/demo
	@echo "run directory: runs/demo (metrics.jsonl, curves.png, best/model.safetensors, train.log)"

# The dense job: Mask R-CNN and UperNet (small Swin backbones) on the embedded digit scenes, on this CPU.
demo-dense:
	$(MAKE) install EXTRAS=train,dense
	$(BIN)/python tools/make_digit_scenes.py --out data/digit_scenes
	$(BIN)/python tools/train.py configs/detection/digit_scenes/mask-rcnn_va-swin-mini_digit-scenes.py --work-dir runs/demo-det
	$(BIN)/python tools/train.py configs/segmentation/digit_scenes/upernet_va-swin-mini_digit-scenes.py --work-dir runs/demo-seg
	@echo "run directories: runs/demo-det (COCO bbox / segm mAP), runs/demo-seg (mIoU)"

clean:
	rm -rf $(VENV) build *.egg-info
