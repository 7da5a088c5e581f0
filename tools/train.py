#!/usr/bin/env python
"""Train from a config: classification configs run on accelerate, mmdet / mmseg configs on mmengine's Runner.

    python tools/train.py configs/classification/digits_default.py
    accelerate launch --multi_gpu --num_processes 8 tools/train.py configs/classification/biformer_t.py
    python tools/train.py CONFIG --resume auto --cfg-options optim.lr=5e-4 data.batch_size=64
"""
import sys

from visionattn.train.cli import train_main

if __name__ == "__main__":
    sys.exit(train_main())
