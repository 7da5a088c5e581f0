#!/usr/bin/env python
"""Evaluate a checkpoint on a config's val set (top-1 / top-5), or pretrained weights with CKPT=pretrained.

    python tools/test.py configs/classification/digits_default.py runs/digits_default/best/model.safetensors
    python tools/test.py configs/classification/biformer_t.py pretrained --cfg-options data.root=/data/imagenet
"""
import sys

from visionattn.train.cli import test_main

if __name__ == "__main__":
    sys.exit(test_main())
