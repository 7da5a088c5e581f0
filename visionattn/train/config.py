"""Classification configs: Python files read by mmengine.Config (``_base_`` inheritance, ``--cfg-options``),
checked against the keys the engine knows so a typo is an error that names the closest key."""
import difflib
import os

from mmengine.config import Config, DictAction  # noqa: F401  (DictAction: tools' --cfg-options)

# Every key the classification engine reads, with its default.
DEFAULTS = dict(
    task="classification",
    work_dir=None,                      # default: runs/<config file name>
    model=dict(
        name=None,                      # any registered timm / visionattn model name
        pretrained=False,               # True: the model's official weights; or a path to a local file
        pretrained_strict=True,         # False: load a file that only partly fits (what fits; the rest reported)
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
    """The mmengine Config of `path` with overrides applied (raw, as mmengine reads it). A config that does not
    run (syntax error, a name it does not define, ...) is a ``ConfigError`` naming the file and the fault."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no config file at {path!r}")
    try:
        cfg = Config.fromfile(path)
    except FileNotFoundError:
        raise
    except Exception as e:   # noqa: BLE001  (executing the config raised: the user's file is at fault)
        cause = e.__cause__ or e
        where = f" (line {cause.lineno}: {cause.text.strip()!r})" if getattr(cause, "text", None) else ""
        raise ConfigError(f"config {path!r} cannot be read{where}: {type(cause).__name__}: {cause}") from e
    if cfg_options:
        try:
            cfg.merge_from_dict(cfg_options)
        except Exception as e:   # noqa: BLE001
            raise ConfigError(f"--cfg-options {cfg_options} do not apply to {path!r}: {e}") from e
    return cfg


def is_classification(cfg):
    return cfg.get("task", "classification") == "classification" and "train_dataloader" not in cfg


# numeric keys and the values they take: (lowest, lowest allowed?, highest, highest allowed?, may be None)
_RANGES = {
    "model.drop_rate": (0, True, 1, False, False), "model.drop_path_rate": (0, True, 1, False, False),
    "data.img_size": (1, True, None, None, False), "data.batch_size": (1, True, None, None, False),
    "data.val_batch_size": (1, True, None, None, True), "data.num_workers": (0, True, None, None, False),
    "data.crop_pct": (0, False, 1, True, False), "data.reprob": (0, True, 1, True, False),
    "data.hflip": (0, True, 1, True, False), "data.mixup": (0, True, None, None, False),
    "data.cutmix": (0, True, None, None, False), "data.mixup_prob": (0, True, 1, True, False),
    "data.mixup_switch_prob": (0, True, 1, True, False), "data.label_smoothing": (0, True, 1, False, False),
    "data.val_fraction": (0, False, 1, False, False), "data.num_classes": (1, True, None, None, True),
    "model.num_classes": (1, True, None, None, True),
    "optim.lr": (0, False, None, None, False), "optim.weight_decay": (0, True, None, None, False),
    "optim.momentum": (0, True, 1, True, False), "optim.layer_decay": (0, False, 1, True, True),
    "optim.clip_grad": (0, False, None, None, True), "optim.lr_scale_batch": (0, False, None, None, True),
    "sched.epochs": (1, True, None, None, False), "sched.warmup_epochs": (0, True, None, None, False),
    "sched.warmup_lr": (0, True, None, None, False), "sched.min_lr": (0, True, None, None, False),
    "sched.cooldown_epochs": (0, True, None, None, False),
    "train.accum_steps": (1, True, None, None, False), "train.ema_decay": (0, False, 1, False, True),
    "train.log_interval": (1, True, None, None, False), "train.checkpoint_every": (1, True, None, None, False),
    "train.keep_checkpoints": (1, True, None, None, False), "train.eval_every": (1, True, None, None, False),
    "train.max_steps_per_epoch": (1, True, None, None, True),
}


# keys that count things: whole numbers only
_COUNTS = {"data.img_size", "data.batch_size", "data.val_batch_size", "data.num_workers", "data.num_classes",
           "model.num_classes", "sched.epochs", "sched.warmup_epochs", "sched.cooldown_epochs", "train.accum_steps",
           "train.log_interval", "train.checkpoint_every", "train.keep_checkpoints", "train.eval_every",
           "train.max_steps_per_epoch"}


def _validate(out):
    """Every numeric setting in its range, checked before any work starts."""
    for key, (lo, lo_ok, hi, hi_ok, optional) in _RANGES.items():
        group, name = key.split(".")
        value = out[group][name]
        if value is None and optional:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:   # NaN too
            raise ConfigError(f"config key '{key}' must be a number, got {value!r}")
        if key in _COUNTS and not isinstance(value, int):
            raise ConfigError(f"config key '{key}' must be a whole number, got {value!r}")
        low = value < lo if lo_ok else value <= lo
        high = hi is not None and (value > hi if hi_ok else value >= hi)
        if low or high:
            allowed = (f"{'[' if lo_ok else '('}{lo}, " + (f"{hi}{']' if hi_ok else ')'}" if hi is not None else "inf)"))
            raise ConfigError(f"config key '{key}' = {value!r} is out of range; allowed: {allowed}"
                              + (" or None" if optional else ""))
    if out["sched"]["warmup_epochs"] >= out["sched"]["epochs"]:
        raise ConfigError(f"sched.warmup_epochs ({out['sched']['warmup_epochs']}) must be below sched.epochs "
                          f"({out['sched']['epochs']})")
    for key in ("drop_rate", "drop_path_rate"):
        if not isinstance(out["model"][key], (int, float)):
            raise ConfigError(f"config key 'model.{key}' must be a number")
    if not isinstance(out["model"]["kwargs"], dict):
        raise ConfigError(f"config key 'model.kwargs' must be a dict of model constructor arguments, got "
                          f"{out['model']['kwargs']!r}")
    if not isinstance(out["model"]["pretrained_strict"], bool):
        raise ConfigError("config key 'model.pretrained_strict' must be True or False")


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
    _validate(out)
    return out
