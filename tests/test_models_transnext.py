"""TransNeXt (DaiShiResearch/TransNeXt): official checkpoint layouts, official logits, the timm contract, dense
features at any size, the official dense backbones' interpolated position bias."""
import json

import pytest
import timm
import torch
import torch.nn.functional as F

from _model_checks import PARITY, check_features, check_parity, check_spec_keys, official_zero_state_dict
from weights import official_state_dict
from visionattn.layers import aggregated_attention
from visionattn.models import transnext

SMALLEST = "transnext_micro"
MIN_SIZE = 29  # stage 1 (stride 4) needs a pooled map of at least 1 x 1: ceil(29 / 4) // 8 = 1
VARIANTS = [
    "transnext_micro",
    "transnext_tiny",
    pytest.param("transnext_small", marks=pytest.mark.slow),
    pytest.param("transnext_base", marks=pytest.mark.slow),
]


# ----------------------------------------------------------------------------------------------------------
# official checkpoints and outputs

@pytest.mark.parametrize("name", VARIANTS)
def test_spec_keys(name):
    check_spec_keys(name, name, transnext.checkpoint_filter_fn)


@pytest.mark.parametrize("backend", ["reference", "torch", pytest.param("triton", marks=pytest.mark.slow)])
def test_parity(backend, tmp_path):
    check_parity(SMALLEST, "transnext_micro", tmp_path, backend=backend, images=1 if backend == "triton" else None)


def test_parity_bare_state_dict(tmp_path):
    """Releases may also be a bare state dict."""
    check_parity(SMALLEST, "transnext_micro", tmp_path, backend="torch", wrap=False)


def test_filter_drops_official_buffers_and_keeps_own_layout():
    model = timm.create_model(SMALLEST)
    sd = official_zero_state_dict("transnext_micro")
    sd["relative_pos_index1"] = torch.zeros(3136 * 49, dtype=torch.long)   # buffers an official model may carry
    sd["relative_coords_table1"] = torch.zeros(10, 2)
    sd["block1.0.attn.seq_length_scale"] = torch.zeros(3136, 1)
    sd["block1.0.attn.padding_mask"] = torch.zeros(3136, 9, dtype=torch.bool)
    converted = transnext.checkpoint_filter_fn({"model": sd}, model)
    assert set(converted) == set(model.state_dict())
    own = model.state_dict()
    assert transnext.checkpoint_filter_fn(own, model).keys() == own.keys()


# ----------------------------------------------------------------------------------------------------------
# timm contract

@pytest.mark.slow
def test_features_large():
    check_features(SMALLEST, sizes=((470, 730),))   # a detection-like size, not a multiple of 32


def test_default_cfgs():
    from timm.models import get_pretrained_cfg
    for name, repo in (("transnext_micro.in1k", "transnext-micro-224-1k"), ("transnext_base.in1k", "transnext-base-224-1k"),
                       ("transnext_small.in1k_384", "transnext-small-384-1k-ft-1k"),
                       ("transnext_base.in1k_384", "transnext-base-384-1k-ft-1k")):
        cfg = get_pretrained_cfg(name)
        size = 384 if name.endswith("384") else 224
        assert cfg.input_size == (3, size, size) and cfg.license == "apache-2.0"
        assert cfg.hf_hub_id == f"DaiShiResearch/{repo}"
        assert cfg.url == f"https://huggingface.co/DaiShiResearch/{repo}/resolve/main/{cfg.hf_hub_filename}?download=true"
    # the 384 fine-tunes keep the 224 pre-training size for the position offsets (official --pretrain-size 224)
    assert timm.create_model(SMALLEST).pretrain_size == (224, 224)


def test_no_weight_decay_names_the_official_keywords():
    model = timm.create_model(SMALLEST)
    names = model.no_weight_decay()
    params = dict(model.named_parameters())
    assert names <= set(params)
    assert "stages.0.blocks.0.attn.query_embedding" in names and "stages.3.blocks.1.attn.cpb_fc2.bias" in names
    assert not any("attn.q.weight" in n or "mlp" in n for n in names)


# ----------------------------------------------------------------------------------------------------------
# the geometry built for any size equals the official construction

def _official_geometry(query_size, key_size, pretrain_size, window):
    """The official construction, written out: 2-D unique over the (dy, dx) offsets of every query / pooled-key
    pair, the log-spaced table, and the window-slot count through F.unfold."""
    axes = []
    for q_len, k_len, p in zip(query_size, key_size, pretrain_size):
        q = torch.arange(q_len, dtype=torch.float32)
        k = F.adaptive_avg_pool1d(q[None], k_len)[0]
        axes.append((q, k, p))
    (qh, kh, ph), (qw, kw, pw) = axes
    kh, kw = [t.reshape(-1) for t in torch.meshgrid(kh, kw, indexing="ij")]
    qh, qw = [t.reshape(-1) for t in torch.meshgrid(qh, qw, indexing="ij")]
    rel = torch.stack([(qh[:, None] - kh[None, :]) / (ph - 1) * 8, (qw[:, None] - kw[None, :]) / (pw - 1) * 8], -1)
    table, index = torch.unique(rel.view(-1, 2), return_inverse=True, dim=0)
    table = torch.sign(table) * torch.log2(table.abs() + 1.0) / torch.log2(torch.tensor(8.0))
    ones = torch.ones(1, 1, *query_size)
    local = F.unfold(ones, window, padding=window // 2).sum(-2).reshape(-1) if window else 0
    seq_scale = torch.log(torch.as_tensor(local + key_size[0] * key_size[1], dtype=torch.float32))
    return table, index.view(query_size[0] * query_size[1], -1), seq_scale


@pytest.mark.parametrize("size,pool,pretrain,window", [
    ((50, 84), (6, 10), (56, 56), 3),        # stage 1 of a 200 x 333 image
    ((25, 42), (6, 10), (28, 28), 3),        # stage 2
    ((13, 21), (6, 10), (14, 14), 3),        # stage 3
    ((7, 11), (7, 11), (7, 7), None),        # stage 4: full attention
    ((14, 14), (7, 7), (14, 14), 3),         # stage 3 at the default 224 x 224
    ((20, 20), (7, 7), (14, 14), 3),         # linear inference mode (fixed pool size)
])
def test_geometry_matches_official_construction(size, pool, pretrain, window):
    torch.manual_seed(0)
    fc1, act, fc2 = torch.nn.Linear(2, 512), torch.nn.ReLU(), torch.nn.Linear(512, 3)
    geometry = aggregated_attention.stage_geometry(size, pool, pretrain, window, torch.device("cpu"))
    ours = aggregated_attention.continuous_position_bias(fc1, act, fc2, geometry, 3)
    table, index, seq_scale = _official_geometry(size, pool, pretrain, window)
    expected = fc2(act(fc1(table))).transpose(0, 1)[:, index.view(-1)].view(3, size[0] * size[1], -1)
    torch.testing.assert_close(ours, expected, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(geometry.seq_scale.reshape(-1), seq_scale.reshape(-1))


def test_linear_inference_mode(tmp_path):
    """fixed_pool_size (the official linear inference mode): at 224 a pool size of 7 is the default model; at
    other sizes every aggregated stage pools to 7 x 7."""
    model = timm.create_model(SMALLEST).eval()
    fixed = timm.create_model(SMALLEST, fixed_pool_size=7).eval()
    fixed.load_state_dict(model.state_dict())
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        torch.testing.assert_close(fixed(x), model(x))
        feats = fixed.forward_intermediates(torch.randn(1, 3, 160, 288), intermediates_only=True)
    assert [tuple(f.shape[2:]) for f in feats] == [(40, 72), (20, 36), (10, 18), (5, 9)]
    assert fixed.min_size == 113   # stage 3 (stride 16) needs a map larger than the pool: ceil(113 / 16) = 8


# ----------------------------------------------------------------------------------------------------------
# the official "interpolation" position-bias mode (every official detection / segmentation release)

def _official_interpolated_bias(fc1, act, fc2, table_size, table_pool, pretrain, size, pool, heads):
    """The official is_extrapolation=False code, written out: the whole (heads, Th * Tw, Ph * Pw) bias of the
    fixed table, resized bilinearly over the pooled keys to (pool_h, pool_w), then over the queries to (H, W)."""
    table = aggregated_attention.stage_geometry(table_size, table_pool, pretrain, None, torch.device("cpu"))
    bias = aggregated_attention.continuous_position_bias(fc1, act, fc2, table, heads)
    (th, tw), (tph, tpw), (h, w), (ph, pw) = table_size, table_pool, size, pool
    bias = F.interpolate(bias.reshape(heads, th * tw, tph, tpw), (ph, pw), mode="bilinear")
    bias = bias.reshape(heads, th * tw, ph * pw).transpose(-1, -2).reshape(heads, ph * pw, th, tw)
    return F.interpolate(bias, (h, w), mode="bilinear").reshape(heads, ph * pw, h * w).transpose(-1, -2)


@pytest.mark.parametrize("table,table_pool,pretrain,size,pool", [
    ((200, 200), (25, 25), (56, 56), (200, 304), (25, 38)),   # stage 1 of an 800 x 1216 detection input
    ((24, 24), (6, 6), (28, 28), (17, 27), (4, 6)),           # stage 2, rows shrink, columns grow
    ((32, 32), (16, 16), (14, 14), (32, 44), (16, 22)),       # stage 3 of a 512 x 704 Mask2Former input
    ((16, 16), (16, 16), (7, 7), (16, 22), (16, 22)),         # stage 4: full attention, the keys are the map
    ((12, 12), (6, 6), (14, 14), (12, 12), (6, 6)),           # the table's own size: no resizing
])
def test_interpolated_bias_is_the_official_two_step_resize(table, table_pool, pretrain, size, pool):
    torch.manual_seed(0)
    fc1, act, fc2 = torch.nn.Linear(2, 512), torch.nn.ReLU(), torch.nn.Linear(512, 3)
    geometry = aggregated_attention.stage_geometry(table, table_pool, pretrain, None, torch.device("cpu"))
    with torch.no_grad():
        ours = aggregated_attention.interpolated_position_bias(fc1, act, fc2, geometry, size, pool, 3)
        expected = _official_interpolated_bias(fc1, act, fc2, table, table_pool, pretrain, size, pool, 3)
    torch.testing.assert_close(ours, expected, atol=1e-5, rtol=1e-5)


def _official_dense_numbers():
    from safetensors import safe_open
    with safe_open(str(PARITY / "transnext_micro_interpolate.safetensors"), "pt") as f:
        return f.metadata(), {k: f.get_tensor(k) for k in f.keys()}


def _summary(feats, strides):
    out = {}
    for level, (f, s) in enumerate(zip(feats, strides)):
        v = torch.cos(0.9 * torch.arange(f.shape[1], dtype=torch.float32) + 0.4)
        out[f"level{level}.channel_mean"] = f.mean((2, 3))[0]
        out[f"level{level}.projection"] = torch.einsum("bchw,c->bhw", f, v)[0][::s, ::s]
    return out


def test_interpolate_mode_matches_the_official_dense_backbone():
    """tests/fixtures/parity/transnext_micro_interpolate.safetensors: the official dense backbone (upernet
    transnext_native.py, is_extrapolation=False, img_size 192) on the parity weights and a 136 x 216 image, whose
    stage maps are smaller than the tables in rows and larger in columns (its metadata says how it was made)."""
    meta, expected = _official_dense_numbers()
    strides = json.loads(meta["projection_strides"])
    sd = {k: v for k, v in official_state_dict("transnext_micro").items() if not k.startswith("head.")}
    x = torch.randn(*json.loads(meta["input"]), generator=torch.Generator().manual_seed(int(meta["input_seed"])))
    results = {}
    for mode, kwargs in (("interpolate", dict(pos_bias_mode="interpolate", pos_bias_size=int(meta["img_size"]))),
                         ("extrapolate", {})):
        model = timm.create_model(SMALLEST, features_only=True, pretrain_size=int(meta["pretrain_size"]), **kwargs)
        model.model.load_state_dict(transnext.checkpoint_filter_fn(sd, model.model))
        with torch.no_grad():
            results[mode] = _summary(model.eval()(x), strides)
    assert set(results["interpolate"]) == set(expected)
    for key, value in expected.items():
        tol = 1e-4 * max(1.0, value.abs().max().item())
        assert (results["interpolate"][key] - value).abs().max() <= tol, key
    # the fixture tells the modes apart: the extrapolated bias misses it by far more than the tolerance
    worst = max((results["extrapolate"][k] - v).abs().max().item() / max(1.0, v.abs().max().item())
                for k, v in expected.items())
    assert worst > 1e-2


def test_interpolate_mode_at_its_own_size_is_the_default_model():
    """On a pos_bias_size x pos_bias_size image nothing is resized: the two modes are one function; the weights
    (and keys) are the same in both modes."""
    model = timm.create_model(SMALLEST).eval()
    interp = timm.create_model(SMALLEST, pos_bias_mode="interpolate", pos_bias_size=128).eval()
    assert interp.state_dict().keys() == model.state_dict().keys()
    interp.load_state_dict(model.state_dict())
    x = torch.randn(1, 3, 128, 128)
    with torch.no_grad():
        for a, b in zip(model.forward_intermediates(x, intermediates_only=True),
                        interp.forward_intermediates(x, intermediates_only=True)):
            torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-6)
        feats = interp.forward_intermediates(torch.randn(1, 3, 100, 140), intermediates_only=True)
    assert [tuple(f.shape[2:]) for f in feats] == [(25, 35), (13, 18), (7, 9), (4, 5)]
    assert model.pos_bias_mode == "extrapolate" and model.pos_bias_size is None
    assert interp.pos_bias_size == (128, 128)


@pytest.mark.parametrize("kwargs,match", [
    (dict(pos_bias_mode="bilinear"), "pos_bias_mode must be one of"),
    (dict(pos_bias_mode="interpolate"), "needs pos_bias_size"),
    (dict(pos_bias_size=800), "takes none"),
    (dict(pos_bias_mode="interpolate", pos_bias_size=800, fixed_pool_size=7), "do not go together"),
    (dict(pos_bias_mode="interpolate", pos_bias_size=16), "too small"),
])
def test_pos_bias_arguments_are_checked(kwargs, match):
    with pytest.raises(ValueError, match=match):
        timm.create_model(SMALLEST, **kwargs)
