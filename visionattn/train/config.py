"""Classification configs: Python files read by mmengine.Config (``_base_`` inheritance, ``--cfg-options``),
checked against the keys the engine knows so a typo is an error that names the closest key."""
import difflib

from mmengine.config import Config, DictAction  # noqa: F401  (DictAction: tools' --cfg-options)

# Every key the classification engine reads, with its default.
DEFAULTS = dict(
    task="classification",
    work_dir=None,                      # default: runs/<config file name>
    model=dict(
        name=None,                      # any registered timm / visionattn model name
        pretrained=False,               # True: the model's official weights; or a path to a local file
        num_classes=None,               # default: the dataset's class count
        drop_rate=0.0,
        drop_path_rate=0.0,
        kwargs={},                      # extra model constructor arguments
    ),
    data=dict(
        type="imagenet",                # "imagenet" (ImageNet-layout folders) or "digits" (embedded)
        root=None,                      # imagenet: the folder holding the split folders
        train_split="train",
        val_split="val",
        num_classes=None,               # imagenet: default 1000
        img_size=224,
        batch_size=128,                 # per process
        val_batch_size=None,
        num_workers=4,
        interpolation="bicubic",
        crop_pct=0.875,
        mean=None,                      # default: the model's pretrained cfg
        std=None,
        auto_augment=None,              # timm RandAugment string, e.g. "rand-m9-mstd0.5-inc1"
        color_jitter=0.4,
        reprob=0.0,                     # random erasing
        hflip=0.5,
        scale=(0.08, 1.0),
        mixup=0.0,
        cutmix=0.0,
        mixup_prob=1.0,
        mixup_switch_prob=0.5,
        label_smoothing=0.0,
        val_fraction=0.2,               # digits: the fixed stratified split
    ),
    optim=dict(opt="adamw", lr=1e-3, weight_decay=0.05, momentum=0.9, layer_decay=None, clip_grad=None,
               lr_scale_batch=None),   # lr_scale_batch: scale lr by total batch / this (e.g. 512, as papers do)
    sched=dict(sched="cosine", epochs=300, warmup_epochs=5, warmup_lr=1e-6, min_lr=1e-5, cooldown_epochs=0),
    train=dict(
        seed=0,
        deterministic=False,
        mixed_precision="no",           # "no", "bf16" (CPU and GPU) or "fp16" (GPU)
        accum_steps=1,
        ema_decay=None,                 # e.g. 0.9998 (timm ModelEmaV3)
        channels_last=False,
        grad_checkpointing=False,
        log_interval=20,
        checkpoint_every=1,             # epochs
        keep_checkpoints=2,
        eval_every=1,
        max_steps_per_epoch=None,       # cap updates per epoch (smoke runs)
    ),
)


class ConfigError(ValueError):
    pass


def _check_keys(cfg, defaults, prefix=""):
    for key, value in cfg.items():
        path = f"{prefix}{key}"
        if key not in defaults:
            close = difflib.get_close_matches(key, list(defaults), n=1)
            hint = f"; did you mean '{prefix}{close[0]}'?" if close else f"; known keys: {', '.join(sorted(defaults))}"
            raise ConfigError(f"unknown config key '{path}'{hint}")
        if isinstance(defaults[key], dict) and defaults[key] and key != "kwargs":
            if not isinstance(value, dict):
                raise ConfigError(f"config key '{path}' must be a dict of {sorted(defaults[key])}")
            _check_keys(value, defaults[key], prefix=path + ".")


def _merge(defaults, cfg):
    out = {}
    for key, default in defaults.items():
        value = cfg.get(key, default)
        if isinstance(default, dict) and default and key != "kwargs":
            value = _merge(default, cfg.get(key, {}))
        out[key] = value
    return out


def load_config(path, cfg_options=None):
    """The mmengine Config of `path` with overrides applied (raw, as mmengine reads it)."""
    cfg = Config.fromfile(path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


def is_classification(cfg):
    return cfg.get("task", "classification") == "classification" and "train_dataloader" not in cfg


def resolve(cfg):
    """Check a classification config's keys and fill in every default; returns a plain dict."""
    raw = cfg.to_dict() if hasattr(cfg, "to_dict") else dict(cfg)
    raw = {k: v for k, v in raw.items() if not k.startswith("_")}
    _check_keys(raw, DEFAULTS)
    out = _merge(DEFAULTS, raw)
    if not out["model"]["name"]:
        raise ConfigError("config key 'model.name' is required (a registered model name, e.g. 'biformer_t')")
    if out["data"]["type"] not in ("imagenet", "digits"):
        raise ConfigError(f"data.type must be 'imagenet' or 'digits', got {out['data']['type']!r}")
    if out["train"]["mixed_precision"] not in ("no", "bf16", "fp16"):
        raise ConfigError(f"train.mixed_precision must be 'no', 'bf16' or 'fp16', got "
                          f"{out['train']['mixed_precision']!r}")
    return out
