"""TransNeXt (DaiShiResearch/TransNeXt): official checkpoint layouts, official logits, the timm contract, dense
features at any size."""
import pytest
import timm
import torch
import torch.nn.functional as F

from _model_contract import (check_backends_agree, check_bad_inputs, check_compile, check_default_cfg_and_heads,
                             check_features, check_forward_backward, check_grad_checkpointing, check_parity,
                             check_spec_keys, official_zero_state_dict)
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

@pytest.mark.parametrize("name", [v if v == SMALLEST else pytest.param(v, marks=pytest.mark.slow) for v in
                                  ("transnext_micro", "transnext_tiny", "transnext_small", "transnext_base")])
def test_forward_backward(name):
    check_forward_backward(name)


def test_default_cfg_and_heads():
    check_default_cfg_and_heads(SMALLEST)


def test_features():
    check_features(SMALLEST, sizes=((200, 333), (512, 512)))


@pytest.mark.slow
def test_features_large():
    check_features(SMALLEST, sizes=((470, 730),))   # a detection-like size, not a multiple of 32


def test_bad_inputs():
    check_bad_inputs(SMALLEST, MIN_SIZE)
    model = timm.create_model(SMALLEST).eval()
    with torch.no_grad():
        assert model(torch.randn(1, 3, MIN_SIZE, MIN_SIZE)).shape == (1, 1000)


def test_compile():
    # every block kind (aggregated attention in stages 1-3, plain attention in stage 4), one of each: the
    # capture time grows with depth, not with what is checked
    check_compile(SMALLEST, size=(3, 128, 160), depths=(1, 1, 1, 1))


def test_grad_checkpointing():
    check_grad_checkpointing(SMALLEST)


def test_backends_agree():
    check_backends_agree(SMALLEST)


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
    geometry = transnext.stage_geometry(size, pool, pretrain, window, torch.device("cpu"))
    ours = transnext.continuous_position_bias(fc1, act, fc2, geometry, 3)
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
