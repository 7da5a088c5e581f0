"""What tools/train.py and tools/test.py run: argument parsing, config loading, dispatch."""
import argparse
import json
import os
import sys

from mmengine.config import DictAction

from .config import ConfigError, is_classification, load_config, resolve
from visionattn.checkpoint import CheckpointError, PretrainedUnavailableError


def _work_dir(cfg, args, config_path):
    if args.work_dir:
        return args.work_dir
    if cfg.get("work_dir"):
        return cfg["work_dir"]
    return os.path.join("runs", os.path.splitext(os.path.basename(config_path))[0])


def train_main(argv=None):
    p = argparse.ArgumentParser(description="Train a visionattn / timm model from a config file.")
    p.add_argument("config", help="a Python config (configs/classification/..., configs/detection/..., ...)")
    p.add_argument("--work-dir", help="run directory (default: the config's work_dir or runs/<config name>)")
    p.add_argument("--resume", nargs="?", const="auto", default=None,
                   help="'auto' (default when the flag is given): the newest complete checkpoint of the work dir; "
                        "or a checkpoint folder")
    p.add_argument("--overwrite", action="store_true",
                   help="classification: start over in a work dir that holds a run (deletes its checkpoints, best "
                        "weights, metrics and logs; other files stay). Without it, such a work dir needs --resume")
    p.add_argument("--cfg-options", nargs="+", action=DictAction, help="override config keys: key=value ...")
    p.add_argument("--launcher", choices=["none", "pytorch", "slurm", "mpi"], default="none",
                   help="mmdet / mmseg configs: how processes were started (classification uses accelerate launch)")
    p.add_argument("--amp", action="store_true", help="mmdet / mmseg configs: automatic mixed precision")
    args = p.parse_args(argv)
    try:
        cfg = load_config(args.config, args.cfg_options)
        if not is_classification(cfg):
            from visionattn.mm.runner import train as mm_train
            return mm_train(cfg, args)
        resolved = resolve(cfg)
        work_dir = _work_dir(resolved, args, args.config)
        resolved["work_dir"] = work_dir
        from .engine import Trainer, build_model
        from .rundir import is_main_process, prepare
        built = build_model(resolved)   # a model that cannot run fails before --overwrite clears anything
        lock = prepare(work_dir, args.resume, args.overwrite) if is_main_process() else None
        try:
            Trainer(resolved, work_dir, resume=args.resume, raw_config_text=cfg.pretty_text, built=built).fit()
        finally:
            if lock is not None:
                lock.release()
    except (ConfigError, FileNotFoundError, CheckpointError, PretrainedUnavailableError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


def test_main(argv=None):
    p = argparse.ArgumentParser(description="Evaluate a checkpoint (or pretrained weights) on a config's val set.")
    p.add_argument("config")
    p.add_argument("checkpoint", help="model.safetensors, a run's checkpoint folder, or 'pretrained' for the "
                                      "model's official weights")
    p.add_argument("--ema", action="store_true", help="evaluate the EMA weights of a checkpoint folder")
    p.add_argument("--cfg-options", nargs="+", action=DictAction)
    p.add_argument("--json", help="write the metrics here")
    p.add_argument("--launcher", choices=["none", "pytorch", "slurm", "mpi"], default="none")
    p.add_argument("--work-dir")
    args = p.parse_args(argv)
    try:
        cfg = load_config(args.config, args.cfg_options)
        if not is_classification(cfg):
            from visionattn.mm.runner import test as mm_test
            return mm_test(cfg, args)
        metrics = evaluate_checkpoint(resolve(cfg), args.checkpoint, ema=args.ema)
    except (ConfigError, FileNotFoundError, CheckpointError, PretrainedUnavailableError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(json.dumps(metrics))
    if args.json:
        from visionattn.checkpoint import atomic_write_text
        atomic_write_text(args.json, json.dumps(metrics, indent=1))
    return 0


def evaluate_checkpoint(cfg, checkpoint, ema=False):
    import torch
    from accelerate import Accelerator

    from . import data as data_lib
    from .engine import Trainer, check_img_size, create_model, load_weights
    acc = Accelerator(mixed_precision=cfg["train"]["mixed_precision"], cpu=not torch.cuda.is_available())
    classes = cfg["model"]["num_classes"] or data_lib.num_classes(cfg["data"])
    model_cfg = dict(cfg["model"], pretrained=checkpoint == "pretrained")
    model = create_model(model_cfg, classes)
    check_img_size(model, cfg["data"])
    if checkpoint != "pretrained":
        path = checkpoint
        if os.path.isdir(path) and ema:
            path = os.path.join(path, "model_ema.safetensors")
        load_weights(model, path)
    val = data_lib.build_dataset(cfg["data"], "val", model.pretrained_cfg)
    loader = torch.utils.data.DataLoader(val, batch_size=cfg["data"]["val_batch_size"] or cfg["data"]["batch_size"],
                                         num_workers=cfg["data"]["num_workers"])
    model, loader = acc.prepare(model, loader)
    evaluator = Trainer.__new__(Trainer)          # only evaluate() is used: it needs the accelerator
    evaluator.accelerator, evaluator.model = acc, model
    metrics = evaluator.evaluate(model, loader)
    return dict(metrics, images=len(val), checkpoint=checkpoint, model=cfg["model"]["name"])
