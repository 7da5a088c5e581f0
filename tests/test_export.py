"""Deployment paths of every family (issue 8): dynamo captures the whole model in one graph (no graph break
anywhere, so none in the attention core); torch.compile, bf16 autocast on CPU and ONNX (run by ONNX Runtime)
each match the eager fp32 output. One variant per family (Agent: each of its four sub-families) at 64 x 64,
random weights; the ONNX export with dynamic sizes (tools/export.py) at three sizes."""
import functools
import json

import pytest
import timm
import torch

import visionattn.models  # noqa: F401  (registers the zoo)
from _model_checks import check_compile

SIZE = 64
# One block a stage where the family takes a depth (CI time: tracing and export cost grows with the blocks);
# every attention kind of the variant still runs: Swin's stage 1 keeps 2 blocks for the shifted windows (from
# stage 3 on the 64 x 64 image's maps fit in one window, so nothing shifts), Agent-Swin's last stage is its
# window stage ("AAAB"), Agent-CSwin keeps its agent and stripe blocks (stage 3's 4 x 4 map padded to stripes of
# 7), ConViT keeps GPSA and MHSA blocks (it needs >= 4 blocks).
VARIANTS = {  # heaviest to trace / export first: pytest-xdist hands out tests in this order, so the cheap ones
    # fill the end and the workers finish together (the file's wall time under `-n 2`)
    "transnext_micro": dict(depths=(1, 1, 1, 1)),
    "agent_swin_t": dict(depths=(1, 1, 1, 1)),
    "biformer_t": dict(depth=(1, 1, 1, 1)),
    "agent_pvt_t": dict(depths=(1, 1, 1, 1)),
    "agent_cswin_t": dict(depths=(1, 1, 1, 1)),
    "va_halonet26t": dict(),
    "va_swin_tiny_patch4_window7_224": dict(depths=(2, 1, 1, 1)),
    "litv2_s": dict(depths=(1, 1, 1, 1)),
    "va_shvit_s1": dict(depth=(1, 1, 1)),
    "agent_deit_t": dict(depth=2),
    "va_convit_tiny": dict(depth=4, local_up_to_layer=2),
}
names = pytest.mark.parametrize("name", list(VARIANTS))


@functools.lru_cache(maxsize=None)
def _model_and_input(name):
    """Built once per worker (building the larger models costs more than a forward); nothing below changes
    the model or the tensors."""
    torch.manual_seed(0)
    model = timm.create_model(name, **VARIANTS[name]).eval()
    # zero-initialised parameters (e.g. SHViT's residual-branch BatchNorm scales) would make the logits ~0
    # and every comparison below vacuous: move every parameter off its init
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.02)
    x = torch.randn(1, 3, SIZE, SIZE)
    with torch.no_grad():
        ref = model(x)
    assert ref.abs().max() > 0.1, f"degenerate reference output (max |y| = {ref.abs().max().item():.2e})"
    return model, x, ref


# the example each export is traced at: small for CI time, HaloNet's with two halo blocks per side in its last
# stage (at one block the program is traced for one block and accepts only sizes that give one)
EXPORT_SIZE = {"va_halonet26t": 288}


@names
def test_dynamic_onnx_export_runs_at_three_sizes(name, tmp_path):
    """tools/export.py's path: one ONNX graph with dynamic batch / height / width, checked by export() itself in
    ONNX Runtime at three sizes (batch 1 at the example; two odd, non-square sizes) against eager; every operator
    in the ONNX standard domain; the report states the accepted sizes and lists the operators."""
    from visionattn.export import ONNX_STANDARD_DOMAINS, export

    model, _, _ = _model_and_input(name)
    out = tmp_path / f"{name}.onnx"
    # optimize=False: onnxscript's graph optimizer takes most of the export time, not needed to run it
    report = export(model, out, example_size=EXPORT_SIZE.get(name, 128), optimize=False, name=name)
    assert out.is_file() and json.loads((tmp_path / f"{name}.onnx.json").read_text()) == report
    assert report["opset"] >= 18 and report["ops"] and report["nonstandard_ops"] == []
    assert all(op.split("::")[0] in ONNX_STANDARD_DOMAINS for op in report["ops"])
    checks = report["checks"]
    assert len(checks) == 3 and checks[0]["input"][0] == 1
    odd = [c["input"] for c in checks if c["input"][2] % 2 and c["input"][2] != c["input"][3]]
    assert len(odd) >= 1, checks
    dims = report["dims"]
    for c in checks:   # every checked size inside the stated ranges
        for axis, size in (("batch", c["input"][0]), ("height", c["input"][2]), ("width", c["input"][3])):
            lo, hi = (dims[axis], dims[axis]) if isinstance(dims[axis], int) else (
                dims[axis] if isinstance(dims[axis], list) else (dims[axis]["min"], dims[axis]["max"]))
            assert lo <= size <= hi, (axis, size, dims)
    for c in checks:
        print(f"{name}: {c['input']} max |onnxruntime - eager| = {c['max_abs_error']:.2e} "
              f"(max |y| {c['max_abs_output']:.3f})")
    print(f"{name}: accepts {dims}")
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{name}.onnx", f"{name}.onnx.json"]   # nothing staged


@names
def test_compile_one_graph_matches_eager(name):
    """Dynamo captures the whole model as one graph (fullgraph=True: any graph break raises, so none is in the
    attention core) and the compiled model (aot_eager) matches eager. On a break torch._dynamo.explain lists
    every break with its reason; run on success too, it would trace each model once more (a quarter of this
    file's CI time) to find the same single graph."""
    model, x, _ = _model_and_input(name)
    torch._dynamo.reset()
    try:
        err = check_compile(name, model=model, x=x, backend="aot_eager", fullgraph=True)
    except torch._dynamo.exc.TorchDynamoException as first:
        torch._dynamo.reset()
        with torch.no_grad():
            explanation = torch._dynamo.explain(model)(x)
        reasons = "\n".join(f"{r.reason}\n  at {r.user_stack[-1] if r.user_stack else '?'}"
                            for r in explanation.break_reasons)
        pytest.fail(f"{explanation.graph_break_count} graph breaks, {explanation.graph_count} graphs:\n{reasons}\n"
                    f"fullgraph=True stopped at: {first}")
    print(f"{name}: max |compiled - eager| = {err:.2e}")


@names
def test_bf16_autocast_close_to_fp32(name):
    """bf16 keeps 8 significant bits (rounding error up to 2**-9 relative) in every op, accumulated over
    the blocks; logits within 5 % of their range and a cosine similarity >= 0.999 to fp32 say the autocast
    path computes the same function (a wrong op in bf16, e.g. a mask or softmax losing its range, is far off)."""
    model, x, ref = _model_and_input(name)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(x)
    # the classifier is a Linear, which CPU autocast runs in bf16
    assert out.dtype == torch.bfloat16 and out.shape == ref.shape
    out = out.float()
    assert torch.isfinite(out).all()
    err = (out - ref).abs().max().item()
    cos = torch.nn.functional.cosine_similarity(out.flatten(), ref.flatten(), dim=0).item()
    print(f"{name}: max |bf16 - fp32| = {err:.3e} (max |fp32| {ref.abs().max().item():.3f}), cosine {cos:.5f}")
    assert err <= 0.05 * ref.abs().max().item(), f"max |bf16 - fp32| = {err}, max |fp32| = {ref.abs().max()}"
    assert cos >= 0.999, f"cosine(bf16, fp32) = {cos}"


def test_export_cli_writes_a_program_that_refuses_sizes_outside_its_range(tmp_path, capsys):
    """tools/export.py end to end in the .pt2 format (a whole SHViT-S1, random weights): the program runs at the
    sizes it states and refuses the others; bad arguments are errors before any work, and nothing half-written
    is left."""
    import importlib.util
    from pathlib import Path
    spec = importlib.util.spec_from_file_location("export_tool", Path(__file__).parents[1] / "tools/export.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    out = tmp_path / "shvit.pt2"
    assert tool.main(["va_shvit_s1", "--out", str(out), "--example-size", "128"]) == 0
    printed = capsys.readouterr().out
    report = json.loads((tmp_path / "shvit.pt2.json").read_text())
    assert "accepts: batch" in printed and report["format"] == "pt2" and len(report["checks"]) == 3
    program = torch.export.load(str(out)).module()
    lo = report["dims"]["height"][0]
    x = torch.randn(2, 3, lo + 31, lo + 18)
    model = timm.create_model("va_shvit_s1").eval()
    model.load_state_dict({k: v for k, v in program.state_dict().items() if k in model.state_dict()})
    with torch.no_grad():
        torch.testing.assert_close(program(x), model(x), atol=1e-5, rtol=1e-5)
    with pytest.raises(Exception, match="Guard failed|size"):
        program(torch.randn(2, 3, lo - 1, 100))
    for argv, message in [(["va_shvit_s1", "--out", str(tmp_path / "m.xyz")], "give --format onnx|pt2"),
                          (["shvit_s9", "--out", str(tmp_path / "m.onnx")], "unknown model 'shvit_s9'"),
                          (["va_shvit_s1", "--out", str(tmp_path), "--format", "onnx"], "is a folder")]:
        try:
            code = tool.main(argv)
        except SystemExit as e:   # argparse's own errors
            code = e.code
        assert code == 2 and message in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shvit.pt2", "shvit.pt2.json"]
