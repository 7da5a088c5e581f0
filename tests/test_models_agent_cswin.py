"""Agent-CSwin (agent_cswin_*): official checkpoints and outputs, the release containers, the 384 model, other sizes,
and the cross-shaped attention layer's stripe rule (the model contract runs in tests/test_model_contract.py)."""
import pytest
import timm
import torch
import torch.nn.functional as F

import visionattn.layers as L
from _model_checks import (
    check_backends_agree, check_default_size_features, check_features, check_parity, check_spec_keys,
    official_state_dict, save_training_checkpoint, spec,
)
from visionattn.models import agent_cswin

OFFICIAL = {"agent_cswin_t": "agent_cswin_t", "agent_cswin_s": "agent_cswin_s", "agent_cswin_b": "agent_cswin_b",
            "agent_cswin_b.in1k_384": "agent_cswin_b_384"}
SLOW = {"agent_cswin_s", "agent_cswin_b", "agent_cswin_b.in1k_384"}


# ----------------------------------------------------------------------------------------------------------
# official checkpoints and outputs

@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n for n in OFFICIAL])
def test_spec_keys(name):
    """Keys, shapes and parameter counts of the four releases (the 384 one through its tag, built at 384)."""
    check_spec_keys(name, OFFICIAL[name], agent_cswin.checkpoint_filter_fn)


@pytest.mark.parametrize("backend", ["reference", "torch", pytest.param("triton", marks=pytest.mark.slow)])
def test_parity_official_logits(backend, tmp_path):
    check_parity("agent_cswin_t", "agent_cswin_t", tmp_path, backend=backend,
                 images=1 if backend == "triton" else None)


def test_bare_official_state_dict_loads(tmp_path):
    check_parity("agent_cswin_t", "agent_cswin_t", tmp_path, backend="torch", wrap=False)


def test_official_ema_training_checkpoint(tmp_path, monkeypatch):
    """The official main_ema.py saves {'model', 'optimizer', ..., 'config' (yacs), 'state_dict_ema'}: it loads
    without yacs through pretrained=True, taking 'model' (the project's rule, visionattn.checkpoint.unwrap_checkpoint),
    whether the overlay says custom_load or not (one reading path: before, a plain file overlay went through timm's
    loader, which refused the yacs config and preferred 'state_dict_ema'); a file holding only 'state_dict_ema'
    loads the EMA weights."""
    sd = official_state_dict("agent_cswin_t")
    ema = {k: v + 0.01 for k, v in sd.items()}
    key, own_key = "stage1.1.attns.0.an_bias", "stage1.1.attn.attns.0.an_bias"
    path = tmp_path / "agent_cswin_t_max_acc.pth"
    save_training_checkpoint(path, tmp_path, monkeypatch, "Agent_CSWin_64_24181_tiny_224", model=sd,
                             optimizer={"state": {}}, max_accuracy=83.0, max_accuracy_e=83.1, epoch=309,
                             state_dict_ema=ema)
    for overlay in (dict(file=str(path), custom_load=True), dict(file=str(path))):
        model = timm.create_model("agent_cswin_t", pretrained=True, pretrained_cfg_overlay=overlay)
        assert torch.equal(model.get_parameter(own_key), sd[key])

    ema_only = tmp_path / "agent_cswin_t_ema.pth"
    torch.save({"state_dict_ema": ema, "epoch": 309}, ema_only)
    model = timm.create_model("agent_cswin_t", pretrained=True,
                              pretrained_cfg_overlay=dict(file=str(ema_only), custom_load=True))
    assert torch.equal(model.get_parameter(own_key), ema[key])

    both = tmp_path / "agent_cswin_t_both.pth"
    torch.save({"model": sd, "state_dict_ema": ema}, both)
    model = timm.create_model("agent_cswin_t", pretrained=True, pretrained_cfg_overlay=dict(file=str(both)))
    assert torch.equal(model.get_parameter(own_key), sd[key])


def test_default_cfgs_name_every_release():
    assert timm.list_models("agent_cswin_*") == ["agent_cswin_b", "agent_cswin_s", "agent_cswin_t"]
    assert timm.list_pretrained("agent_cswin_b.*") == ["agent_cswin_b.in1k", "agent_cswin_b.in1k_384"]
    links = {"agent_cswin_t.in1k": "8c562a74441e46d5902b", "agent_cswin_s.in1k": "30eb8af675bc4b7a8747",
             "agent_cswin_b.in1k": "c8035b0839b2410c8c9f", "agent_cswin_b.in1k_384": "1239be0df44b47719432"}
    for tag, link in links.items():
        cfg = timm.models.get_pretrained_cfg(tag).to_dict()
        assert cfg["url"] == (f"https://cloud.tsinghua.edu.cn/f/{link}/?dl=1",
                              tag.split(".")[0] + ("_384" if tag.endswith("384") else "") + "_max_acc.pth")
        assert cfg["custom_load"] and cfg["fixed_input_size"] and cfg["classifier"] == "head.fc"
        assert cfg["first_conv"] == "stage1_conv_embed.0"
        assert cfg["crop_pct"] == 0.875     # the official eval crops at 384 too (TEST.CROP stays True)
    assert timm.models.get_pretrained_cfg("agent_cswin_b.in1k_384").pool_size == (12, 12)


@pytest.mark.slow
def test_384_tag_builds_at_its_size():
    """Agent_CSWin_96_36292_base_384: la_split 96-48-24-12 (whole-map agent blocks on the 96 / 48 maps), stripes
    of 12 in stage 3."""
    model = timm.create_model("agent_cswin_b.in1k_384")
    sd = model.state_dict()
    assert tuple(sd["stage1.0.attn.attns.0.ah_bias"].shape) == (1, 4, 9, 96, 1)
    assert tuple(sd["stage2.5.attn.attns.0.wa_bias"].shape) == (1, 8, 1, 48, 16)
    assert model.stage3[0].attn.split_size == 12 and len(model.stage3[0].attn.attns) == 2
    assert model.stage4[1].attn.split_size is None


def test_checkpoint_resized_to_another_size(tmp_path):
    """224 weights into a model configured for 288: the ah / aw / ha / wa biases resampled linearly along their
    map axis (the official fine-tuning loader), everything else as saved; the model runs at 288."""
    sd = official_state_dict("agent_cswin_t")
    path = tmp_path / "agent_cswin_t.pth"
    torch.save({"model": sd}, path)
    model = timm.create_model("agent_cswin_t", img_size=288, pretrained=True,
                              pretrained_cfg_overlay=dict(file=str(path))).eval()
    attn = model.stage1[0].attn.attns[0]
    assert attn.ah_bias.shape == (1, 2, 9, 72, 1) and attn.wa_bias.shape == (1, 2, 1, 72, 9)
    assert model.stage2[0].attn.attns[0].ha_bias.shape == (1, 4, 36, 1, 16)
    assert model.stage3[0].attn.split_size == 9       # 288 // 32
    expected = F.interpolate(sd["stage1.0.attns.0.ah_bias"].reshape(-1, 1, 56), size=72, mode="linear",
                             align_corners=False).reshape(1, 2, 9, 72, 1)
    torch.testing.assert_close(attn.ah_bias.detach(), expected)
    assert torch.equal(attn.an_bias, sd["stage1.0.attns.0.an_bias"])
    with torch.no_grad():
        assert torch.isfinite(model(torch.randn(1, 3, 288, 288))).all()


def test_spec_counts_match_official_sizes():
    """The readme's parameter counts (M) against the specs."""
    readme = {"agent_cswin_t": 21, "agent_cswin_s": 33, "agent_cswin_b": 73, "agent_cswin_b_384": 73}
    for official, millions in readme.items():
        assert abs(spec(official)["params"] / 1e6 - millions) < 0.6, official


# ----------------------------------------------------------------------------------------------------------
# dense path

def test_features_at_a_non_multiple_size():
    """Stem floor((H - 3) / 4) + 1, merges ceil(H / 2): 200x333 -> 50x83, 25x42, 13x21, 7x11 (stage 3's stripes
    of 7 pad 21 to 28 columns and 13 to 14 rows)."""
    check_features("agent_cswin_t", sizes=((200, 333),))
    model = timm.create_model("agent_cswin_t").eval()
    with torch.no_grad():
        feats = model.forward_intermediates(torch.randn(1, 3, 200, 333), intermediates_only=True)
    assert [tuple(f.shape[-2:]) for f in feats] == [(50, 83), (25, 42), (13, 21), (7, 11)]


def test_backends_agree():
    """Agent-CSwin-T at 200x264: stage 3 (13x17) pads its stripes along both split axes."""
    check_backends_agree("agent_cswin_t", size=(3, 200, 264))


def test_default_size_features_are_the_classification_path():
    check_default_size_features("agent_cswin_t")


def test_non_released_layouts_build_and_run():
    """Agent stripes (la_split_size below the stage map: two branches, biases shaped per stripe), an "M" stage
    (agent blocks, then LePE blocks) and other agent grids, at a size that pads the stripes."""
    model = timm.create_model("agent_cswin_t", la_split_size=(28, 14, 7, 7), attn_type="AMBB1").eval()
    first = model.stage1[0].attn
    assert first.split_size == 28 and len(first.attns) == 2
    assert first.attns[0].ah_bias.shape == (1, 1, 9, 56, 1) and first.attns[0].aw_bias.shape == (1, 1, 9, 1, 28)
    assert first.attns[1].ha_bias.shape == (1, 1, 28, 1, 9) and first.attns[1].wa_bias.shape == (1, 1, 1, 56, 9)
    assert [b.attn.attn_type for b in model.stage2] == ["A", "B", "B", "B"]
    check_features("agent_cswin_t", sizes=((200, 333),), la_split_size=(28, 14, 7, 7), attn_type="AMBB1",
                   agent_shapes=[(4, 4), None, None, None])


@pytest.mark.parametrize("attn_type", ["A", "B"])
def test_stripes_of_a_non_multiple_map_are_centered(attn_type):
    """A token reaches, through the vertical-stripe heads, the tokens of its column stripe and, through the
    horizontal-stripe heads, those of its row stripe; on a 10x13 map with stripes of 3 the padding (2 rows, 2
    columns) is split evenly, so the stripes start one row / column before the map: rows / columns [-1, 2),
    [2, 5), ... (not [0, 3), [3, 6), ... as bottom / right padding would give)."""
    layer = L.CSWinAttention(32, 2, split_size=3, attn_type=attn_type, bias_grid=(8, 8), agent_num=4).eval()
    x = torch.randn(1, 10, 13, 32)
    moved = x.clone()
    moved[0, 4, 2] += 1.0
    with torch.no_grad():
        changed = (layer(moved) - layer(x)).abs().amax(-1)[0] > 1e-6
    rows, cols = torch.arange(10)[:, None], torch.arange(13)[None, :]
    expected = ((rows >= 2) & (rows < 5)) | ((cols >= 2) & (cols < 5))
    assert torch.equal(changed, expected)


def test_whole_map_agent_branch_resamples_its_biases():
    """A whole-map agent branch at any map size: the 7x7 tables and the row / column tables (trained on the 8x8
    map) resampled bilinearly to the map; at 8x8 the row / column tables are used as they are."""
    layer = L.CSWinAttention(32, 2, attn_type="A", bias_grid=(8, 8), agent_num=4)
    branch = layer.attns[0]
    rows_cols = (branch.ah_bias + branch.aw_bias)[0]                      # (heads, agents, 8, 8)
    for size in ((8, 8), (5, 11)):
        ak, qa = branch.agent_bias(size, size)
        table = F.interpolate(branch.an_bias, size=size, mode="bilinear", align_corners=False)
        if size != (8, 8):
            rows_cols = F.interpolate(rows_cols, size=size, mode="bilinear", align_corners=False)
        torch.testing.assert_close(ak, (table + rows_cols).flatten(2))
        assert qa.shape == (2, size[0] * size[1], 4)
    assert layer(torch.randn(2, 5, 11, 32)).shape == (2, 5, 11, 32)


@pytest.mark.parametrize("kwargs, message", [
    (dict(dim=32, num_heads=3), "dim 32 must be divisible by num_heads 3"),
    (dict(dim=32, num_heads=1, split_size=3), "num_heads must be even, got 1"),
    (dict(dim=32, num_heads=2, attn_type="C"), "unknown attn_type 'C'"),
    (dict(dim=32, num_heads=2, attn_type="A"), "needs bias_grid"),
    (dict(dim=32, num_heads=2, attn_type="A", bias_grid=(8, 8), agent_num=8), "agent_num must be a square"),
])
def test_layer_configuration_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        L.CSWinAttention(**kwargs)
