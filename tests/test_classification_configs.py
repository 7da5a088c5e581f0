"""The ImageNet-1k training recipes in configs/classification/<family>/: one per registered variant, each
loadable by the engine, with sane values and a header that states its source and batch split."""
import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest
import timm

import visionattn  # noqa: F401  (registers the variants)
from visionattn.train.config import load_config, resolve

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs/classification"
PREFIXES = ("agent_", "biformer_", "litv2_", "transnext_", "va_")
# the family folder of a variant name
FAMILIES = [("agent_", "agent"), ("biformer_", "biformer"), ("litv2_", "litv2"), ("transnext_", "transnext"),
            ("va_convit_", "convit"), ("va_shvit_", "shvit"), ("va_swin_", "swin"), ("va_", "halonet")]
BATCH = re.compile(r"^# batch: (\d+) GPUs x (\d+) per GPU(?: x (\d+) accumulation steps)? = (\d+)$", re.M)


def family(name):
    return next(f for prefix, f in FAMILIES if name.startswith(prefix))


def registered():
    return sorted({m for p in PREFIXES for m in timm.list_models(p + "*")})


def variant_configs():
    """Every non-base config file under a family folder (bases start with '_')."""
    return sorted(p for p in CONFIGS.glob("*/*.py") if p.parent.name != "_base_" and not p.name.startswith("_"))


CONFIG_FILES = variant_configs()


@pytest.fixture(scope="module")
def resolved():
    return {p: resolve(load_config(str(p))) for p in CONFIG_FILES}


def test_one_config_per_registered_variant(resolved):
    names = registered()
    assert len(names) >= 41 and "va_halonet_h1" in names and "transnext_micro" in names
    by_name = {}
    for path, cfg in resolved.items():
        by_name.setdefault(cfg["model"]["name"], []).append(path.relative_to(CONFIGS).as_posix())
    missing = [n for n in names if n not in by_name]
    assert not missing, f"registered variants without a config: {missing}"
    doubled = {n: ps for n, ps in by_name.items() if len(ps) > 1}
    assert not doubled, f"variants with several configs: {doubled}"
    unknown = [n for n in by_name if n not in names]
    assert not unknown, f"configs naming unregistered models: {unknown}"
    for name, (path,) in by_name.items():
        assert path == f"{family(name)}/{name}.py", f"{name} should live at {family(name)}/{name}.py, not {path}"


@pytest.mark.parametrize("path", CONFIG_FILES, ids=lambda p: p.stem)
def test_config_values_are_sane(path, resolved):
    cfg = resolved[path]
    m, d, o, s, t = cfg["model"], cfg["data"], cfg["optim"], cfg["sched"], cfg["train"]
    pcfg = timm.models.get_pretrained_cfg(m["name"])
    header = "".join(line + "\n" for line in path.read_text().splitlines() if line.startswith("#"))
    assert header.startswith("# "), "every config opens with a header comment naming its source"

    # the header's batch line matches the config: GPUs x per-process batch x accumulation = total batch
    found = BATCH.search(header)
    assert found, "the header needs a line '# batch: N GPUs x B per GPU [x A accumulation steps] = TOTAL'"
    gpus, per_gpu, accum, total = (int(g) if g else 1 for g in found.groups())
    assert (per_gpu, accum) == (d["batch_size"], t["accum_steps"])
    assert gpus * per_gpu * accum == total

    # schedule and optimiser
    assert s["epochs"] > 0 and 0 <= s["warmup_epochs"] < s["epochs"]
    lr = o["lr"] * total / o["lr_scale_batch"] if o["lr_scale_batch"] else o["lr"]   # what the engine trains with
    assert 1e-6 <= lr <= 1e-2, f"effective lr {lr:g} at batch {total}"
    assert 0 <= s["min_lr"] < lr and 0 <= s["warmup_lr"] < lr      # these two the engine takes as given
    assert 0 <= o["weight_decay"] <= 0.1
    assert o["clip_grad"] is None or o["clip_grad"] > 0
    assert 0 <= m["drop_path_rate"] < 1 and m["drop_rate"] == 0
    assert t["ema_decay"] is None or 0.99 < t["ema_decay"] < 1
    assert d["type"] == "imagenet" and (m["num_classes"] or d["num_classes"]) == 1000

    # augmentation as the recipes state it
    assert 0 <= d["mixup"] <= 1 and 0 <= d["cutmix"] <= 1 and 0 <= d["label_smoothing"] <= 0.1
    assert 0 <= d["reprob"] <= 0.25 and 0.8 <= d["crop_pct"] <= 1
    assert d["auto_augment"] is None or d["auto_augment"].startswith("rand-m")

    # the training size is the variant's default input size (a fine-tune at another size must say so)
    if d["img_size"] != pcfg.input_size[-1]:
        assert f"fine-tune at {d['img_size']}" in header, f"img_size {d['img_size']} != {pcfg.input_size}"

    # fine-tunes start from a named, existing pretrained tag
    if m["pretrained"]:
        assert m["pretrained"] is True and "fine-tune" in header
        tag = m["kwargs"].get("pretrained_cfg", pcfg.tag)
        assert f"{m['name']}.{tag}" in timm.list_pretrained(m["name"] + "*")
    else:
        assert "pretrained_cfg" not in m["kwargs"]


def test_family_specifics(resolved):
    by_name = {cfg["model"]["name"]: cfg for cfg in resolved.values()}
    # Swin-L and the 384 Swins fine-tune from ImageNet-22k for 30 epochs; the 384 ones at 384 without crop
    for name in ("va_swin_large_patch4_window7_224", "va_swin_base_patch4_window12_384",
                 "va_swin_large_patch4_window12_384"):
        cfg = by_name[name]
        assert cfg["model"]["pretrained"] is True and cfg["model"]["kwargs"]["pretrained_cfg"] == "ms_in22k"
        assert cfg["sched"]["epochs"] == 30 and cfg["optim"]["weight_decay"] == 1e-8
    for name in ("va_swin_base_patch4_window12_384", "va_swin_large_patch4_window12_384"):
        assert by_name[name]["data"]["img_size"] == 384 and by_name[name]["data"]["crop_pct"] == 1.0
    # TransNeXt gives lr 1e-3 unscaled; SHViT weight decays differ per variant; S4 trains at 256
    assert all(by_name[f"transnext_{v}"]["optim"]["lr_scale_batch"] is None
               for v in ("micro", "tiny", "small", "base"))
    assert [by_name[f"va_shvit_s{i}"]["optim"]["weight_decay"] for i in range(1, 5)] == [0.025, 0.032, 0.035, 0.03]
    assert by_name["va_shvit_s4"]["data"]["img_size"] == 256
    # drop path grows with model size within a family
    for group in (["biformer_t", "biformer_s", "biformer_b"], ["litv2_s", "litv2_m", "litv2_b"],
                  ["transnext_micro", "transnext_tiny", "transnext_small", "transnext_base"],
                  ["agent_swin_t", "agent_swin_s", "agent_swin_b"], ["agent_deit_t", "agent_deit_s", "agent_deit_b"],
                  ["agent_cswin_t", "agent_cswin_s", "agent_cswin_b"],
                  ["va_swin_tiny_patch4_window7_224", "va_swin_small_patch4_window7_224",
                   "va_swin_base_patch4_window7_224"]):
        rates = [by_name[n]["model"]["drop_path_rate"] for n in group]
        assert rates == sorted(rates) and len(set(rates)) == len(rates), (group, rates)


def test_approximations_are_declared():
    """HaloNet recipes are timm's RSB A1 stand-in for unpublished commands; every one of them says so."""
    for path in sorted((CONFIGS / "halonet").glob("va_*.py")):
        assert "APPROXIMATION" in path.read_text(), path.name


@pytest.mark.integration
def test_a_recipe_trains_one_step_on_digits(tmp_path):
    """biformer_t's recipe (AdamW, EMA, mixup / cutmix, drop path) runs through tools/train.py for one update
    on the embedded digits with a tiny BiFormer."""
    cfg = CONFIGS / "biformer/biformer_t.py"
    overrides = ["data.type=digits", "data.img_size=32", "data.batch_size=16", "data.val_batch_size=360",
                 "data.num_workers=0", "model.kwargs.depth=(1,1,1,1)", "model.kwargs.embed_dim=(32,32,32,32)",
                 "model.kwargs.qk_dims=(32,32,32,32)", "model.kwargs.mlp_ratios=(1,1,1,1)", "model.kwargs.n_win=2",
                 "train.max_steps_per_epoch=1", "sched.epochs=1", "sched.warmup_epochs=0"]
    proc = subprocess.run([sys.executable, str(ROOT / "tools/train.py"), str(cfg), "--work-dir", str(tmp_path),
                           "--cfg-options", *overrides], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (record,) = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert record["epoch"] == 0 and math.isfinite(record["train_loss"]) and "ema_val_top1" in record
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["model"]["name"] == "biformer_t" and saved["optim"]["lr_scale_batch"] == 512


# the variants whose one step takes long (big models): `slow`
SLOW_RECIPES = {"agent_cswin_b", "agent_cswin_s",
                "agent_deit_b", "agent_swin_b", "agent_swin_s", "agent_pvt_l", "agent_pvt_m", "biformer_b",
                "litv2_b", "litv2_m", "transnext_base", "transnext_small", "va_convit_base", "va_halonet_h1",
                "va_halo2botnet50ts_256", "va_lamhalobotnet50ts_256", "va_halonet50ts",
                "va_swin_base_patch4_window12_384", "va_swin_base_patch4_window7_224", "va_swin_large_patch4_window12_384",
                "va_swin_large_patch4_window7_224", "va_swin_small_patch4_window7_224"}


@pytest.mark.integration
@pytest.mark.parametrize("path", [pytest.param(p, marks=pytest.mark.slow) if p.stem in SLOW_RECIPES else p
                                  for p in CONFIG_FILES], ids=lambda p: p.stem)
def test_every_recipe_trains_one_step(path, tmp_path):
    """Each shipped recipe's model, optimizer, schedule, EMA and augmentation, as the engine builds them, for one
    update on the embedded digits at a tiny size (the fixed-size HaloNets at their 256). The fine-tunes start from
    random weights here (no download)."""
    from visionattn.train import Trainer
    cfg = resolve(load_config(str(path)))
    fixed = timm.models.get_pretrained_cfg(cfg["model"]["name"]).min_input_size == (3, 256, 256)
    cfg["data"].update(type="digits", img_size=256 if fixed else 64, batch_size=2, val_batch_size=2, num_workers=0,
                       val_fraction=0.01)
    cfg["model"]["pretrained"] = False
    cfg["sched"].update(epochs=1, warmup_epochs=0, cooldown_epochs=0)
    cfg["train"].update(max_steps_per_epoch=1)
    (record,) = Trainer(cfg, str(tmp_path)).fit()
    assert math.isfinite(record["train_loss"]) and record["val_top1"] is not None
