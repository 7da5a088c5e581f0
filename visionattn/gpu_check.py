"""`make gpu-check`: the Triton kernels and every family on a real CUDA GPU, in one command.

Three steps, each a section of the report (``gpu_check.json`` and ``gpu_check.md`` in the output folder):

1. **kernels**: ``tests/test_kernels_triton.py`` on the GPU (``VISIONATTN_TEST_DEVICE=cuda``, not the
   interpreter): forward and every gradient against the reference backend, fp32 and fp16.
2. **agreement**: one variant per family (Agent: Swin, PVT, DeiT, CSwin), random weights, in fp32 / bf16 / fp16:
   the logits of the ``triton``, ``torch`` and ``reference`` backends against the fp32 reference, as max |error|
   over max |logit| (``TOLERANCE``).
3. **speed**: ``tools/benchmark.py --suite gpu`` (bf16 inference at batch 64 and a training step at batch 32 for
   ``triton``, ``torch``, ``compile``, timm's twin and, with ``--compare``, the official code).

The kernels have only been verified by the interpreter and by compiling for sm_80 / sm_90, so ``auto`` picks
``torch`` on CUDA (``visionattn.ops._backend.AUTO_PICKS_TRITON``). When every step passes, the report says so and
names the one line to flip. Without a GPU the command says so, runs a dry run of its own plumbing on CPU (the
kernel tests collected, one family's agreement on ``reference`` / ``torch`` in fp32 at a small size, the speed
suite for one model at batch 2), writes the report and exits 0.
"""
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import torch

from visionattn import bench, ops
from visionattn.checkpoint import atomic_write_text

ROOT = Path(__file__).resolve().parents[1]
FAMILY_VARIANTS = list(bench.SUITES["gpu"])
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
# max |logits - fp32 reference logits| / max |fp32 reference logits|
TOLERANCE = {"fp32": 1e-3, "bf16": 6e-2, "fp16": 2e-2}
DRY_RUN_MODEL = "va_shvit_s1"   # quick at 64 x 64, with timm's twin (the "timm" column's plumbing too)
FLIP = "AUTO_PICKS_TRITON = True  # in visionattn/ops/_backend.py"


def run_kernel_tests(dry_run):
    """pytest on tests/test_kernels_triton.py on the GPU; a dry run only collects them."""
    env = dict(os.environ)
    env.pop("TRITON_INTERPRET", None)
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_kernels_triton.py"]
    if dry_run:
        cmd.append("--collect-only")
    else:
        env["VISIONATTN_TEST_DEVICE"] = "cuda"
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    lines = [line for line in proc.stdout.splitlines() if line.strip() and not line.startswith(" ")]
    summary = next((line for line in reversed(lines) if " passed" in line or " failed" in line
                    or "collected" in line or " error" in line), lines[-1] if lines else "")
    return dict(step="kernels", passed=proc.returncode == 0, command=" ".join(cmd[1:]), summary=summary,
                seconds=time.perf_counter() - start, output=(proc.stdout + proc.stderr)[-4000:])


def agreement(names, device, dtypes, backends, size=None, batch=2):
    """Rows of (model, dtype, backend, relative error against the fp32 reference logits, passed)."""
    rows = []
    for name in names:
        torch.manual_seed(0)
        model = bench.create(name).to(device)
        s = size or model.pretrained_cfg["input_size"][-1]
        x = torch.randn(batch, 3, s, s, device=device)
        with torch.no_grad(), ops.use_backend("reference"):
            truth = model(x).float()
        scale = truth.abs().max().item() or 1.0
        for dname in dtypes:
            cast = model.to(DTYPES[dname])
            for backend in backends:
                with torch.no_grad(), ops.use_backend(backend):
                    out = cast(x.to(DTYPES[dname])).float()
                err = (out - truth).abs().max().item() / scale
                ok = bool(torch.isfinite(out).all()) and err <= TOLERANCE[dname]
                rows.append(dict(model=name, dtype=dname, backend=backend, rel_error=err,
                                 tolerance=TOLERANCE[dname], passed=ok))
        model.float()
    return rows


def check(out_dir, compare=None, dry_run=None, reps=10):
    """Run the three steps (or their dry run without a GPU); write the report; return it."""
    gpu = torch.cuda.is_available()
    dry_run = (not gpu) if dry_run is None else dry_run
    device = "cuda" if gpu and not dry_run else "cpu"
    started = time.perf_counter()
    kernels = run_kernel_tests(dry_run)
    if dry_run:
        agree = agreement([DRY_RUN_MODEL], device, ["fp32"], ["reference", "torch"], size=64, batch=1)
        speed = bench.bench_models_gpu([DRY_RUN_MODEL], device=device, infer_batch=2, train_batch=2, reps=1,
                                       backends=("torch",), twins=bench.SUITES["gpu"], size=64)
    else:
        agree = agreement(FAMILY_VARIANTS, device, list(DTYPES), ["reference", "torch", "triton"])
        speed = bench.bench_models_gpu(FAMILY_VARIANTS, device=device, reps=reps, twins=bench.SUITES["gpu"],
                                       plugin=compare)
    passed = kernels["passed"] and all(r["passed"] for r in agree)
    report = dict(machine=bench.machine(), dry_run=dry_run, device=device, passed=passed,
                  seconds=time.perf_counter() - started, kernels=kernels, agreement=agree, speed=speed)
    report["verdict"] = verdict(report)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "gpu_check.json", json.dumps(report, indent=1))
    atomic_write_text(out / "gpu_check.md", markdown(report))
    return report


def verdict(report):
    if report["dry_run"]:
        why = "no CUDA GPU on this machine" if not torch.cuda.is_available() else "--dry-run"
        state = "works" if report["passed"] else "FAILED"
        return (f"{why}: dry run of the plumbing on CPU {state} (kernel tests collected, one family's backend "
                "agreement, the speed suite for one model). On a CUDA machine `make gpu-check` runs the real check.")
    gpu = report["machine"].get("gpu", "the GPU")
    if report["passed"]:
        return (f"every GPU check passed on {gpu}: the kernels can become the default on CUDA. Flip one line: "
                f"{FLIP}")
    return f"GPU check FAILED on {gpu}: keep `auto` on torch (see the failing rows)."


def markdown(report):
    m = report["machine"]
    lines = [f"# GPU check ({'dry run, ' if report['dry_run'] else ''}{m.get('gpu', m['cpu'])}, torch {m['torch']}, "
             f"{m['date']}, {report['seconds']:.0f} s)", "", report["verdict"], "",
             f"## Kernel tests: {'passed' if report['kernels']['passed'] else 'FAILED'}", "",
             f"`{report['kernels']['command']}`: {report['kernels']['summary']}", "",
             "## Backend agreement (max |error| / max |logit| against the fp32 reference)", "",
             bench.markdown(report["agreement"], ["model", "dtype", "backend", "rel_error", "tolerance", "passed"]),
             "", "## Speed", "",
             bench.markdown(report["speed"], ["model", "backend", "mode", "size", "batch", "dtype", "img_per_s", "ms",
                                              "peak_mb"])]
    return "\n".join(lines) + "\n"
