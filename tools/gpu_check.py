#!/usr/bin/env python
"""`make gpu-check`: the Triton kernel tests on the GPU, whole-model backend agreement (triton / torch / reference)
for every family in fp32 / bf16 / fp16, and the GPU speed suite; report in OUT/gpu_check.{json,md}.

    python tools/gpu_check.py --out gpu-check                  # what `make gpu-check` runs
    python tools/gpu_check.py --out gpu-check --compare official_models.py   # + the official code's speed
    python tools/gpu_check.py --out /tmp/dry --dry-run         # the plumbing only, on CPU

Without a CUDA GPU it says so, runs the dry run and exits 0. With one it exits 1 when a check fails; when all
pass it names the one line that makes `auto` pick the kernels (visionattn/ops/_backend.py: AUTO_PICKS_TRITON).
"""
import argparse
import sys


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("--out", default="gpu-check", help="folder for gpu_check.json and gpu_check.md")
    p.add_argument("--compare", metavar="FILE.py", help="the official code as a benchmark plugin (see "
                   "tools/benchmark.py --compare), timed as backend 'official'")
    p.add_argument("--dry-run", action="store_true", help="only the plumbing, on CPU (the default without a GPU)")
    p.add_argument("--reps", type=int, default=10, help="timed repetitions per configuration")
    args = p.parse_args(argv)
    from visionattn.gpu_check import check
    report = check(args.out, compare=args.compare, dry_run=True if args.dry_run else None, reps=args.reps)
    print(f"kernels: {report['kernels']['summary']}")
    for row in report["agreement"]:
        if not row["passed"]:
            print(f"agreement FAILED: {row['model']} {row['dtype']} {row['backend']}: relative error "
                  f"{row['rel_error']:.3g} > {row['tolerance']}")
    print(f"report: {args.out}/gpu_check.md ({report['seconds']:.0f} s)")
    print(report["verdict"])
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
