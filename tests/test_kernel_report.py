"""Every Triton kernel compiles for sm_80 and sm_90 in the configurations the ops launch, without
register spills and within the targets' shared memory (tools/kernel_report.py)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("triton", reason="triton comes with CUDA builds of torch; a CPU-only install has none")

ROOT = Path(__file__).resolve().parents[1]


def test_kernel_report_has_no_spills_and_fits_shared_memory(tmp_path):
    out = tmp_path / "kernels.json"
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    proc = subprocess.run([sys.executable, str(ROOT / "tools/kernel_report.py"), "--arch", "80", "90", "--json",
                           str(out)], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = json.loads(out.read_text())
    kernels = {r["kernel"] for r in rows}
    assert kernels == {"window_fwd", "window_bwd", "na_fwd", "na_bwd", "na_scores_fwd", "na_scores_bwd",
                       "na_aggregate_fwd", "na_aggregate_bwd", "routed_fwd", "routed_bwd"}
    assert {r["arch"] for r in rows} == {"sm_80", "sm_90"} and {r["dtype"] for r in rows} == {"fp16", "bf16"}
    for r in rows:
        assert set(r) >= {"kernel", "config", "dtype", "arch", "registers", "spill_bytes", "shared_bytes"}
        assert 0 < r["registers"] <= 255
        assert r["spill_bytes"] == 0, r
        assert r["shared_bytes"] <= {"sm_80": 163 * 1024, "sm_90": 227 * 1024}[r["arch"]], r


def test_report_flags_spills():
    sys.path.insert(0, str(ROOT / "tools"))
    import kernel_report
    row = dict(kernel="k", config="c", dtype="fp16", arch="sm_80", registers=255, spill_bytes=8, shared_bytes=0)
    assert kernel_report.problems([row]) and not kernel_report.problems([dict(row, spill_bytes=0)])
    assert kernel_report.problems([dict(row, spill_bytes=0, shared_bytes=170 * 1024)])
