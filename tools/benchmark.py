#!/usr/bin/env python
"""Benchmark models and attention ops, every backend side by side in one run.

    python tools/benchmark.py --ops                         # ops at realistic backbone shapes
    python tools/benchmark.py --ops --backward --select swin
    python tools/benchmark.py --models biformer_t va_swin_tiny_patch4_window7_224 --size 224 --batch 8
    python tools/benchmark.py --suite cpu --batch 8 --reps 5  # one per family, and timm's twin where it has one
    python tools/benchmark.py --suite cpu --compare other.py    # + another implementation, as backend "official"
    python tools/benchmark.py --models biformer_t --size 1344 --batch 1 --reps 1 --features  # memory at 1344
    python tools/benchmark.py --suite cpu --profile            # + where each model's time goes, by kind of op
    python tools/benchmark.py --suite cpu --backends torch compile onnxruntime openvino --compare official.py
    python tools/benchmark.py --suite gpu                      # CUDA: bf16 inference (batch 64) + training step (32)
    ... --json out.json --markdown out.md                   # machine-readable and table outputs

Figures: median over round-robin repetitions (configurations alternate, so they share the machine's
state); FLOPs from torch.utils.flop_counter; peak memory as the rise of peak RSS in a fresh process.
"""
import argparse
import sys

import torch

from visionattn import bench
from visionattn.checkpoint import atomic_write_text

OP_COLUMNS = ["case", "backend", "pass", "batch", "ms", "gflops", "gflop_per_s", "peak_mb"]
MODEL_COLUMNS = ["model", "backend", "size", "batch", "params_m", "gflops", "img_per_s", "latency_ms", "peak_mb",
                 "gemm_ratio", "note"]
GPU_COLUMNS = ["model", "backend", "mode", "size", "batch", "dtype", "img_per_s", "ms", "peak_mb"]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--ops", action="store_true", help="benchmark the attention ops")
    what.add_argument("--models", nargs="+", metavar="NAME", help="registered timm / visionattn model names")
    what.add_argument("--suite", choices=sorted(bench.SUITES),
                      help="cpu: one variant per family, beside timm's implementation where timm has it; gpu: one "
                      "per family (Agent: Swin, PVT, DeiT, CSwin), bf16 inference and a training step on CUDA")
    p.add_argument("--backends", nargs="+", default=None,
                   choices=["reference", "torch", "triton", "compile", "onnxruntime", "openvino", "fused"],
                   help="backends to compare (default: reference torch; --suite gpu: triton torch compile); "
                   "compile: the torch backend under torch.compile (inductor); onnxruntime: the model exported "
                   "with dynamic sizes (tools/export.py's path, checked against eager) in ONNX Runtime on the CPU; "
                   "openvino: the same export in OpenVINO's CPU plugin (fp32; needs the openvino package); "
                   "fused: eager torch with BatchNorm folded into the convolutions (visionattn.deploy.fuse); "
                   "these four --models / --suite only")
    p.add_argument("--batch", type=int, default=None, help="batch (default 8; --suite gpu: 64 for inference)")
    p.add_argument("--train-batch", type=int, default=32, help="--suite gpu: batch of the training step")
    p.add_argument("--device", default=None, help="--suite gpu: cuda (default), or cpu for a dry run of the "
                   "plumbing on a machine without a GPU")
    p.add_argument("--size", type=int, default=None, help="input size for --models / --suite (default: each "
                   "model's pretrained input size)")
    p.add_argument("--reps", type=int, default=None, help="timed repetitions per configuration")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    p.add_argument("--backward", action="store_true", help="--ops: time forward + backward")
    p.add_argument("--select", nargs="+", help="--ops: only cases whose name contains one of these")
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory probes")
    p.add_argument("--features", action="store_true", help="--models / --suite: time forward_features (no head)")
    p.add_argument("--compare", metavar="FILE.py", help="--models / --suite: a Python file defining build(name) "
                   "-> nn.Module (and optionally forward_features(model, x)) for another implementation of the "
                   "same variants, e.g. a local checkout of the official code; timed as backend 'official'")
    p.add_argument("--profile", action="store_true", help="--models / --suite: also profile one batch per row "
                   "(torch.profiler self CPU time by kind of op: GEMM, convolution, attention, layout copies, ...)")
    p.add_argument("--json", help="write rows and machine info here")
    p.add_argument("--markdown", help="write the table here")
    args = p.parse_args(argv)
    gpu = args.suite == "gpu"
    args.batch = args.batch or (64 if gpu else 8)
    args.backends = args.backends or (["triton", "torch", "compile"] if gpu else ["reference", "torch"])
    if gpu:
        args.device = args.device or ("cuda" if torch.cuda.is_available() else None)
        if args.device is None:
            p.error("--suite gpu needs a CUDA GPU (or --device cpu for a dry run of the plumbing)")
        if not args.device.startswith("cuda"):   # a dry run: the kernels need CUDA to be timed
            args.backends = [b for b in args.backends if b != "triton"]
    if args.batch < 1 or args.train_batch < 1:
        p.error("--batch and --train-batch must be >= 1")
    if args.threads:
        torch.set_num_threads(args.threads)
    if "triton" in args.backends and not torch.cuda.is_available():
        p.error("backend 'triton' needs a CUDA GPU for timing (TRITON_INTERPRET is for correctness, not speed)")

    for whole_model in ("compile", "fused") + bench.EXPORTED:
        if args.ops and whole_model in args.backends:
            p.error(f"backend '{whole_model}' is for --models / --suite (the ops run eagerly)")
    try:
        return run(args, argv)
    except (ValueError, FileNotFoundError) as e:   # unknown model, missing --compare file, ...
        p.error(str(e))


def run(args, argv):
    if args.ops:
        rows = bench.bench_ops(batch=args.batch, reps=args.reps or 10, backends=args.backends,
                               backward=args.backward, memory=not args.no_memory, select=args.select)
        columns = OP_COLUMNS
    elif args.suite == "gpu":
        twins = bench.SUITES["gpu"]
        rows = bench.bench_models_gpu(args.models or list(twins), device=args.device, infer_batch=args.batch,
                                      train_batch=args.train_batch, reps=args.reps or 10, backends=args.backends,
                                      twins=twins, plugin=args.compare, size=args.size)
        columns = GPU_COLUMNS
    else:
        twins = bench.SUITES[args.suite] if args.suite else {}
        rows = bench.bench_models(args.models or list(twins), size=args.size, batch=args.batch,
                                  reps=args.reps or 5, backends=args.backends, memory=not args.no_memory,
                                  twins=twins, plugin=args.compare, features=args.features, profile=args.profile)
        columns = MODEL_COLUMNS
    info = bench.machine()
    table = bench.markdown(rows, [c for c in columns if any(c in r for r in rows)])
    if args.profile and not args.ops:
        table += "\n\n" + bench.profile_table(rows)
    command = "python tools/benchmark.py " + " ".join(argv if argv is not None else sys.argv[1:])
    header = f"{info['cpu']}, {info['threads']} threads, torch {info['torch']}, {info['date']}; command: {command}"
    print(header)
    print(table)
    if args.json:
        bench.write_json_atomic(args.json, {"machine": info, "rows": rows, "columns": columns, "command": command})
    if args.markdown:
        atomic_write_text(args.markdown, header + "\n\n" + table + "\n")
    return rows


if __name__ == "__main__":
    main()
