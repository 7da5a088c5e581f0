"""ConViT (va_convit_tiny/small/base): official and timm checkpoints, the official outputs, the timm contract,
four dense levels at any size, GPSA through SDPA against the explicit mixed attention."""
import math

import pytest
import timm
import torch
import torch.nn.functional as F
from timm.models import get_pretrained_cfg

from _model_checks import check_parity, check_spec_keys, official_zero_state_dict
import visionattn.ops.dense as dense_op
from visionattn.layers.gpsa import GPSA, relative_positions
from visionattn.models.convit import ConVit, checkpoint_filter_fn
from visionattn.ops import use_backend

VARIANTS = ["tiny", "small", "base"]
BIG = {"small", "base"}


def variants():
    return [pytest.param(v, marks=pytest.mark.slow) if v in BIG else v for v in VARIANTS]


def _perturb(model, seed=0):
    """Move every parameter off its initial value (timm's init makes v the identity, biases zero, ...)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.02 * torch.randn(p.shape, generator=g))
    return model


def _close(out, ref):
    err = (out - ref).abs().max().item()
    assert err <= 1e-4 * max(1.0, ref.abs().max().item()), f"max |diff| = {err}"


# ----------------------------------------------------------------------------------------------------------
# checkpoints

@pytest.mark.parametrize("variant", VARIANTS)
def test_spec_keys(variant):
    check_spec_keys(f"va_convit_{variant}", f"convit_{variant}", checkpoint_filter_fn)


@pytest.mark.parametrize("variant", variants())
def test_timm_checkpoint_parity(variant, tmp_path):
    """timm's checkpoint for convit_<v> loads unchanged and gives timm's logits, at 224 and at another size
    timm accepts (timm's ConViT has a fixed input size: both models are built with img_size=160 there)."""
    for img_size in (224, 160):
        torch.manual_seed(0)
        ref = _perturb(timm.create_model(f"convit_{variant}", img_size=img_size)).eval()
        path = tmp_path / f"timm_{img_size}.pth"
        torch.save(ref.state_dict(), path)
        model = timm.create_model(f"va_convit_{variant}", img_size=img_size, pretrained=True,
                                  pretrained_cfg_overlay=dict(file=str(path))).eval()
        x = torch.randn(2, 3, img_size, img_size)
        with torch.no_grad():
            _close(model(x), ref(x))


@pytest.mark.parametrize("backend", ["reference", "torch", "triton"])
def test_official_parity(backend, tmp_path):
    """The official ConViT-Ti's logits; its releases are bare state dicts."""
    check_parity("va_convit_tiny", "convit_tiny", tmp_path, backend=backend, wrap=False, images=1 if backend == "triton" else None)


def test_official_parity_wrapped(tmp_path):
    check_parity("va_convit_tiny", "convit_tiny", tmp_path, backend="torch", wrap=True)


def test_pos_embed_resampled_for_another_img_size():
    """A 224 checkpoint loads into a model configured for 288: the 14x14 position table becomes 18x18."""
    model = timm.create_model("va_convit_tiny", img_size=288)
    sd = official_zero_state_dict("convit_tiny")
    sd["pos_embed"] = torch.randn(1, 196, 192)
    sd["blocks.0.attn.rel_indices"] = torch.zeros(1, 196, 196, 3)  # a buffer the model recomputes
    out = checkpoint_filter_fn(sd, model)
    assert out["pos_embed"].shape == (1, 324, 192) and "blocks.0.attn.rel_indices" not in out
    model.load_state_dict(out)


# ----------------------------------------------------------------------------------------------------------
# timm contract

def test_pretrained_cfgs_are_timms():
    for v in VARIANTS:  # the weights timm's own convit_<v> loads
        assert get_pretrained_cfg(f"va_convit_{v}.fb_in1k").hf_hub_id == \
            get_pretrained_cfg(f"convit_{v}.fb_in1k").hf_hub_id
    assert get_pretrained_cfg("va_convit_tiny.fb_orig_in1k").url == \
        "https://dl.fbaipublicfiles.com/convit/convit_tiny.pth"
    assert get_pretrained_cfg("va_convit_base.fb_orig_in1k").url.endswith("/convit_base.pth")


def test_timm_registrations_untouched():
    assert type(timm.create_model("convit_tiny")).__module__ == "timm.models.convit"
    assert isinstance(timm.create_model("va_convit_tiny"), ConVit)


def test_feature_levels_are_what_the_card_says():
    """Levels 0-3 are blocks 2, 5, 8, 11 (class token dropped) reshaped to the 13x21 token grid of the
    padded 208x336 image, then bilinear x4 / x2 / identity / 2x2 max-pool (ceil), cropped to ceil(H / r)."""
    model = timm.create_model("va_convit_tiny").eval()
    assert [i["module"] for i in model.feature_info] == ["blocks.2", "blocks.5", "blocks.8", "blocks.11"]
    x = torch.randn(1, 3, 200, 333)
    taps = {}
    hooks = [model.blocks[b].register_forward_hook(lambda m, a, o, b=b: taps.__setitem__(b, o))
             for b in (2, 5, 8, 11)]
    with torch.no_grad():
        levels = model.forward_intermediates(x, intermediates_only=True)
    for h in hooks:
        h.remove()
    grids = {b: taps[b][:, 1:] if b >= model.local_up_to_layer else taps[b] for b in taps}
    maps = {b: t.transpose(1, 2).reshape(1, 192, 13, 21) for b, t in grids.items()}
    expected = [
        F.interpolate(maps[2], scale_factor=4.0, mode="bilinear")[:, :, :50, :84],
        F.interpolate(maps[5], scale_factor=2.0, mode="bilinear")[:, :, :25, :42],
        maps[8],
        F.max_pool2d(maps[11], 2, 2, ceil_mode=True),
    ]
    assert [tuple(t.shape[-2:]) for t in levels] == [(50, 84), (25, 42), (13, 21), (7, 11)]
    for got, want in zip(levels, expected):
        torch.testing.assert_close(got, want)


def test_classification_at_default_size_unpadded_and_any_size_runs():
    model = timm.create_model("va_convit_tiny").eval()
    with torch.no_grad():
        assert model(torch.randn(1, 3, 200, 333)).shape == (1, 1000)
        assert model(torch.randn(1, 3, 16, 16)).shape == (1, 1000)


# ----------------------------------------------------------------------------------------------------------
# attention

def _official_rel_indices(side):
    """The official square-grid relative positions, built the official way (repeat / repeat_interleave)."""
    ind = torch.arange(side).view(1, -1) - torch.arange(side).view(-1, 1)
    indx = ind.repeat(side, side)
    indy = ind.repeat_interleave(side, dim=0).repeat_interleave(side, dim=1)
    return torch.stack([indx, indy, indx ** 2 + indy ** 2], dim=-1).float()


def test_relative_positions():
    torch.testing.assert_close(relative_positions((5, 5)), _official_rel_indices(5))
    rel = relative_positions((3, 4))  # token n = (row n // 4, col n % 4)
    for n in range(12):
        for m in range(12):
            dx, dy = m % 4 - n % 4, m // 4 - n // 4
            assert rel[n, m].tolist() == [dx, dy, dx * dx + dy * dy]


@pytest.mark.parametrize("grid", [(14, 14), (5, 9)])
def test_gpsa_sdpa_matches_explicit_mixture(grid, monkeypatch):
    """(1 - g) SDPA(q, k, v) + g softmax(pos) v equals the official mixed, renormalised matrix times v,
    forward and gradients (every parameter and the input). The SDPA form serves maps above
    MIXED_MAX_TOKENS tokens (visionattn.ops.dense); forced here on small grids."""
    monkeypatch.setattr(dense_op, "MIXED_MAX_TOKENS", 0)
    torch.manual_seed(0)
    attn = GPSA(48, num_heads=4)
    with torch.no_grad():
        attn.gating_param.copy_(torch.tensor([-1.0, 0.0, 0.5, 2.0]))
    x = torch.randn(2, grid[0] * grid[1], 48)
    results = []
    for backend in ("reference", "torch"):
        attn.zero_grad()
        xi = x.clone().requires_grad_()
        with use_backend(backend):
            out = attn(xi, grid)
        (out * torch.linspace(-1, 1, out.numel()).view_as(out)).sum().backward()
        results.append((out.detach(), xi.grad, {n: p.grad.clone() for n, p in attn.named_parameters()}))
    (ref, ref_gx, ref_gp), (out, gx, gp) = results
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(gx, ref_gx, atol=1e-5, rtol=1e-4)
    for n in ref_gp:
        torch.testing.assert_close(gp[n], ref_gp[n], atol=1e-5, rtol=1e-4, msg=lambda m: f"{n}: {m}")


def test_attention_dropout_training_path():
    """With attn_drop_rate > 0 in training GPSA takes the explicit path (one dropout mask on the mixed
    matrix); in eval the SDPA path is used and matches."""
    model = timm.create_model("va_convit_tiny", attn_drop_rate=0.1)
    x = torch.randn(2, 3, 64, 64)
    model.train()
    out = model(x)
    out.sum().backward()
    model.eval()
    with torch.no_grad():
        a = model(x)
        with use_backend("reference"):
            b = model(x)
    torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)


def test_prune_to_local_blocks_drops_class_token():
    model = timm.create_model("va_convit_tiny").eval()
    kept = model.prune_intermediate_layers(indices=[0, 1])
    assert kept == [0, 1] and model.cls_token is None and len(model.blocks) == 6
    with torch.no_grad():
        levels = model.forward_intermediates(torch.randn(1, 3, 96, 128), indices=[0, 1], intermediates_only=True)
    assert [tuple(t.shape) for t in levels] == [(1, 192, 24, 32), (1, 192, 12, 16)]
    assert math.isfinite(levels[0].sum().item())
