"""make gpu-check: without a GPU it says so and dry-runs its own plumbing (exit 0); its verdict names the one line
that makes `auto` pick the kernels only when every check passed; a disagreeing backend fails it."""
import json
import subprocess
import sys
from pathlib import Path

import torch

from visionattn import gpu_check

ROOT = Path(__file__).resolve().parents[1]


def test_make_target_runs_the_tool():
    proc = subprocess.run(["make", "-n", "gpu-check", "COMPARE=off.py"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "tools/gpu_check.py --out gpu-check --compare off.py" in proc.stdout


def test_dry_run_without_a_gpu_writes_the_report_and_exits_0(tmp_path):
    proc = subprocess.run([sys.executable, "tools/gpu_check.py", "--out", str(tmp_path / "out"), "--dry-run"],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    if not torch.cuda.is_available():
        assert "no CUDA GPU on this machine: dry run of the plumbing on CPU works" in proc.stdout
    report = json.loads((tmp_path / "out" / "gpu_check.json").read_text())
    assert report["dry_run"] and report["passed"] and report["device"] == "cpu"
    assert "collected" in report["kernels"]["summary"]
    assert {(r["backend"], r["passed"]) for r in report["agreement"]} == {("reference", True), ("torch", True)}
    assert {(r["backend"], r["mode"]) for r in report["speed"]} == {
        ("torch", "inference"), ("torch", "train"), ("timm", "inference"), ("timm", "train")}
    assert all(r["img_per_s"] > 0 for r in report["speed"])
    assert "## Backend agreement" in (tmp_path / "out" / "gpu_check.md").read_text()
    assert gpu_check.FLIP not in proc.stdout   # a dry run never says the kernels can become the default


def test_a_backend_that_disagrees_fails_the_check(monkeypatch):
    monkeypatch.setitem(gpu_check.TOLERANCE, "bf16", 1e-7)   # bf16 logits are never that close to fp32 ones
    rows = gpu_check.agreement(["va_shvit_s1"], "cpu", ["bf16"], ["torch"], size=64, batch=1)
    assert len(rows) == 1 and not rows[0]["passed"] and rows[0]["rel_error"] > 1e-7


def test_verdict_names_the_flip_only_after_a_real_passing_check():
    machine = dict(gpu="NVIDIA H100", cpu="x", torch="2.14", date="2026-12-01")
    passing = dict(dry_run=False, passed=True, machine=machine)
    assert gpu_check.FLIP in gpu_check.verdict(passing)
    assert gpu_check.FLIP not in gpu_check.verdict(dict(passing, passed=False))
    assert "FAILED" in gpu_check.verdict(dict(passing, passed=False))
