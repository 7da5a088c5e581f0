import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from visionattn import bench, ops

ROOT = Path(__file__).resolve().parents[1]


def test_flops_of_window_attention_are_the_two_gemms():
    b, size, heads, d, win = 2, 14, 3, 8, 7
    q = torch.randn(b, size, size, heads, d)
    flops = bench.count_flops(lambda q: ops.window_attention(q, q, q, win, backend="torch"), q)
    tokens = b * size * size * heads
    assert flops == 2 * (2 * tokens * win * win * d)   # QK^T and PV, multiply-add = 2 FLOPs


def test_flops_count_cpu_flash_attention():
    q = torch.randn(1, 2, 16, 8)
    flops = bench.count_flops(lambda q: torch.nn.functional.scaled_dot_product_attention(q, q, q), q)
    assert flops == 2 * 2 * (2 * 16 * 16 * 8)


def test_ops_benchmark_cli_writes_json_and_markdown(tmp_path):
    out_json, out_md = tmp_path / "ops.json", tmp_path / "ops.md"
    subprocess.run([sys.executable, str(ROOT / "tools/benchmark.py"), "--ops", "--batch", "1", "--reps", "1",
                    "--select", "swin_t.stage3", "biformer_t.stage3", "--json", str(out_json),
                    "--markdown", str(out_md)], check=True, capture_output=True, text=True)
    payload = json.loads(out_json.read_text())
    rows = payload["rows"]
    assert {(r["case"].split()[0], r["backend"]) for r in rows} == {
        ("swin_t.stage3", "reference"), ("swin_t.stage3", "torch"),
        ("biformer_t.stage3", "reference"), ("biformer_t.stage3", "torch")}
    assert all(r["ms"] > 0 and r["gflops"] > 0 and r["peak_mb"] >= 0 for r in rows)
    assert payload["machine"]["threads"] >= 1
    assert "| case | backend |" in out_md.read_text()


def test_benchmark_rejects_unknown_models():
    proc = subprocess.run([sys.executable, str(ROOT / "tools/benchmark.py"), "--models", "no_such_model_xyz",
                           "--no-memory"], capture_output=True, text=True)
    assert proc.returncode != 0
    assert "unknown model 'no_such_model_xyz'" in proc.stderr


def test_flops_count_deformable_convolution():
    import torchvision
    x, w, off = torch.randn(1, 4, 8, 8), torch.randn(6, 4, 3, 3), torch.zeros(1, 18, 8, 8)
    flops = bench.count_flops(lambda x: torchvision.ops.deform_conv2d(x, off, w, padding=1), x)
    assert flops == 2 * 6 * 8 * 8 * 4 * 3 * 3


def test_cpu_suite_covers_every_family_and_times_timm_twins():
    families = {"swin", "agent", "litv2", "shvit", "convit", "biformer", "transnext", "halonet"}
    suite = bench.SUITES["cpu"]
    assert {f for name in suite for f in families if name.removeprefix("va_").startswith(f)} == families
    rows = bench.bench_models(["va_shvit_s1"], size=64, batch=2, reps=1, backends=("reference", "torch"),
                              memory=False, twins=suite)
    assert [(r["model"], r["backend"]) for r in rows] == [
        ("va_shvit_s1", "reference"), ("va_shvit_s1", "torch"), ("shvit_s1", "timm")]
    assert all(r["img_per_s"] > 0 and r["latency_ms"] > 0 and r["gemm_ratio"] > 0 for r in rows)


def test_another_implementation_is_timed_and_probed_beside_ours(tmp_path):
    """--compare FILE: the file's build(name) is benchmarked as backend "official" in the same round robin,
    forward_features through the file's own hook, memory probed in a fresh process that loads the file."""
    plugin = tmp_path / "other.py"
    plugin.write_text(
        "import timm\n"
        "CALLS = []\n"
        "def build(name):\n"
        "    if name != 'va_shvit_s1':\n"
        "        raise KeyError(name)\n"
        "    return timm.create_model('shvit_s1')\n"
        "def forward_features(model, x):\n"
        "    return model.forward_features(x)\n")
    rows = bench.bench_models(["va_shvit_s1", "va_convit_tiny"], size=64, batch=2, reps=1, backends=("torch",),
                              memory=True, plugin=str(plugin), features=True)
    assert [(r["model"], r["backend"]) for r in rows] == [
        ("va_shvit_s1", "torch"), ("va_shvit_s1", "official"), ("va_convit_tiny", "torch")]
    assert all(r["img_per_s"] > 0 and r["peak_mb"] >= 0 for r in rows)
    proc = subprocess.run([sys.executable, str(ROOT / "tools/benchmark.py"), "--models", "va_shvit_s1",
                           "--compare", str(tmp_path / "missing.py"), "--no-memory"], capture_output=True, text=True)
    assert proc.returncode != 0 and "no such Python file" in proc.stderr


def test_model_card_section_is_written_and_replaced(tmp_path):
    """tools/model_card_bench.py puts each family's rows in its card before the citation, and a later run
    replaces that section instead of adding another."""
    cards = tmp_path / "cards"
    cards.mkdir()
    (cards / "shvit.md").write_text("# SHViT\n\ntext\n\n## Citation\n\ncite\n")
    row = {"model": "va_shvit_s1", "backend": "torch", "img_per_s": 123.4, "gemm_ratio": 0.5}
    payload = {"machine": bench.machine(), "columns": ["model", "backend", "img_per_s", "gemm_ratio"],
               "command": "python tools/benchmark.py --suite cpu", "rows": [row, dict(row, model="shvit_s1", img_per_s=50.0,
                                                                                      backend="timm")]}
    for img_s in (123.4, 99.0):
        payload["rows"][0]["img_per_s"] = img_s
        (tmp_path / "b.json").write_text(json.dumps(payload))
        subprocess.run([sys.executable, str(ROOT / "tools/model_card_bench.py"), str(tmp_path / "b.json"),
                        "--cards", str(cards)], check=True, capture_output=True, text=True)
    text = (cards / "shvit.md").read_text()
    assert text.count("## CPU speed") == 1 and text.index("## CPU speed") < text.index("## Citation")
    assert "| va_shvit_s1 | torch | 99 |" in text and "| shvit_s1 | timm |" in text and "123" not in text
    assert "python tools/benchmark.py --suite cpu" in text


def test_profile_breakdown_attributes_time_to_kinds_of_work():
    """--profile: shares of self CPU time sum to 1; a GEMM-only function is mostly GEMM, a copy-only one
    mostly layout copies (the rest: output allocation, which varies with the process's memory state)."""
    a, b = torch.randn(256, 256), torch.randn(256, 256)
    shares, top = bench.profile_breakdown(lambda: torch.mm(a, b))
    assert abs(sum(shares.values()) - 1) < 1e-6 and max(shares, key=shares.get) == "gemm"
    assert shares["gemm"] > 0.8 and top[0].startswith("mm ")
    x = torch.randn(64, 64, 64)
    shares, _ = bench.profile_breakdown(lambda: torch.roll(x, 3, dims=1).contiguous())
    assert max(shares, key=shares.get) == "layout copies" and shares["layout copies"] > 0.6
    assert bench.profile_kind("aten::scaled_dot_product_attention") == "attention"
    assert bench.profile_kind("aten::_scaled_dot_product_flash_attention_for_cpu") == "attention"
    assert bench.profile_kind("torchvision::deform_conv2d") == "convolution"
    assert bench.profile_kind("aten::no_such_op") == "other"
    rows = bench.bench_models(["va_convit_tiny"], size=64, batch=2, reps=1, backends=("torch",), memory=False,
                              profile=True)
    assert abs(sum(v for k, v in rows[0].items() if k.startswith("share_")) - 1) < 1e-6
    assert rows[0]["share_gemm"] > 0.1 and rows[0]["top_ops"]
    table = bench.profile_table(rows)
    assert "| model | backend | gemm | attention |" in table and "| va_convit_tiny | torch |" in table
    assert bench.profile_table([{"model": "m", "backend": "torch"}]) == ""


def test_compile_backend_is_timed_and_computes_the_eager_outputs():
    """backend "compile" (inductor with frozen weights): a row beside the eager ones (batch 1, so one
    compilation serves throughput and latency), and compiled outputs equal to eager ones."""
    rows = bench.bench_models(["va_shvit_s1"], size=64, batch=1, reps=1, backends=("torch", "compile"),
                              memory=False, profile=True)
    assert [r["backend"] for r in rows] == ["torch", "compile"]
    assert rows[1]["img_per_s"] > 0 and rows[1]["gflops"] == rows[0]["gflops"] and "top_ops" not in rows[1]
    block = torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.GELU(), torch.nn.LayerNorm(32)).eval()
    x = torch.randn(4, 16)
    with torch.no_grad():
        torch.testing.assert_close(bench.compile_for_inference(block)(x), block(x))


def test_exported_backends_run_the_checked_export(monkeypatch):
    """backends "onnxruntime" and "openvino": the model exported once with dynamic sizes, run by each engine in the
    same round robin, each output at the benchmark's batch checked against eager; an engine that disagrees or
    cannot read the graph is a row with a note, not a crash of the whole suite (was: OpenVINO on LITv2's
    DeformConv ended a 20-minute suite run)."""
    rows = bench.bench_models(["va_shvit_s1"], size=96, batch=2, reps=1, backends=("torch", "onnxruntime",
                              "openvino"), memory=True, profile=True)
    assert [r["backend"] for r in rows] == ["torch", "onnxruntime", "openvino"]
    for row in rows[1:]:
        assert row["img_per_s"] > 0 and row["gflops"] == rows[0]["gflops"]
        assert "top_ops" not in row and "peak_mb" not in row
    real = bench._ENGINES["openvino"]

    def shifted(path):   # an engine whose outputs are off by one
        run = real(path)
        return lambda x: run(x) + 1.0
    monkeypatch.setitem(bench._ENGINES, "openvino", shifted)
    runners, unavailable = bench.exported_runners(bench.create("va_shvit_s1"), 96, 2, bench.EXPORTED)
    assert list(runners) == ["onnxruntime"] and unavailable["openvino"].startswith("output differs from eager by 1")

    def unreadable(path):   # OpenVINO on LITv2's graph: "No conversion rule found for operations: DeformConv-20"
        raise RuntimeError("Model wasn't fully converted.\n-- No conversion rule found for operations: DeformConv-20")
    monkeypatch.setitem(bench._ENGINES, "openvino", unreadable)
    rows = bench.bench_models(["va_shvit_s1"], size=96, batch=2, reps=1, backends=("torch", "openvino"),
                              memory=False)
    assert [r["backend"] for r in rows] == ["torch", "openvino"] and "img_per_s" not in rows[1]
    assert rows[1]["note"].startswith("cannot run the export:") and "DeformConv-20" in rows[1]["note"]


def test_models_benchmark_cli_with_profile(tmp_path):
    out_json, out_md = tmp_path / "m.json", tmp_path / "m.md"
    subprocess.run([sys.executable, str(ROOT / "tools/benchmark.py"), "--models", "va_shvit_s1", "--size", "64",
                    "--batch", "1", "--reps", "1", "--no-memory", "--profile", "--json", str(out_json),
                    "--markdown", str(out_md)], check=True, capture_output=True, text=True)
    payload = json.loads(out_json.read_text())
    assert payload["command"].startswith("python tools/benchmark.py --models va_shvit_s1")
    assert [r["backend"] for r in payload["rows"]] == ["reference", "torch"]
    text = out_md.read_text()
    assert "| model | backend | size |" in text and "| model | backend | gemm |" in text


def test_gpu_suite_covers_every_architecture_and_says_what_it_needs():
    suite = bench.SUITES["gpu"]
    assert {"agent_swin_t", "agent_pvt_t", "agent_deit_t", "agent_cswin_t"} <= set(suite)
    assert set(bench.SUITES["cpu"]) <= set(suite)
    if not torch.cuda.is_available():
        proc = subprocess.run([sys.executable, str(ROOT / "tools/benchmark.py"), "--suite", "gpu"],
                              capture_output=True, text=True)
        assert proc.returncode == 2 and "--suite gpu needs a CUDA GPU (or --device cpu" in proc.stderr
