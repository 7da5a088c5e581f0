"""Agent Attention (agent_swin_* / agent_pvt_* / agent_deit_*): the model contract, official checkpoints and
outputs, dense use at any size."""
import pytest
import timm
import torch

from _model_checks import (
    check_backends_agree, check_default_size_features, check_features, check_parity, check_spec_keys,
    official_state_dict, save_training_checkpoint, spec,
)
from visionattn.models import agent

OFFICIAL = {
    "agent_swin_t": "agent_swin_t", "agent_swin_s": "agent_swin_s", "agent_swin_b": "agent_swin_b",
    "agent_pvt_t": "agent_pvt_tiny", "agent_pvt_s": "agent_pvt_small", "agent_pvt_m": "agent_pvt_medium",
    "agent_pvt_l": "agent_pvt_large",
    "agent_deit_t": "agent_deit_tiny", "agent_deit_s": "agent_deit_small", "agent_deit_b": "agent_deit_base",
}
SMALL = ["agent_swin_t", "agent_pvt_t", "agent_deit_t"]          # one per backbone kind, each with a fixture
MIN_SIZE = {"agent_swin_t": 32, "agent_pvt_t": 32, "agent_deit_t": 16}
SLOW = {"agent_swin_s", "agent_swin_b", "agent_pvt_s", "agent_pvt_m", "agent_pvt_l", "agent_deit_s", "agent_deit_b"}


def variants():
    return [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n for n in OFFICIAL]


# ----------------------------------------------------------------------------------------------------------
# official checkpoints and outputs

@pytest.mark.parametrize("name", variants())
def test_spec_keys(name):
    check_spec_keys(name, OFFICIAL[name], agent.checkpoint_filter_fn)


@pytest.mark.parametrize("backend", ["reference", "torch", pytest.param("triton", marks=pytest.mark.slow)])
@pytest.mark.parametrize("name", SMALL)
def test_parity_official_logits(name, backend, tmp_path):
    check_parity(name, OFFICIAL[name], tmp_path, backend=backend, images=1 if backend == "triton" else None)


@pytest.mark.parametrize("name", SMALL)
def test_bare_official_state_dict_loads(name, tmp_path):
    check_parity(name, OFFICIAL[name], tmp_path, backend="torch", wrap=False)


def test_official_training_checkpoint_loads_without_yacs(tmp_path, monkeypatch):
    """The official main.py saves {'model', 'optimizer', 'lr_scheduler', 'max_accuracy', 'epoch', 'config'} with a
    yacs CfgNode as config: it loads (weights_only, no yacs needed) through pretrained=True, from the release URL
    or from a local copy, as the README's offline section says: pretrained_cfg_overlay=dict(file=...) alone (before,
    timm reset custom_load for a file overlay and its plain loader refused the file)."""
    sd = official_state_dict("agent_pvt_tiny")
    path = tmp_path / "agent_pvt_t_max_acc.pth"
    save_training_checkpoint(path, tmp_path, monkeypatch, "agent_pvt_tiny", model=sd,
                             optimizer={"state": {}, "param_groups": [{"lr": 1e-3}]}, max_accuracy=78.4, epoch=300)
    for overlay in (dict(file=str(path)), dict(file=str(path), custom_load=True)):
        model = timm.create_model("agent_pvt_t", pretrained=True, pretrained_cfg_overlay=overlay)
        assert torch.equal(model.block3[1].attn.an_bias, sd["block3.1.attn.an_bias"])


def test_release_url_resolves_to_official_file(tmp_path, monkeypatch):
    """pretrained=True without a file override: timm's downloader gets the Tsinghua Cloud share link with a file
    name, the model's loader converts the file; another class count drops the 1000-class head as timm does."""
    import timm.models._hub as hub
    from visionattn import checkpoint as ckpt
    path = tmp_path / "agent_deit_t_max_acc.pth"
    torch.save({"model": official_state_dict("agent_deit_tiny")}, path)
    asked = []

    def fake_download(url, **kwargs):
        asked.append(url)
        return str(path)

    monkeypatch.setattr(ckpt, "unreachable", lambda host, timeout=3.0: None)
    monkeypatch.setattr(ckpt, "cached_weights", lambda source: None)
    monkeypatch.setattr(hub, "download_cached_file", fake_download)
    model = timm.create_model("agent_deit_t", pretrained=True, num_classes=10)
    assert asked == [("https://cloud.tsinghua.edu.cn/f/57e0904221824ee7b7af/?dl=1", "agent_deit_t_max_acc.pth")]
    assert torch.equal(model.blocks[5].attn.ca_bias, official_state_dict("agent_deit_tiny")["blocks.5.attn.ca_bias"])
    assert model.head.weight.shape == (10, 192)


def test_default_cfgs_name_every_release():
    tags = {n: timm.list_pretrained(n + ".*") for n in OFFICIAL}
    assert tags["agent_swin_s"] == ["agent_swin_s.in1k", "agent_swin_s.in1k_288"]
    assert tags["agent_swin_b"] == ["agent_swin_b.in1k", "agent_swin_b.in1k_384"]
    assert tags["agent_pvt_m"] == ["agent_pvt_m.in1k", "agent_pvt_m.in1k_256"]
    assert tags["agent_deit_s"] == ["agent_deit_s.in1k", "agent_deit_s.in1k_448"]
    for name, names in tags.items():
        for tag in names:
            cfg = timm.models.get_pretrained_cfg(tag).to_dict()
            url, file_name = cfg["url"]
            assert url.startswith("https://cloud.tsinghua.edu.cn/f/") and file_name.endswith(".pth")
            assert cfg["custom_load"] and cfg["num_classes"] == 1000


@pytest.mark.parametrize("tag, shapes", [
    ("agent_swin_s.in1k_288", {"layers.0.blocks.0.attn.ah_bias": (1, 3, 9, 72, 1),
                               "layers.2.blocks.0.attn.relative_position_bias_table": (17 * 17, 12),
                               "layers.3.blocks.0.attn.relative_position_bias_table": (17 * 17, 24)}),
    pytest.param("agent_swin_b.in1k_384", {"layers.1.blocks.0.attn.wa_bias": (1, 8, 1, 48, 16),
                                           "layers.2.blocks.3.attn.relative_position_bias_table": (23 * 23, 16)},
                 marks=pytest.mark.slow),
    ("agent_pvt_m.in1k_256", {"pos_embed1": (1, 64 * 64, 64), "block4.0.attn.ha_bias": (1, 8, 8, 1, 49)}),
    ("agent_deit_s.in1k_448", {"pos_embed": (1, 28 * 28 + 1, 384), "blocks.0.attn.aw_bias": (1, 6, 49, 1, 28)}),
])
def test_high_resolution_tags_build_at_their_size(tag, shapes):
    """The fine-tuned releases: the tag's input size sets the model (window = the stage-1 map, window blocks
    max(7, window // 8)), so their checkpoints' shapes are the model's."""
    sd = timm.create_model(tag).state_dict()
    for key, shape in shapes.items():
        assert tuple(sd[key].shape) == shape, key


def test_checkpoint_resized_to_another_size(tmp_path):
    """224 weights into a model configured for 288: agent biases resampled linearly, window tables bicubically
    (the official fine-tuning loader), then the model runs at 288."""
    sd = official_state_dict("agent_swin_t")
    path = tmp_path / "agent_swin_t.pth"
    torch.save({"model": sd}, path)
    model = timm.create_model("agent_swin_t", img_size=288, pretrained=True,
                              pretrained_cfg_overlay=dict(file=str(path))).eval()
    assert model.layers[0].blocks[0].attn.ah_bias.shape == (1, 3, 9, 72, 1)
    assert model.layers[3].blocks[0].attn.relative_position_bias_table.shape == (17 * 17, 24)
    with torch.no_grad():
        assert torch.isfinite(model(torch.randn(1, 3, 288, 288))).all()


# ----------------------------------------------------------------------------------------------------------
# timm contract

@pytest.mark.slow
def test_features_agent_swin_b_m_stage():
    """Agent-Swin-B's "M2" stage (two agent blocks, then shifted window blocks) at a non-multiple size."""
    check_features("agent_swin_b", sizes=((200, 333),))


def test_backends_agree():
    """Agent-Swin-T at 256x320: its window blocks pad 8x10 to 14x14 and shift along the longer axis."""
    check_backends_agree("agent_swin_t", size=(3, 256, 320))


# ----------------------------------------------------------------------------------------------------------
# dense path

def test_default_size_features_are_the_classification_path():
    """At the default size the dense rules (bias resampling, padding) change nothing: the last stage of
    forward_intermediates, normed, is forward_features."""
    check_default_size_features("agent_swin_t")


def test_agent_shapes_resample_the_agent_grid():
    """agent_shapes (the official detection configs' downstream_agent_shapes, e.g. 9-12-14-7) pools more agents
    and resamples the biases over the agent grid; the trained parameters keep their shapes."""
    base = timm.create_model("agent_pvt_t").eval()
    more = timm.create_model("agent_pvt_t", agent_shapes=[(9, 9), (12, 12), (14, 14), (7, 7)]).eval()
    more.load_state_dict(base.state_dict())
    x = torch.randn(1, 3, 160, 192)
    with torch.no_grad():
        feats = more.forward_intermediates(x, intermediates_only=True)
        ak, qa = more.block1[0].attn.agent_bias((40, 48), (40, 48), (9, 9))
    assert ak.shape == (1, 81, 40 * 48) and qa.shape == (1, 40 * 48, 81)
    assert [tuple(f.shape[-2:]) for f in feats] == [(40, 48), (20, 24), (10, 12), (5, 6)]


def test_deit_levels_are_resampled_blocks():
    """Agent-DeiT's four levels: blocks 2, 5, 8, 11 (tokens of the padded 13x21 grid for 200x333) resampled
    bilinearly x4 and x2, kept, max-pooled; cropped to ceil(size / stride)."""
    model = timm.create_model("agent_deit_t").eval()
    assert [i["module"] for i in model.feature_info] == ["blocks.2", "blocks.5", "blocks.8", "blocks.11"]
    x = torch.randn(1, 3, 200, 333)
    with torch.no_grad():
        feats = model.forward_intermediates(x, intermediates_only=True)
        tokens, grid = model.embed(x)
        for blk in model.blocks[:3]:
            tokens = blk(tokens, grid)
    assert grid == (13, 21)
    assert [tuple(f.shape[-2:]) for f in feats] == [(50, 84), (25, 42), (13, 21), (7, 11)]
    level0 = torch.nn.functional.interpolate(tokens[:, 1:].transpose(1, 2).reshape(1, 192, 13, 21), scale_factor=4,
                                             mode="bilinear", align_corners=False)[:, :, :50, :84]
    torch.testing.assert_close(feats[0], level0)


def test_spec_counts_match_official_sizes():
    """The readme's parameter counts (M) of the official variants, against the specs this file checks."""
    readme = {"agent_swin_t": 29, "agent_swin_s": 50, "agent_swin_b": 88, "agent_pvt_tiny": 11.6,
              "agent_pvt_small": 20.6, "agent_pvt_medium": 35.9, "agent_pvt_large": 48.7, "agent_deit_tiny": 6.0,
              "agent_deit_small": 22.7, "agent_deit_base": 87.2}
    for official, millions in readme.items():
        assert abs(spec(official)["params"] / 1e6 - millions) < 0.6, official
