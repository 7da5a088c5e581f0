#!/usr/bin/env python
"""Generate the digit-scenes dataset (COCO detection / instance masks and ADE-style semantic maps).

    python tools/make_digit_scenes.py --out data/digit_scenes [--train 200 --val 50 --size 128 --seed 0]
"""
import argparse
import json

from visionattn.data.digit_scenes import generate


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="data/digit_scenes")
    p.add_argument("--train", type=int, default=200)
    p.add_argument("--val", type=int, default=50)
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    summary = generate(a.out, num_train=a.train, num_val=a.val, size=a.size, seed=a.seed)
    with open(f"{a.out}/COMPLETE", "w") as f:
        json.dump(summary, f)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
