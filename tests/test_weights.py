"""Getting weights: failed downloads that explain themselves within seconds, cached copies used offline, one
reading path (timm, the training engine, the mm backbone) for every official container."""
import sys
import time
import urllib.error
from pathlib import Path

import pytest
import timm
import torch

import visionattn  # noqa: F401
import visionattn.checkpoint as ckpt
from visionattn.checkpoint import PretrainedUnavailableError

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures" / "parity"))
from weights import official_state_dict  # noqa: E402
from _model_checks import save_training_checkpoint  # noqa: E402

ONE_PER_FAMILY = ["biformer_t", "agent_swin_t", "agent_pvt_t", "agent_deit_t", "litv2_s", "transnext_micro",
                  "va_shvit_s1", "va_swin_tiny_patch4_window7_224", "va_convit_tiny", "va_halonet26t"]


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No network and empty caches, whatever the machine has."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr(ckpt, "unreachable", lambda host, timeout=3.0: "OSError: no network (test)")
    monkeypatch.setattr(ckpt, "cached_weights", lambda source: None)


@pytest.mark.parametrize("name", ONE_PER_FAMILY)
def test_without_network_pretrained_fails_at_once_saying_what_to_do(name, offline):
    cfg = timm.models.get_pretrained_cfg(name).to_dict()
    start = time.perf_counter()
    with pytest.raises(PretrainedUnavailableError) as err:
        timm.create_model(name, pretrained=True)
    assert time.perf_counter() - start < 5
    msg = str(err.value)
    kind, where = ckpt.weights_source(cfg)
    file_name = where[1] or "model.safetensors"
    assert msg.startswith(f"{name} (pretrained tag {cfg['tag']!r}): could not get its weights from")
    assert (where[0] in msg) and "no network (test)" in msg and repr(file_name) in msg
    assert f"pretrained_cfg_overlay=dict(file='/path/to/{file_name}')" in msg and "model.pretrained=FILE" in msg
    assert ("HF_HUB_OFFLINE=1" in msg) if kind == "hf-hub" else ("hub/checkpoints" in msg)
    if cfg.get("origin_url"):
        assert f"The official release is listed at {cfg['origin_url']}" in msg


def test_biformer_error_points_at_the_official_onedrive_folder(offline):
    with pytest.raises(PretrainedUnavailableError, match=r"(?s)issue #53.*1drv.ms/u/s!AkBbczdRlZvChGsXFqAA-PVnA-R8.*"
                                                         r"biformer_small_best.pth"):
        timm.create_model("biformer_s", pretrained=True)


def test_http_and_hub_failures_are_explained(monkeypatch, tmp_path):
    import timm.models._builder as tb
    import timm.models._hub as hub
    from huggingface_hub.errors import LocalEntryNotFoundError
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr(ckpt, "unreachable", lambda host, timeout=3.0: None)     # the host answers, the file fails

    def http_404(url, *args, **kwargs):
        raise urllib.error.HTTPError(str(url), 404, "Not Found", None, None)

    monkeypatch.setattr(ckpt, "cached_weights", lambda source: None)
    monkeypatch.setattr(hub, "download_cached_file", http_404)     # every URL release goes through our downloader
    for name in ("litv2_s", "agent_swin_t"):   # timm's plain URL loader; the custom_load families
        with pytest.raises(PretrainedUnavailableError, match="HTTPError: HTTP Error 404: Not Found"):
            timm.create_model(name, pretrained=True)

    def hub_miss(*args, **kwargs):
        raise LocalEntryNotFoundError("not in the cache")

    monkeypatch.setattr(tb, "load_state_dict_from_hf", hub_miss)
    with pytest.raises(PretrainedUnavailableError, match="LocalEntryNotFoundError: not in the cache"):
        timm.create_model("va_shvit_s1", pretrained=True)


def test_a_cached_copy_loads_offline(monkeypatch, tmp_path):
    """A file placed in the torch hub cache under the cfg's file name is used without the network."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr(ckpt, "unreachable", lambda host, timeout=3.0: "OSError: no network (test)")
    cache = tmp_path / "torch" / "hub" / "checkpoints"
    cache.mkdir(parents=True)
    sd = official_state_dict("biformer_tiny")
    torch.save({"model": sd}, cache / "biformer_tiny_in1k.pth")
    model = timm.create_model("biformer_t", pretrained=True)
    assert torch.equal(model.stages[2][3].attn.qkv.qkv.weight, sd["stages.2.3.attn.qkv.qkv.weight"])


def test_a_missing_local_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="biformer_t: pretrained file .*nothing.pth' does not exist"):
        timm.create_model("biformer_t", pretrained=True, pretrained_cfg_overlay=dict(file=str(tmp_path / "nothing.pth")))


# ----------------------------------------------------------------------------------------------------------
# one reading path for every official container

CONTAINERS = {
    "yacs": None,                                                  # built by save_training_checkpoint
    "ddp": lambda sd: {"model": {f"module.{k}": v for k, v in sd.items()}},
    "ema_only": lambda sd: {"state_dict_ema": sd, "epoch": 3},
    "bare": lambda sd: sd,
}


@pytest.mark.parametrize("container", list(CONTAINERS))
def test_official_containers_load_through_timm_the_engine_and_the_mm_backbone(container, monkeypatch, tmp_path):
    from visionattn.train.engine import create_model
    sd = official_state_dict("agent_deit_tiny")
    path = tmp_path / "agent_deit_t_max_acc.pth"
    if container == "yacs":
        save_training_checkpoint(path, tmp_path, monkeypatch, "agent_deit", model=sd, optimizer={"state": {}},
                                 epoch=300)
    else:
        torch.save(CONTAINERS[container](sd), path)
    key = "blocks.5.attn.ca_bias"
    via_timm = timm.create_model("agent_deit_t", pretrained=True, pretrained_cfg_overlay=dict(file=str(path),
                                                                                              custom_load=True))
    via_engine = create_model(dict(name="agent_deit_t", pretrained=str(path), pretrained_strict=True, kwargs={},
                                   drop_rate=0.0, drop_path_rate=0.0), classes=10)
    assert torch.equal(via_timm.state_dict()[key], sd[key]) and torch.equal(via_engine.state_dict()[key], sd[key])
    pytest.importorskip("mmdet")
    from visionattn.mm import VisionAttnBackbone
    backbone = VisionAttnBackbone("agent_deit_t", init_cfg=dict(type="Pretrained", checkpoint=str(path)))
    backbone.init_weights()
    assert torch.equal(backbone.net.state_dict()[key], sd[key])


def test_mm_urls_are_cached_under_the_release_file_name(monkeypatch, tmp_path):
    """Before: Tsinghua Cloud links raised IsADirectoryError (no file name in the URL) and BiFormer's three
    URLs all cached to checkpoints/content."""
    pytest.importorskip("mmdet")
    import timm.models._hub as tm
    from visionattn.mm import VisionAttnBackbone
    monkeypatch.setattr(ckpt, "unreachable", lambda host, timeout=3.0: None)
    monkeypatch.setattr(ckpt, "cached_weights", lambda source: None)
    asked = []
    monkeypatch.setattr(tm, "download_cached_file", lambda url, check_hash=True: asked.append(url) or "x.pth")
    biformer_url = timm.models.get_pretrained_cfg("biformer_t").url[0]
    other = "https://cloud.tsinghua.edu.cn/f/0123456789abcdef/?dl=1"
    for name, url in (("biformer_t", biformer_url), ("biformer_t", other), ("agent_swin_t", other + "&x=1")):
        VisionAttnBackbone(name, init_cfg=dict(type="Pretrained", checkpoint=url)).weights_file()
    assert asked[0] == (biformer_url, "biformer_tiny_in1k.pth")
    assert asked[1][0] == other and asked[1][1].endswith("-weights") and asked[2][1] != asked[1][1]


# ----------------------------------------------------------------------------------------------------------
# verified files: hash-prefixed names are checked, converted files mirror a release

def test_a_hash_prefixed_file_name_is_checked_on_download(monkeypatch, tmp_path):
    """timm's hash-prefix file names (name-<sha256 prefix>.ext) are verified; a mirror may be a file:// URL."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    mirror = tmp_path / "mirror" / "weights.pth"
    mirror.parent.mkdir()
    torch.save({"model": official_state_dict("biformer_tiny")}, mirror)
    digest = ckpt.sha256_of(mirror)
    cache = tmp_path / "torch" / "hub" / "checkpoints"

    def create(prefix):
        url = (mirror.as_uri(), f"biformer_tiny_in1k-{prefix}.pth")
        return timm.create_model("biformer_t", pretrained=True, pretrained_cfg_overlay=dict(url=url, hf_hub_id=None))

    wrong = "0" * 8 if not digest.startswith("0" * 8) else "1" * 8
    with pytest.raises(PretrainedUnavailableError, match=f"(?s)invalid hash value.*{wrong}.*biformer_tiny_in1k-{wrong}"):
        create(wrong)
    assert not cache.exists() or not any(cache.iterdir())   # nothing half-verified is left in the cache
    model = create(digest[:8])
    assert (cache / f"biformer_tiny_in1k-{digest[:8]}.pth").is_file()
    key = "stages.2.3.attn.qkv.qkv.weight"
    assert torch.equal(model.state_dict()[key], official_state_dict("biformer_tiny")[key])


def _convert_tool():
    import importlib.util
    spec = importlib.util.spec_from_file_location("convert_checkpoint", ROOT / "tools" / "convert_checkpoint.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ROOT = Path(__file__).resolve().parents[1]
# parity fixture (official layout) -> model
FIXTURE_MODELS = {"agent_cswin_t": "agent_cswin_t", "agent_deit_tiny": "agent_deit_t", "agent_pvt_tiny": "agent_pvt_t",
                  "agent_swin_t": "agent_swin_t", "biformer_tiny": "biformer_t", "convit_tiny": "va_convit_tiny",
                  "litv2_s": "litv2_s", "shvit_s1": "va_shvit_s1", "transnext_micro": "transnext_micro"}


@pytest.mark.parametrize("fixture", list(FIXTURE_MODELS))
def test_converted_file_mirrors_the_release(fixture, tmp_path, capsys):
    """tools/convert_checkpoint.py: official file -> safetensors in the model's layout with its sha256 printed;
    the output loads through a file overlay exactly as the official file does."""
    name = FIXTURE_MODELS[fixture]
    official = tmp_path / f"{fixture}.pth"
    torch.save({"model": official_state_dict(fixture), "epoch": 300}, official)
    out = tmp_path / f"{name}.safetensors"
    tool = _convert_tool()
    assert tool.main([name, str(official), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"{out}: sha256 {ckpt.sha256_of(out)}" in printed and ckpt.sha256_of(official) in printed
    from safetensors import safe_open
    with safe_open(str(out), "pt") as f:
        assert f.metadata()["model"] == name and f.metadata()["source_sha256"] == ckpt.sha256_of(official)
    reference = timm.create_model(name, pretrained=True, pretrained_cfg_overlay=dict(file=str(official),
                                                                                     custom_load=True))
    mirrored = timm.create_model(name, pretrained=True, pretrained_cfg_overlay=dict(file=str(out)))
    expected, got = reference.state_dict(), mirrored.state_dict()
    assert expected.keys() == got.keys() and all(torch.equal(expected[k], got[k]) for k in expected)


def test_convert_refuses_what_it_cannot_do_faithfully(tmp_path, capsys):
    tool = _convert_tool()
    official = tmp_path / "agent_deit_t.pth"
    torch.save({"model": official_state_dict("agent_deit_tiny")}, official)
    out = tmp_path / "out.safetensors"
    assert tool.main(["agent_pvt_t", str(official), "--out", str(out)]) == 2     # another variant's file
    assert "does not fit" in capsys.readouterr().err and not out.exists()
    assert tool.main(["agent_deit_t", str(official), "--out", str(out), "--ema"]) == 2
    assert "holds no EMA weights" in capsys.readouterr().err
    assert tool.main(["agent_deit_t", str(official), "--out", str(tmp_path / "out.pth")]) == 2
    assert tool.main(["agent_deit_t", str(tmp_path / "missing.pth"), "--out", str(out)]) == 2
    assert "missing.pth" in capsys.readouterr().err
    assert tool.main(["agent_deit_t", str(official), "--out", str(out)]) == 0
    assert tool.main(["agent_deit_t", str(official), "--out", str(out)]) == 2     # no silent overwrite
    assert "--overwrite" in capsys.readouterr().err
    assert tool.main(["agent_deit_t", str(official), "--out", str(out), "--overwrite"]) == 0


def test_ema_weights_are_taken_on_request(tmp_path):
    sd = official_state_dict("agent_deit_tiny")
    ema = {k: v + 1 if v.is_floating_point() else v for k, v in sd.items()}
    official = tmp_path / "both.pth"
    torch.save({"model": sd, "model_ema": ema}, official)
    tool = _convert_tool()
    for flag, expected in (([], sd), (["--ema"], ema)):
        out = tmp_path / f"out{len(flag)}.safetensors"
        assert tool.main(["agent_deit_t", str(official), "--out", str(out)] + flag) == 0
        from safetensors.torch import load_file
        assert torch.equal(load_file(str(out))["blocks.5.attn.ca_bias"], expected["blocks.5.attn.ca_bias"])


def test_a_hub_mirror_loads_offline(monkeypatch, tmp_path):
    """A lab's hub mirror of a converted file (hf_hub_id overlay), read from the hub cache with HF_HUB_OFFLINE."""
    from huggingface_hub import constants
    cache = tmp_path / "hub"
    snapshot = cache / "models--lab--biformer_t" / "snapshots" / ("a" * 40)
    snapshot.mkdir(parents=True)
    (cache / "models--lab--biformer_t" / "refs").mkdir()
    (cache / "models--lab--biformer_t" / "refs" / "main").write_text("a" * 40)
    official = tmp_path / "biformer_tiny_in1k.pth"
    torch.save({"model": official_state_dict("biformer_tiny")}, official)
    assert _convert_tool().main(["biformer_t", str(official), "--out", str(snapshot / "model.safetensors")]) == 0
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    model = timm.create_model("biformer_t", pretrained=True, pretrained_cfg_overlay=dict(hf_hub_id="lab/biformer_t"))
    key = "stages.2.3.attn.qkv.qkv.weight"
    assert torch.equal(model.state_dict()[key], official_state_dict("biformer_tiny")[key])
