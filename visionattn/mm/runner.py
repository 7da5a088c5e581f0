"""tools/train.py and tools/test.py for mmdet / mmseg configs: mmengine's Runner, loading weights our way.

``VisionAttnRunner`` is mmengine's Runner with one change: every checkpoint it loads (``load_from``, ``--resume``,
tools/test.py's CHECKPOINT) is read without unpickling code, URLs are downloaded under the release's file name
(``RELEASES``: the official dense releases, keyed by URL), and official detector / segmentor checkpoints in the mmdet 2.x / mmseg
0.x layouts are converted (``visionattn.mm.convert``: backbone keys through the family's filter; neck / head keys
are named as in mmdet 3 / mmseg 1). A strict load (tools/test.py) refuses a checkpoint that does not fit, listing
the keys; ``load_from`` for fine-tuning loads what fits and logs every key that did not.
"""
import functools
import hashlib
import itertools
import json
import logging
import os
from pathlib import Path
from urllib.parse import urlparse

LOG = logging.getLogger("visionattn.mm")


@functools.lru_cache(maxsize=None)
def releases():
    """The official detection / segmentation releases (releases.json), by URL: their file name, page, official
    config and framework, the paper's metrics, notes; each has a config under configs/*/<family>/released/."""
    return json.loads((Path(__file__).parent / "releases.json").read_text())


def release_file(cfg, source=None):
    """The local file of ``source`` (default: the config's ``load_from``): a path as is, a URL downloaded into the
    torch hub cache under its release's file name (when it is one of ``releases()``) or a name that keeps URLs
    apart; a download that fails raises ``PretrainedUnavailableError`` saying how to go on offline.
    ``cfg`` may be None (a URL outside a config)."""
    from visionattn.checkpoint import pretrained_file
    cfg = cfg or {}
    filename = getattr(cfg, "filename", None)
    source = source or cfg.get("load_from")
    if not source:
        raise FileNotFoundError(f"{filename}: the config names no checkpoint (load_from)")
    if not str(source).startswith(("http://", "https://", "file://")):
        if not os.path.isfile(source):
            raise FileNotFoundError(f"no checkpoint at {source!r}")
        return source
    release = releases().get(source, {})
    if release:
        name = release["file_name"]
    else:   # share links often name no file ('.../?dl=1'): the URL's hash keeps them apart
        base = os.path.basename(urlparse(source).path) or "weights"
        name = f"{hashlib.sha256(source.encode()).hexdigest()[:12]}-{base}"
    config = os.path.relpath(filename) if filename else "CONFIG"
    use_file = f"python tools/test.py {config} /path/to/{name} (or load_from='/path/to/{name}')"
    return pretrained_file(dict(url=(source, name), origin_url=release.get("page"), notes=release.get("notes")),
                           os.path.splitext(os.path.basename(filename or source))[0], use_file=use_file)


def _runner_class():
    from mmengine.model import is_model_wrapper
    from mmengine.runner import Runner

    from visionattn.checkpoint import read_checkpoint

    from .convert import load_dense_state

    class VisionAttnRunner(Runner):
        def load_checkpoint(self, filename, map_location="cpu", strict=False, revise_keys=None):
            path = release_file(self.cfg, filename)
            checkpoint = read_checkpoint(path)
            self.call_hook("after_load_checkpoint", checkpoint=checkpoint)
            model = self.model.module if is_model_wrapper(self.model) else self.model
            load_dense_state(model, checkpoint, strict=strict, logger=self.logger,
                             where=f"checkpoint {path!r} (config {os.path.basename(self.cfg.filename or '-')})")
            self._has_loaded = True
            self.logger.info(f"Load checkpoint from {path}")
            return checkpoint

    return VisionAttnRunner


_RUN_IDS = itertools.count()


def own_visualizer(cfg):
    """mmengine keeps one Visualizer per name for the whole process, and mmdet / mmseg configs all name theirs
    'visualizer': a second run in one process (the Python API, a notebook, tests) would get the first run's and
    write its config and scalars into the first run's folder. Each run gets a visualizer of its own."""
    if cfg.get("visualizer") is not None:
        cfg.visualizer.name = f"visualizer_{os.getpid()}_{next(_RUN_IDS)}"
    return cfg


def _prepare(cfg, args, config_path=None):
    import visionattn.mm  # noqa: F401  (registers the backbone, makes mmengine checkpoints loadable)
    cfg.launcher = args.launcher
    if getattr(args, "work_dir", None):
        cfg.work_dir = args.work_dir
    elif cfg.get("work_dir") is None:
        name = os.path.splitext(os.path.basename(cfg.filename or "run"))[0]
        cfg.work_dir = os.path.join("work_dirs", name)
    return own_visualizer(cfg)


def train(cfg, args):
    cfg = _prepare(cfg, args)
    if args.amp:
        cfg.optim_wrapper.type = "AmpOptimWrapper"
        cfg.optim_wrapper.setdefault("loss_scale", "dynamic")
    if args.resume == "auto":
        cfg.resume, cfg.load_from = True, None
    elif args.resume:
        cfg.resume, cfg.load_from = True, args.resume
    runner = _runner_class().from_cfg(cfg)
    runner.train()
    return 0


def test(cfg, args):
    """Evaluate CHECKPOINT (a file, a URL, or 'pretrained': the config's released checkpoint, ``load_from``)."""
    from visionattn.checkpoint import CheckpointError
    cfg = _prepare(cfg, args)
    if args.checkpoint == "pretrained":
        if not cfg.get("load_from"):
            raise CheckpointError(f"{cfg.filename}: 'pretrained' needs a config with a released checkpoint "
                                  "(load_from); the released ones are under configs/*/<family>/released/")
        source = cfg.load_from
    else:
        source = args.checkpoint
    path = release_file(cfg, source)      # before the model is built: a missing file fails at once
    cfg.load_from = None                  # loaded strictly below
    runner = _runner_class().from_cfg(cfg)
    runner.load_checkpoint(path, strict=True)
    metrics = runner.test()
    if not metrics:   # mmdet's CocoMetric returns nothing (only logs) when no image has a detection
        raise CheckpointError(f"the evaluation of {cfg.filename} produced no metrics: the model predicted nothing on "
                              "the whole dataset (mmdet's COCO metric then reports none); wrong or untrained weights?")
    if args.json:
        import json
        from visionattn.checkpoint import atomic_write_text
        atomic_write_text(args.json, json.dumps({k: float(v) for k, v in metrics.items()}, indent=1))
    return 0
