"""BiFormer (biformer_t / _s / _b): the model contract, official checkpoints and outputs, dense use."""
import pytest
import timm
import torch

from _model_checks import check_features, check_parity, check_spec_keys, official_state_dict
from visionattn.layers import AttentionLePE, BiLevelRoutingAttention
from visionattn.models import biformer

SMALL = "biformer_t"
OFFICIAL = {"biformer_t": "biformer_tiny", "biformer_s": "biformer_small", "biformer_b": "biformer_base"}
SLOW = {"biformer_s", "biformer_b"}


def variants():
    return [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n for n in OFFICIAL]


# ----------------------------------------------------------------------------------------------------------
# official checkpoints and outputs

@pytest.mark.parametrize("name", list(OFFICIAL))
def test_spec_keys(name):
    check_spec_keys(name, OFFICIAL[name], biformer.checkpoint_filter_fn)


@pytest.mark.parametrize("backend", ["reference", "torch", pytest.param("triton", marks=pytest.mark.slow)])
def test_parity_official_logits(backend, tmp_path):
    check_parity(SMALL, "biformer_tiny", tmp_path, backend=backend, images=1 if backend == "triton" else None)


def test_bare_official_state_dict_loads(tmp_path):
    check_parity(SMALL, "biformer_tiny", tmp_path, backend="torch", wrap=False)


def test_release_url_resolves_to_official_file_name(tmp_path, monkeypatch):
    """pretrained=True without a file override: timm's downloader gets the release URL with the official
    file name (all releases end in '/content'), and the downloaded file loads through the conversion."""
    import timm.models._hub as hub
    from visionattn import checkpoint as ckpt
    path = tmp_path / "biformer_tiny_in1k.pth"
    torch.save({"model": official_state_dict("biformer_tiny")}, path)
    asked = []

    def fake_download(url, **kwargs):
        asked.append(url)
        return str(path)

    monkeypatch.setattr(ckpt, "unreachable", lambda host, timeout=3.0: None)
    monkeypatch.setattr(ckpt, "cached_weights", lambda source: None)
    monkeypatch.setattr(hub, "download_cached_file", fake_download)
    model = timm.create_model(SMALL, pretrained=True, num_classes=10)
    assert asked == [("https://api.onedrive.com/v1.0/shares/s!AkBbczdRlZvChHEOoGkgwgQzEDlM/root/content",
                      "biformer_tiny_in1k.pth")]
    sd = official_state_dict("biformer_tiny")
    assert torch.equal(model.stages[2][3].attn.qkv.qkv.weight, sd["stages.2.3.attn.qkv.qkv.weight"])
    assert model.get_classifier().weight.shape == (10, 512)  # the 1000-class head is dropped, as timm does


def test_default_cfgs_name_every_release():
    for name, official in OFFICIAL.items():
        cfg = timm.models.get_pretrained_cfg(name).to_dict()
        url, file_name = cfg["url"]
        assert url.startswith("https://api.onedrive.com/v1.0/shares/") and file_name == f"{official}_in1k.pth"
        assert cfg["license"] == "mit" and cfg["input_size"] == (3, 224, 224)


# ----------------------------------------------------------------------------------------------------------
# timm contract

@pytest.mark.slow
def test_features_detection_size_and_n_win():
    """The official detection configuration (n_win 16) at a COCO-like size."""
    check_features(SMALL, sizes=((800, 1216),), n_win=16)


# ----------------------------------------------------------------------------------------------------------
# semantics

def _attn(topk=4, n_win=7, dim=64):
    torch.manual_seed(0)
    attn = BiLevelRoutingAttention(dim, num_heads=dim // 32, n_win=n_win, topk=topk).eval()
    with torch.no_grad():
        attn.qkv.qkv.bias.normal_()  # padded tokens project to the bias: make it matter
    return attn


def _bra_by_hand(attn, x):
    """Bi-level routing attention written out independently of visionattn.ops (official semantics)."""
    b, h_in, w_in, c = x.shape
    s = attn.n_win
    ph, pw = -h_in % s, -w_in % s
    x = torch.nn.functional.pad(x, (0, 0, 0, pw, 0, ph))
    h, w = x.shape[1:3]
    q, k, v = attn.qkv(x)
    lepe = attn.lepe(v.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
    out = torch.zeros_like(v)
    rh, rw = h // s, w // s
    region = lambda t, r: t[:, (r // s) * rh:(r // s + 1) * rh, (r % s) * rw:(r % s + 1) * rw]  # noqa: E731
    means_q = torch.stack([region(q, r).mean((1, 2)) for r in range(s * s)], 1)
    means_k = torch.stack([region(k, r).mean((1, 2)) for r in range(s * s)], 1)
    routes = (means_q @ means_k.transpose(1, 2)).topk(min(attn.topk, s * s), dim=-1).indices
    n = attn.num_heads
    for bi in range(b):
        for r in range(s * s):
            qr = region(q[bi:bi + 1], r).reshape(-1, n, c // n)
            ks = torch.cat([region(k[bi:bi + 1], int(t)).reshape(-1, n, c // n) for t in routes[bi, r]])
            vs = torch.cat([region(v[bi:bi + 1], int(t)).reshape(-1, n, c // n) for t in routes[bi, r]])
            p = (torch.einsum("qnd,knd->nqk", qr, ks) * c ** -0.5).softmax(-1)  # scale of the whole qk dim
            o = torch.einsum("nqk,knd->qnd", p, vs).reshape(rh, rw, c)
            out[bi, (r // s) * rh:(r // s + 1) * rh, (r % s) * rw:(r % s + 1) * rw] = o
    return attn.wo(out + lepe)[:, :h_in, :w_in]


@pytest.mark.parametrize("size,n_win,topk", [((14, 14), 7, 4), ((13, 19), 7, 4), ((10, 6), 4, 3),
                                             ((5, 9), 2, 16)])
def test_routing_attention_matches_definition(size, n_win, topk):
    """Padding before the projections, region-mean routing, whole-dim scale, LePE on v, crop; the last
    case asks for more routed regions than there are (top-k clamped to the 4 regions)."""
    attn = _attn(topk, n_win)
    x = torch.randn(2, *size, 64)
    with torch.no_grad():
        torch.testing.assert_close(attn(x), _bra_by_hand(attn, x), atol=1e-5, rtol=1e-4)


def test_n_win_is_a_model_option():
    model = timm.create_model(SMALL, n_win=16)
    assert model.n_win == 16
    assert all(b.attn.n_win == 16 for s in model.stages[:3] for b in s)
    assert isinstance(model.stages[3][0].attn, AttentionLePE)
    assert model.stages[3][0].attn.num_heads == 8


def test_features_only_pretrained_and_tiny_input(tmp_path):
    path = tmp_path / "ckpt.pth"
    torch.save({"model": official_state_dict("biformer_tiny")}, path)
    model = timm.create_model(SMALL, features_only=True, pretrained=True,
                              pretrained_cfg_overlay=dict(file=str(path))).eval()
    with torch.no_grad():
        feats = model(torch.randn(1, 3, 32, 45))
    assert [tuple(f.shape[1:]) for f in feats] == [(64, 8, 12), (128, 4, 6), (256, 2, 3), (512, 1, 2)]
    assert all(torch.isfinite(f).all() for f in feats)
