"""mmdet / mmseg integration: every dense config builds and runs, each family trains and evaluates on the
embedded digit scenes, mmengine checkpoints resume, official checkpoints load through init_cfg."""
import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest
import timm
import torch
from mmengine.config import Config

import visionattn.mm  # noqa: F401  (registers VisionAttnBackbone, makes mmengine checkpoints loadable)
from visionattn.data.digit_scenes import ensure as ensure_digit_scenes
from visionattn.mm import VisionAttnBackbone
from visionattn.mm.runner import own_visualizer

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[1]
# the released checkpoints' configs (configs/*/<family>/released/) are tested in test_dense_releases.py
CONFIGS = sorted(p for task in ("detection", "segmentation") for p in (ROOT / "configs" / task).rglob("*.py")
                 if "_base_" not in p.parts and "released" not in p.parts)
DET_SCENES = ROOT / "configs/detection/_base_/digit_scenes_instance.py"
SEG_SCENES = ROOT / "configs/segmentation/_base_/digit_scenes_semantic.py"
DEMO_DET = ROOT / "configs/detection/digit_scenes/mask-rcnn_va-swin-mini_digit-scenes.py"
DEMO_SEG = ROOT / "configs/segmentation/digit_scenes/upernet_va-swin-mini_digit-scenes.py"


@pytest.fixture(scope="module")
def scenes(tmp_path_factory):
    """A small digit-scenes dataset (generated, no download)."""
    out = tmp_path_factory.mktemp("digit_scenes")
    return Path(ensure_digit_scenes(str(out), num_train=4, num_val=2, size=128))


def _rel(path):
    return str(path.relative_to(ROOT / "configs"))


def _task(path):
    return "detection" if "detection" in path.parts else "segmentation"


def _build(cfg):
    from mmengine.registry import init_default_scope
    init_default_scope(cfg.default_scope)
    registry = __import__(f"{cfg.default_scope}.registry", fromlist=["MODELS"]).MODELS
    return registry.build(cfg.model)


def _fake_batch(task, h, w):
    img = torch.randint(0, 255, (3, h, w), dtype=torch.uint8)
    meta = dict(img_shape=(h, w), ori_shape=(h, w), pad_shape=(h, w), scale_factor=(1.0, 1.0), img_id=0,
                img_path="x.png")
    if task == "detection":
        from mmdet.structures import DetDataSample
        sample = DetDataSample(metainfo=meta)
    else:
        from mmseg.structures import SegDataSample
        sample = SegDataSample(metainfo=meta)
    return dict(inputs=[img], data_samples=[sample])


def _no_download(cfg):
    cfg.model.backbone.pop("init_cfg", None)
    return cfg


# ----------------------------------------------------------------------------------------------------------
# every config

ALL_FAMILIES = {"biformer", "agent", "litv2", "transnext", "shvit", "swin", "halonet", "convit"}
FAMILIES = sorted({p.parent.name for p in CONFIGS} - {"digit_scenes"})


def test_config_folders_are_families_with_detection_and_segmentation():
    assert set(FAMILIES) == ALL_FAMILIES, f"unknown: {set(FAMILIES) - ALL_FAMILIES}, " \
                                          f"without configs: {ALL_FAMILIES - set(FAMILIES)}"
    for family in FAMILIES:
        tasks = {_task(p) for p in CONFIGS if p.parent.name == family}
        assert tasks == {"detection", "segmentation"}, f"{family}: only {tasks}"


@pytest.mark.parametrize("path", CONFIGS, ids=_rel)
def test_config_builds_and_runs_forward(path):
    """The model of every config builds (its backbone, neck and heads agree on channels) and predicts on a
    small non-square image; the header names the paper table it reproduces."""
    header = path.read_text().split("\n_base_")[0]
    assert "Table" in header or "No paper number" in header, "config header must cite the paper table"
    cfg = _no_download(Config.fromfile(str(path)))
    model = _build(cfg).eval()
    # DETR-style detectors pick their num_queries (900) best tokens: the image must have that many
    h, w = (200, 280) if cfg.model.get("num_queries") else (100, 140)
    with torch.no_grad():
        out = model.test_step(_fake_batch(_task(path), h, w))
    assert len(out) == 1
    if _task(path) == "detection":
        assert out[0].pred_instances.bboxes.shape[-1] == 4
    else:
        assert out[0].pred_sem_seg.data.shape[-2:] == (h, w)


# ----------------------------------------------------------------------------------------------------------
# per family: 2 iterations on digit scenes, then evaluation


def on_digit_scenes(cfg, scenes, work_dir, iters=2):
    """The config's model, optimizer and hooks; the digit-scenes data, classes and a 2-iteration schedule."""
    task = "detection" if cfg.default_scope == "mmdet" else "segmentation"
    data = Config.fromfile(str(DET_SCENES if task == "detection" else SEG_SCENES))
    cfg = copy.deepcopy(cfg)
    for key in ("train_dataloader", "val_dataloader", "test_dataloader", "val_evaluator", "test_evaluator"):
        cfg[key] = copy.deepcopy(data[key])
    for key in ("train_dataloader", "val_dataloader", "test_dataloader"):
        cfg[key].dataset.data_root = str(scenes) + "/"
        cfg[key].batch_size = 2
    for key in ("val_evaluator", "test_evaluator"):
        if "ann_file" in cfg[key]:
            cfg[key].ann_file = str(scenes / "val.json")
    if task == "detection":
        heads = [cfg.model.roi_head.bbox_head, cfg.model.roi_head.mask_head] if "roi_head" in cfg.model \
            else [cfg.model.bbox_head]
        for head in heads:
            head.num_classes = 10
    else:
        cfg.model.data_preprocessor.size = data.crop_size
        for head in (cfg.model.decode_head, cfg.model.get("auxiliary_head")):
            if head:
                head.num_classes = 11
    cfg.train_cfg = dict(type="IterBasedTrainLoop", max_iters=iters, val_interval=iters)
    cfg.param_scheduler = []
    cfg.default_hooks.checkpoint = dict(type="CheckpointHook", by_epoch=False, interval=iters)
    cfg.default_hooks.logger = dict(type="LoggerHook", interval=1)
    cfg.work_dir = str(work_dir)
    cfg.pop("auto_scale_lr", None)
    return _no_download(own_visualizer(cfg))


SIZE_ORDER = ["micro", "t", "tiny", "s", "small", "m", "b", "base", "l", "large"]


def _size_rank(model_name):
    """Official size words in a variant name (biformer_t < biformer_s, va_swin_tiny_... < va_swin_base_...)."""
    ranks = [SIZE_ORDER.index(t) for t in model_name.split("_") if t in SIZE_ORDER]
    return ranks[0] if ranks else len(SIZE_ORDER)


def _smallest(family, task, prefix):
    """The family's config of this kind with the smallest backbone (quickest to train; a CNN head before
    Mask2Former's transformer decoder)."""
    hits = [p for p in CONFIGS if p.parent.name == family and _task(p) == task and p.name.startswith(prefix)]
    assert hits, f"no {task} config for {family} starting with {prefix!r}"
    return min(hits, key=lambda p: (_size_rank(Config.fromfile(str(p)).model.backbone.model_name),
                                    p.name.startswith("mask2former"), p.name))


@pytest.mark.parametrize("family", FAMILIES)
def test_family_trains_and_evaluates_on_digit_scenes(family, scenes, tmp_path):
    from mmengine.runner import Runner
    results = {}
    for task, prefix in (("detection", "mask-rcnn"), ("segmentation", "")):
        cfg = on_digit_scenes(Config.fromfile(str(_smallest(family, task, prefix))), scenes, tmp_path / task)
        runner = Runner.from_cfg(cfg)
        runner.train()
        results[task] = runner.val_loop.run()
    assert {"coco/bbox_mAP", "coco/segm_mAP"} <= set(results["detection"])
    assert "mIoU" in results["segmentation"]


# ----------------------------------------------------------------------------------------------------------
# entry points, checkpoints, resume

def _tool(name, *args):
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / name), *map(str, args)], capture_output=True,
                          text=True, cwd=ROOT)
    if proc.returncode != 0:
        raise AssertionError(f"{name} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


def test_train_resume_and_test_through_the_tools(scenes, tmp_path):
    """tools/train.py runs the demo config on mmengine's Runner, saves mmengine checkpoints, resumes from them
    on torch 2.14 (weights_only loading), and tools/test.py evaluates the result."""
    small = ["train_dataloader.dataset.data_root=" + str(scenes) + "/",
             "val_dataloader.dataset.data_root=" + str(scenes) + "/",
             "test_dataloader.dataset.data_root=" + str(scenes) + "/",
             "val_evaluator.ann_file=" + str(scenes / "val.json"),
             "test_evaluator.ann_file=" + str(scenes / "val.json"),
             "default_hooks.checkpoint.interval=1", "train_cfg.val_interval=2"]
    _tool("train.py", DEMO_DET, "--work-dir", tmp_path, "--cfg-options", "train_cfg.max_epochs=1", *small)
    assert (tmp_path / "epoch_1.pth").is_file()
    _tool("train.py", DEMO_DET, "--work-dir", tmp_path, "--resume", "--cfg-options", "train_cfg.max_epochs=2",
          *small)
    logs = "".join(p.read_text() for p in tmp_path.rglob("*.log"))
    assert "resumed epoch: 1" in logs.lower() or "Load checkpoint from" in logs, logs[-2000:]
    assert (tmp_path / "epoch_2.pth").is_file()
    ckpt = torch.load(tmp_path / "epoch_2.pth", map_location="cpu")   # torch's weights_only default
    assert ckpt["meta"]["epoch"] == 2
    _tool("test.py", DEMO_DET, tmp_path / "epoch_2.pth", "--work-dir", tmp_path / "test", "--json",
          tmp_path / "metrics.json", "--cfg-options", *small)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert 0.0 <= metrics["coco/bbox_mAP"] <= 1.0 and 0.0 <= metrics["coco/segm_mAP"] <= 1.0


# ----------------------------------------------------------------------------------------------------------
# official checkpoints through init_cfg

sys.path.insert(0, str(ROOT / "tests"))
from fixtures.parity.weights import official_state_dict  # noqa: E402

OFFICIAL = [("biformer_t", "biformer_tiny", True), ("agent_swin_t", "agent_swin_t", True),
            ("agent_pvt_t", "agent_pvt_tiny", True), ("agent_deit_t", "agent_deit_tiny", True),
            ("litv2_s", "litv2_s", True), ("transnext_micro", "transnext_micro", False),
            ("va_shvit_s1", "shvit_s1", True), ("va_convit_tiny", "convit_tiny", False)]


def _assert_backbone_holds(backbone, expected):
    own = backbone.net.state_dict()
    for k, v in expected.state_dict().items():
        if k in own:
            assert torch.equal(own[k], v), k


@pytest.mark.parametrize("name,official,wrapped", OFFICIAL, ids=[o[0] for o in OFFICIAL])
def test_official_checkpoint_loads_through_init_cfg(name, official, wrapped, tmp_path):
    path = tmp_path / f"{official}.pth"
    sd = official_state_dict(official)
    torch.save({"model": sd} if wrapped else sd, path)
    backbone = VisionAttnBackbone(name, init_cfg=dict(type="Pretrained", checkpoint=str(path)))
    backbone.init_weights()
    expected = timm.create_model(name, pretrained=True, pretrained_cfg_overlay=dict(file=str(path)))
    _assert_backbone_holds(backbone, expected)


def test_timm_and_microsoft_checkpoints_load_through_init_cfg(tmp_path):
    """HaloNet's official weights are timm's; Swin's original release is Microsoft's layout."""
    from test_models_swin import to_microsoft_layout
    for name, convert in (("va_halonet26t", None), ("va_swin_tiny_patch4_window7_224", to_microsoft_layout)):
        timm_model = timm.create_model(name[len("va_"):])
        sd = timm_model.state_dict()
        path = tmp_path / f"{name}.pth"
        torch.save(convert(sd) if convert else sd, path)
        backbone = VisionAttnBackbone(name, init_cfg=dict(type="Pretrained", checkpoint=str(path)))
        backbone.init_weights()
        _assert_backbone_holds(backbone, timm.create_model(name, pretrained=True,
                                                           pretrained_cfg_overlay=dict(file=str(path))))


def test_official_swin_detection_checkpoint_fills_level_norms(tmp_path):
    """Swin's official mmdet checkpoints: Microsoft's layout under `backbone.` plus per-level norms norm0-3."""
    from test_models_swin import to_microsoft_layout
    sd = to_microsoft_layout(timm.create_model("swin_tiny_patch4_window7_224").state_dict())["model"]
    sd = {k: v for k, v in sd.items() if not k.startswith(("head.", "norm."))}
    for i, c in enumerate((96, 192, 384, 768)):
        sd[f"norm{i}.weight"], sd[f"norm{i}.bias"] = torch.randn(c), torch.randn(c)
    path = tmp_path / "mask_rcnn_swin_tiny.pth"
    torch.save({"state_dict": {f"backbone.{k}": v for k, v in sd.items()}, "meta": {}}, path)
    backbone = VisionAttnBackbone("va_swin_tiny_patch4_window7_224", out_norm="LN",
                                  init_cfg=dict(type="Pretrained", checkpoint=str(path)))
    backbone.init_weights()
    for i, norm in enumerate(backbone.out_norms):
        assert torch.equal(norm.weight, sd[f"norm{i}.weight"]) and torch.equal(norm.bias, sd[f"norm{i}.bias"])


def test_classification_release_initialises_a_backbone_with_level_norms(tmp_path):
    """Before: every config with out_norm failed to start from its ImageNet release (the level norms were loaded
    strictly from a file that has none). A dense file with some but not all level norms is still refused."""
    path = tmp_path / "litv2_s.pth"
    torch.save({"model": official_state_dict("litv2_s")}, path)
    backbone = VisionAttnBackbone("litv2_s", out_norm=[None, "LN", "LN", "LN"],
                                  init_cfg=dict(type="Pretrained", checkpoint=str(path)))
    backbone.init_weights()
    assert torch.equal(backbone.out_norms[1].weight, torch.ones(192))   # left at its initialisation
    dense = tmp_path / "dense.pth"
    sd = {f"backbone.{k}": v for k, v in official_state_dict("litv2_s").items() if not k.startswith("head")}
    sd.update({"backbone.norm2.weight": torch.randn(192), "backbone.norm2.bias": torch.randn(192)})
    torch.save({"state_dict": sd}, dense)
    with pytest.raises(RuntimeError, match="Missing key.*1.weight"):
        VisionAttnBackbone("litv2_s", out_norm=[None, "LN", "LN", "LN"],
                           init_cfg=dict(type="Pretrained", checkpoint=str(dense))).init_weights()


def test_mm_checkpoint_of_the_backbone_loads_back(tmp_path):
    """A detector / segmentor checkpoint (keys under `backbone.`) initialises the backbone alone."""
    a = VisionAttnBackbone("va_shvit_s1", out_norm="LN")
    path = tmp_path / "det.pth"
    torch.save({"state_dict": {f"backbone.{k}": v for k, v in a.state_dict().items()}, "meta": {}}, path)
    b = VisionAttnBackbone("va_shvit_s1", out_norm="LN", init_cfg=dict(type="Pretrained", checkpoint=str(path)))
    b.init_weights()
    for k, v in a.state_dict().items():
        assert torch.equal(b.state_dict()[k], v), k


def test_testing_another_models_checkpoint_is_refused(tmp_path):
    """Before: tools/test.py exited 0 and reported mAP 0.000 on random weights (mmengine only warned)."""
    import argparse

    from mmengine.config import Config

    from visionattn.checkpoint import CheckpointError
    from visionattn.mm.runner import test as mm_test
    path = tmp_path / "resnet.pth"
    torch.save({"state_dict": timm.create_model("resnet18").state_dict(), "meta": {}}, path)
    args = argparse.Namespace(launcher="none", work_dir=str(tmp_path / "work"), checkpoint=str(path), json=None)
    with pytest.raises(CheckpointError, match=r"mask-rcnn_va-swin-mini.*does not fit the MaskRCNN: .*unexpected \(.*conv1.weight"):
        mm_test(Config.fromfile(str(DEMO_DET)), args)
    args.checkpoint = str(tmp_path / "nothing.pth")
    with pytest.raises(FileNotFoundError, match="no checkpoint at"):
        mm_test(Config.fromfile(str(DEMO_DET)), args)


def test_bad_backbone_arguments_raise_clear_errors(tmp_path):
    with pytest.raises(KeyError, match="unknown model 'biformer_xxl'; did you mean .*'biformer_t'"):
        VisionAttnBackbone("biformer_xxl")
    with pytest.raises(ValueError, match=r"indices \(4,\) are out of range for 4 feature levels.*\(0 to 3\)"):
        VisionAttnBackbone("biformer_t", out_indices=(4,))
    with pytest.raises(FileNotFoundError, match="no weight file at '/nonexistent/init.pth'"):
        VisionAttnBackbone("biformer_t", init_cfg=dict(type="Pretrained", checkpoint="/nonexistent/init.pth")
                           ).init_weights()
    with pytest.raises(ValueError, match="Pretrained"):
        VisionAttnBackbone("va_shvit_s1", init_cfg=dict(type="Kaiming"))
    path = tmp_path / "other.pth"
    torch.save({"model": official_state_dict("shvit_s1")}, path)
    backbone = VisionAttnBackbone("va_convit_tiny", init_cfg=dict(type="Pretrained", checkpoint=str(path)))
    with pytest.raises(RuntimeError, match="missing keys"):
        backbone.init_weights()


def test_backbone_options():
    """out_indices, frozen_stages (stem + first stage), norm_eval, gradient checkpointing, output norms."""
    x = torch.randn(2, 3, 96, 120)
    full = VisionAttnBackbone("va_swin_tiny_patch4_window7_224", out_norm="LN").eval()
    assert [f.shape[1] for f in full(x)] == [96, 192, 384, 768]
    two = VisionAttnBackbone("va_swin_tiny_patch4_window7_224", out_indices=(1, 3))
    assert [tuple(f.shape[1:]) for f in two(x)] == [(192, 12, 15), (768, 3, 4)]

    frozen = VisionAttnBackbone("va_swin_tiny_patch4_window7_224", frozen_stages=1).train()
    grads = {n: p.requires_grad for n, p in frozen.net.named_parameters()}
    assert not any(v for n, v in grads.items() if n.startswith(("patch_embed.", "layers.0.")))
    assert all(v for n, v in grads.items() if n.startswith(("layers.1.", "layers.2.", "layers.3.")))
    assert not frozen.net.layers[0].training and frozen.net.layers[1].training

    bn = VisionAttnBackbone("va_shvit_s1", norm_eval=True).train()
    assert all(not m.training for m in bn.modules() if isinstance(m, torch.nn.BatchNorm2d))

    plain = VisionAttnBackbone("va_swin_tiny_patch4_window7_224", drop_path_rate=0.0).train()   # no randomness
    cp = VisionAttnBackbone("va_swin_tiny_patch4_window7_224", drop_path_rate=0.0, with_cp=True).train()
    cp.load_state_dict(plain.state_dict())
    for a, b in zip(plain(x), cp(x)):
        torch.testing.assert_close(a, b)
    cp(x)[-1].sum().backward()
    assert all(p.grad is not None for p in cp.parameters() if p.requires_grad)
