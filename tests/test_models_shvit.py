"""SHViT (va_shvit_s1..s4): official and timm checkpoints, the official outputs, the timm contract, dense
levels at strides 16 / 32 / 64 at any size, BatchNorm fusion, SDPA against the explicit attention."""
import pytest
import timm
import torch
from timm.models import get_pretrained_cfg

from _model_checks import check_parity, check_spec_keys, official_zero_state_dict
from visionattn import ops
from visionattn.models.shvit import SHViT, checkpoint_filter_fn
from visionattn.ops import use_backend

VARIANTS = ["s1", "s2", "s3", "s4"]
BIG = {"s3", "s4"}


def variants():
    return [pytest.param(v, marks=pytest.mark.slow) if v in BIG else v for v in VARIANTS]


def _randomize(model, seed=0):
    """Weights with every branch live: timm initialises the last BatchNorm of each residual branch to zero,
    which would hide the branch; the running statistics get non-trivial values too."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
                n = m.num_features
                m.weight.copy_(1.0 + 0.2 * torch.randn(n, generator=g))
                m.bias.copy_(0.1 * torch.randn(n, generator=g))
                m.running_mean.copy_(0.1 * torch.randn(n, generator=g))
                m.running_var.copy_(0.5 + torch.rand(n, generator=g))
    return model


def _close(out, ref):
    err = (out - ref).abs().max().item()
    assert err <= 1e-4 * max(1.0, ref.abs().max().item()), f"max |diff| = {err} (|ref| max {ref.abs().max().item()})"


# ----------------------------------------------------------------------------------------------------------
# checkpoints

@pytest.mark.parametrize("variant", VARIANTS)
def test_spec_keys(variant):
    """The official release's keys, shapes and parameter count, for every variant."""
    check_spec_keys(f"va_shvit_{variant}", f"shvit_{variant}", checkpoint_filter_fn)


@pytest.mark.parametrize("variant", VARIANTS)
def test_official_and_timm_layouts_convert_to_the_same_keys(variant):
    """timm's own SHViT has the stage layout: its state dict passes unchanged, and the official layout
    converts onto exactly its keys."""
    ref = timm.create_model(f"shvit_{variant}")
    mine = timm.create_model(f"va_shvit_{variant}")
    timm_sd = ref.state_dict()
    assert list(checkpoint_filter_fn(timm_sd, mine)) == list(timm_sd)
    official = checkpoint_filter_fn(official_zero_state_dict(f"shvit_{variant}"), mine)
    assert set(official) == set(timm_sd) == set(mine.state_dict())


@pytest.mark.parametrize("variant", variants())
def test_timm_checkpoint_parity(variant, tmp_path):
    """timm's checkpoint for shvit_<v> loads unchanged through pretrained=True and gives timm's logits, at the
    default size and at a non-square one."""
    torch.manual_seed(0)
    ref = _randomize(timm.create_model(f"shvit_{variant}")).eval()
    path = tmp_path / "timm.pth"
    torch.save(ref.state_dict(), path)
    model = timm.create_model(f"va_shvit_{variant}", pretrained=True,
                              pretrained_cfg_overlay=dict(file=str(path))).eval()
    size = model.pretrained_cfg["input_size"][1:]
    for hw in (size, (192, 288)):
        x = torch.randn(2, 3, *hw)
        with torch.no_grad():
            _close(model(x), ref(x))


@pytest.mark.parametrize("backend", ["reference", "torch", "triton"])
def test_official_parity(backend, tmp_path):
    """The official SHViT-S1's logits on official-format weights, wrapped as the releases are ({"model": ...})."""
    check_parity("va_shvit_s1", "shvit_s1", tmp_path, backend=backend, images=1 if backend == "triton" else None)


def test_official_parity_bare_state_dict(tmp_path):
    check_parity("va_shvit_s1", "shvit_s1", tmp_path, backend="torch", wrap=False)


def test_official_2d_pointwise_weights_are_accepted():
    """The official loader accepts 1x1 convolution weights stored as matrices; so does the conversion."""
    model = timm.create_model("va_shvit_s1")
    sd = official_zero_state_dict("shvit_s1")
    sd["blocks1.0.ffn.m.pw1.c.weight"] = sd["blocks1.0.ffn.m.pw1.c.weight"][:, :, 0, 0]
    out = checkpoint_filter_fn({"model": sd}, model)
    assert out["stages.0.blocks.0.ffn.m.pw1.c.weight"].shape == (256, 128, 1, 1)
    model.load_state_dict(out)


# ----------------------------------------------------------------------------------------------------------
# timm contract

def test_pretrained_cfgs_are_timms():
    for v in VARIANTS:  # the weights timm's own shvit_<v> loads
        assert get_pretrained_cfg(f"va_shvit_{v}.in1k").hf_hub_id == get_pretrained_cfg(f"shvit_{v}.in1k").hf_hub_id
    orig = timm.create_model("va_shvit_s4.orig_in1k").pretrained_cfg
    assert orig["url"] == "https://github.com/ysj9909/SHViT/releases/download/v1.0/shvit_s4.pth"
    assert orig["input_size"] == (3, 256, 256)


def test_timm_registrations_untouched():
    assert type(timm.create_model("shvit_s1")).__module__ == "timm.models.shvit"
    assert isinstance(timm.create_model("va_shvit_s1"), SHViT)


def test_features_are_the_stage_outputs():
    model = timm.create_model("va_shvit_s1").eval()
    feats = timm.create_model("va_shvit_s1", features_only=True).eval()
    missing, _ = feats.model.load_state_dict(model.state_dict(), strict=False)  # its head is pruned
    assert not missing
    x = torch.randn(1, 3, 200, 333)
    with torch.no_grad():
        y = model.patch_embed(x)
        outs = []
        for stage in model.stages:
            y = stage(y)
            outs.append(y)
        got = feats(x)
    assert [tuple(o.shape) for o in got] == [(1, 128, 13, 21), (1, 224, 7, 11), (1, 320, 4, 6)]
    for a, b in zip(got, outs):
        torch.testing.assert_close(a, b)


def test_single_head_attention_sdpa_matches_reference():
    """SHSA's one-head attention (ops.attention): SDPA against the explicit softmax(q k^T * scale) v, forward
    and gradients, value width != key width."""
    q, k, v = torch.randn(2, 37, 16), torch.randn(2, 37, 16), torch.randn(2, 37, 48)
    outs, grads = [], []
    for backend in ("reference", "torch"):
        leaves = [t.clone().requires_grad_() for t in (q, k, v)]
        with use_backend(backend):
            out = ops.attention(*(t.unsqueeze(1) for t in leaves), scale=0.3).squeeze(1)
        (out * torch.linspace(-1, 1, out.numel()).view_as(out)).sum().backward()
        outs.append(out.detach())
        grads.append([t.grad for t in leaves])
    torch.testing.assert_close(outs[1], outs[0], atol=1e-5, rtol=1e-5)
    for a, b in zip(grads[1], grads[0]):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


# ----------------------------------------------------------------------------------------------------------
# inference fusion

@pytest.mark.parametrize("variant", variants())
def test_fuse_keeps_outputs(variant):
    model = _randomize(timm.create_model(f"va_shvit_{variant}")).eval()
    x = torch.randn(2, 3, 224, 288)
    with torch.no_grad():
        ref = model(x)
        feats = model.forward_intermediates(x, intermediates_only=True)
        model.fuse()
        out = model(x)
        fused_feats = model.forward_intermediates(x, intermediates_only=True)
    kinds = {type(m).__name__ for m in model.modules()}
    assert not kinds & {"BatchNorm1d", "BatchNorm2d", "Conv2dNorm", "NormLinear"}, kinds
    assert isinstance(model.head, torch.nn.Linear)
    # depthwise residual convolutions became single convolutions (shortcut in the kernel)
    assert isinstance(model.stages[0].blocks[0].conv, torch.nn.Conv2d)
    _close(out, ref)
    for a, b in zip(fused_feats, feats):
        _close(a, b)
