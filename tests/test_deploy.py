"""fuse(): BatchNorm folded into the convolutions before it, the same outputs."""
import pytest
import timm
import torch

import visionattn  # noqa: F401
from visionattn.deploy import fuse

# the families with convolutions followed by BatchNorm, and how many norms each folds (all that follow a conv)
CASES = {"va_shvit_s1": dict(kwargs=dict(depth=(1, 1, 1)), size=96),
         "biformer_t": dict(kwargs=dict(depth=(1, 1, 1, 1)), size=96),
         "va_halonet26t": dict(kwargs=dict(), size=128),
         "litv2_s": dict(kwargs=dict(depths=(1, 1, 1, 1)), size=96)}


@pytest.mark.parametrize("name", list(CASES))
def test_fused_model_computes_the_same(name):
    torch.manual_seed(0)
    model = timm.create_model(name, **CASES[name]["kwargs"])
    with torch.no_grad():   # statistics and affine parameters off their init, so folding them is not vacuous
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.normal_(0, 0.2)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.normal_(1.0, 0.2)
                m.bias.normal_(0, 0.2)
            if hasattr(m, "conv_offset"):   # LITv2's deformable convs: real offsets (they start at zero)
                m.conv_offset.weight.normal_(0, 0.1)
    model.eval()
    x = torch.randn(2, 3, CASES[name]["size"] + 5, CASES[name]["size"] - 3)
    with torch.no_grad():
        want = model(x)
    before = sum(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
    fuse(model)
    after = sum(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
    assert model.fused_batchnorms > 0 and after == before - model.fused_batchnorms
    with torch.no_grad():
        got = model(x)
    print(f"{name}: {model.fused_batchnorms} of {before} BatchNorms folded, max |fused - eager| "
          f"{(got - want).abs().max().item():.2e} (max |y| {want.abs().max().item():.3f})")
    torch.testing.assert_close(got, want, atol=1e-4 * max(1.0, want.abs().max().item()), rtol=1e-4)


def test_fuse_needs_eval_mode():
    with pytest.raises(ValueError, match="call model.eval\\(\\) first"):
        fuse(timm.create_model("va_shvit_s1", depth=(1, 1, 1)))


def test_benchmark_times_the_fused_model():
    from visionattn import bench
    rows = bench.bench_models(["va_shvit_s1"], size=64, batch=2, reps=1, backends=("torch", "fused"), memory=True)
    assert [r["backend"] for r in rows] == ["torch", "fused"]
    assert rows[1]["img_per_s"] > 0 and rows[1]["peak_mb"] is not None
