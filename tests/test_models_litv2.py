"""LITv2 (HiLo attention): the model contract for every variant, official checkpoints and outputs (litv2_s
fixture), dense features at any size, and the HiLo / DTM semantics the dense path relies on."""
import pytest
import timm
import torch
import torch.nn.functional as F

from _model_checks import check_parity, check_spec_keys, official_zero_state_dict
from visionattn.layers import HiLo
from visionattn.models.litv2 import MIN_SIZE, DTM, checkpoint_filter_fn

SMALL = "litv2_s"
VARIANTS = [
    pytest.param("litv2_s", id="litv2_s"),
    pytest.param("litv2_m", id="litv2_m", marks=pytest.mark.slow),
    pytest.param("litv2_b", id="litv2_b", marks=pytest.mark.slow),
]


# ----------------------------------------------------------------------------------------------------------
# official checkpoints and outputs

@pytest.mark.parametrize("name", ["litv2_s", "litv2_m", "litv2_b"])
def test_spec_keys(name):
    check_spec_keys(name, name, checkpoint_filter_fn)


@pytest.mark.parametrize("backend", ["reference", "torch", pytest.param("triton", marks=pytest.mark.slow)])
def test_parity(backend, tmp_path):
    check_parity(SMALL, "litv2_s", tmp_path, backend=backend, images=1 if backend == "triton" else None)


def test_parity_bare_state_dict(tmp_path):
    check_parity(SMALL, "litv2_s", tmp_path, backend="torch", wrap=False)


def test_checkpoint_prefixes():
    """DDP ('module.') and mmdet / mmseg ('backbone.' + per-level norms + neck) layouts convert to the same keys."""
    model = timm.create_model(SMALL)
    sd = official_zero_state_dict("litv2_s")
    ddp = {"module." + k: v for k, v in sd.items()}
    dense = {"backbone." + k: v for k, v in sd.items() if not k.startswith(("norm.", "head."))}
    dense.update({f"backbone.norm{i}.weight": torch.zeros(96 * 2 ** i) for i in (1, 2, 3)})
    dense["neck.lateral_convs.0.conv.weight"] = torch.zeros(256, 96, 1, 1)
    own = set(model.state_dict())   # the official keys, with the classifier as timm's head.fc
    assert set(checkpoint_filter_fn({"model": ddp}, model)) == own
    assert set(checkpoint_filter_fn({"state_dict": dense}, model)) == own - {
        "norm.weight", "norm.bias", "head.fc.weight", "head.fc.bias"}


def test_pretrained_cfgs():
    cfgs = {tag: timm.models.get_pretrained_cfg(tag) for tag in
            ("litv2_s.in1k", "litv2_m.in1k", "litv2_b.in1k", "litv2_b.in1k_384")}
    for tag, cfg in cfgs.items():
        assert cfg.url.startswith("https://github.com/ziplab/LITv2/releases/download/v1.0/litv2_")
        assert cfg.license == "apache-2.0" and cfg.first_conv == "patch_embed.proj" and cfg.classifier == "head.fc"
    assert cfgs["litv2_b.in1k_384"].input_size == (3, 384, 384) and cfgs["litv2_b.in1k_384"].crop_pct == 1.0
    assert cfgs["litv2_s.in1k"].input_size == (3, 224, 224) and cfgs["litv2_s.in1k"].crop_pct == 0.875


# ----------------------------------------------------------------------------------------------------------
# timm contract

def test_feature_sizes_exact():
    """Exact level sizes: the patch embedding pads to a multiple of 4, DTM floors odd maps; 800 x 1216 (COCO),
    200 x 333 and the minimum size."""
    model = timm.create_model(SMALL, features_only=True).eval()
    with torch.no_grad():
        for (h, w), sizes in [((800, 1216), [(200, 304), (100, 152), (50, 76), (25, 38)]),
                              ((200, 333), [(50, 84), (25, 42), (12, 21), (6, 10)]),
                              ((MIN_SIZE, MIN_SIZE), [(8, 8), (4, 4), (2, 2), (1, 1)])]:
            feats = model(torch.randn(1, 3, h, w))
            assert [tuple(f.shape[2:]) for f in feats] == sizes
            assert [f.shape[1] for f in feats] == [96, 192, 384, 768]
            assert all(torch.isfinite(f).all() for f in feats)


def test_group_matcher_covers_all_parameters():
    from timm.models import group_parameters
    model = timm.create_model(SMALL)
    groups = group_parameters(model, model.group_matcher(coarse=False))
    names = [n for g in groups.values() for n in g]
    assert sorted(names) == sorted(n for n, _ in model.named_parameters())
    coarse = group_parameters(model, model.group_matcher(coarse=True))
    assert len(coarse) == 1 + 4 + 1   # stem, four stages, norm + head


# ----------------------------------------------------------------------------------------------------------
# semantics: HiLo and DTM written out

def _hilo_written_out(attn: HiLo, x):
    """HiLo as the official dense backbone defines it, one window / one query at a time."""
    b, h, w, c = x.shape
    ws, d = attn.ws, attn.head_dim
    ph, pw = (-h) % ws, (-w) % ws
    xp = F.pad(x, (0, 0, 0, pw, 0, ph))
    hp, wp = h + ph, w + pw
    outs = []
    if attn.h_heads:
        qkv = attn.h_qkv(xp).view(b, hp, wp, 3, attn.h_heads, d)
        hi = torch.zeros(b, hp, wp, attn.h_heads, d)
        for i in range(0, hp, ws):
            for j in range(0, wp, ws):
                win = qkv[:, i:i + ws, j:j + ws].reshape(b, ws * ws, 3, attn.h_heads, d)
                q, k, v = win.unbind(2)
                p = (torch.einsum("bqnd,bknd->bnqk", q, k) * attn.scale).softmax(-1)
                hi[:, i:i + ws, j:j + ws] = torch.einsum("bnqk,bknd->bqnd", p, v).view(b, ws, ws, attn.h_heads, d)
        outs.append(attn.h_proj(hi.reshape(b, hp, wp, -1)))
    if attn.l_heads:
        pooled = F.avg_pool2d(xp.permute(0, 3, 1, 2), ws).permute(0, 2, 3, 1).reshape(b, -1, c)
        q = attn.l_q(xp).view(b, hp * wp, attn.l_heads, d)
        k, v = attn.l_kv(pooled).view(b, -1, 2, attn.l_heads, d).unbind(2)
        p = (torch.einsum("bqnd,bknd->bnqk", q, k) * attn.scale).softmax(-1)
        outs.append(attn.l_proj(torch.einsum("bnqk,bknd->bqnd", p, v).reshape(b, hp, wp, -1)))
    return torch.cat(outs, -1)[:, :h, :w]


@pytest.mark.parametrize("ws,alpha,size", [(2, 0.9, (7, 5)), (2, 0.5, (6, 6)), (3, 0.5, (7, 8)), (1, 0.9, (5, 3)),
                                           (2, 0.0, (5, 4)), (2, 1.0, (3, 5))])
@pytest.mark.parametrize("backend", ["reference", "torch"])
def test_hilo_semantics(ws, alpha, size, backend):
    from visionattn.ops import use_backend
    attn = HiLo(96, num_heads=6, qkv_bias=True, window_size=ws, alpha=alpha).eval()
    if ws == 1:
        assert attn.h_heads == 0 and attn.l_heads == 6
    else:
        assert attn.l_heads == int(6 * alpha)
    x = torch.randn(2, *size, 96)
    with torch.no_grad(), use_backend(backend):
        torch.testing.assert_close(attn(x), _hilo_written_out(attn, x), atol=1e-5, rtol=1e-5)


def test_dtm_offset_layout():
    """Offsets are (dy, dx) per kernel point: a constant dy = 1 samples one row lower (a plain strided conv of
    the map shifted up by one row); no modulation mask (8 offset channels for the 2x2 kernel)."""
    dtm = DTM(8).eval()
    assert dtm.dconv.conv_offset.out_channels == 8
    x = torch.randn(1, 9, 10, 8)
    xc = x.permute(0, 3, 1, 2)
    with torch.no_grad():
        plain = F.conv2d(xc, dtm.dconv.weight, dtm.dconv.bias, stride=2)
        dtm.dconv.conv_offset.bias.copy_(torch.tensor([1.0, 0.0] * 4))   # dy = 1, dx = 0 for every point
        shifted = F.conv2d(xc[:, :, 1:], dtm.dconv.weight, dtm.dconv.bias, stride=2)
        got = dtm.dconv(xc)
    assert got.shape == plain.shape == (1, 16, 4, 5)
    torch.testing.assert_close(got[:, :, :4], shifted[:, :, :4], atol=1e-5, rtol=1e-5)
