#!/usr/bin/env python
"""Generate the digit-scenes dataset (COCO detection / instance masks and ADE-style semantic maps).

    python tools/make_digit_scenes.py --out data/digit_scenes [--train 200 --val 50 --size 128 --seed 0] [--force]

A complete dataset (its COMPLETE marker written last) is kept unless --force or other settings are given; then
only the dataset's own files are replaced (other files in --out stay).
"""
import argparse
import json
import os

from visionattn.data.digit_scenes import ensure, remove


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="data/digit_scenes")
    p.add_argument("--train", type=int, default=200)
    p.add_argument("--val", type=int, default=50)
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--force", action="store_true", help="regenerate even if a complete dataset is there")
    a = p.parse_args(argv)
    settings = dict(num_train=a.train, num_val=a.val, size=a.size, seed=a.seed)
    marker = os.path.join(a.out, "COMPLETE")
    if os.path.isfile(marker):
        with open(marker) as f:
            stale = a.force or json.load(f).get("settings") != settings
        if stale:
            remove(a.out)
    try:
        summary = json.load(open(ensure(a.out, **settings) + "/COMPLETE"))
    except FileExistsError as e:
        p.error(str(e))
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
