"""tools/train.py and tools/test.py for mmdet / mmseg configs: mmengine's Runner."""
import os


def _prepare(cfg, args, config_path=None):
    import visionattn.mm  # noqa: F401  (registers the backbone, makes mmengine checkpoints loadable)
    cfg.launcher = args.launcher
    if getattr(args, "work_dir", None):
        cfg.work_dir = args.work_dir
    elif cfg.get("work_dir") is None:
        name = os.path.splitext(os.path.basename(cfg.filename or "run"))[0]
        cfg.work_dir = os.path.join("work_dirs", name)
    return cfg


def train(cfg, args):
    from mmengine.runner import Runner
    cfg = _prepare(cfg, args)
    if args.amp:
        cfg.optim_wrapper.type = "AmpOptimWrapper"
        cfg.optim_wrapper.setdefault("loss_scale", "dynamic")
    if args.resume == "auto":
        cfg.resume, cfg.load_from = True, None
    elif args.resume:
        cfg.resume, cfg.load_from = True, args.resume
    runner = Runner.from_cfg(cfg)
    runner.train()
    return 0


def test(cfg, args):
    from mmengine.runner import Runner
    cfg = _prepare(cfg, args)
    cfg.load_from = args.checkpoint
    runner = Runner.from_cfg(cfg)
    metrics = runner.test()
    if args.json:
        import json
        from visionattn.train.engine import atomic_write_text
        atomic_write_text(args.json, json.dumps({k: float(v) for k, v in metrics.items()}, indent=1))
    return 0
