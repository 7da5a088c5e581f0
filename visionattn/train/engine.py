"""The classification engine on HuggingFace accelerate: one CPU, many GPUs, many nodes.

A run directory holds: ``config.py`` (the config as given, with overrides) and ``config.json`` (every key
resolved), ``metrics.jsonl`` (one JSON object per epoch), ``train.log``, ``curves.png``, and
``checkpoints/epoch_NNNN/`` (accelerate's state: model, optimizer, RNG states; plus ``model.safetensors``,
``model_ema.safetensors`` and ``trainer_state.json``), ``checkpoints/latest`` naming the newest complete
one, and ``best/model.safetensors``. Checkpoints are written into a temporary folder and renamed into place,
so a run killed at any moment leaves only complete checkpoints; ``--resume auto`` continues from the newest
and, in deterministic mode, ends with the same weights and metrics as an uninterrupted run.
"""
import json
import logging
import math
import os
import pickle
import shutil
import sys
import time

import torch
import torch.nn.functional as F
from safetensors.torch import load_file

from visionattn.checkpoint import (CheckpointError, atomic_save_safetensors, atomic_write_text, unpickling_refusal,
                                   write_failure)

from . import data as data_lib
from .rundir import RunDirError, find_checkpoint, read_state  # noqa: F401  (find_checkpoint: the engine's API)
from .config import ConfigError

LOG = logging.getLogger("visionattn.train")


METRIC_KEYS = ("epoch", "train_loss", "val_loss", "val_top1", "val_top5", "lr", "img_per_s")


# ----------------------------------------------------------------------------------------------------------
# small utilities

def setup_logging(work_dir, main):
    LOG.handlers.clear()
    LOG.setLevel(logging.INFO if main else logging.WARNING)
    LOG.propagate = False
    fmt = logging.Formatter("%(asctime)s %(message)s", "%Y-%m-%d %H:%M:%S")
    stream = logging.StreamHandler(sys.stdout)
    stream.setFormatter(fmt)
    LOG.addHandler(stream)
    if main:
        # opened at the first record: a run refused while it is set up leaves no log behind
        file = logging.FileHandler(os.path.join(work_dir, "train.log"), delay=True)
        file.setFormatter(fmt)
        LOG.addHandler(file)


def check_model_name(name):
    from visionattn.models import check_model_name as check
    check(name, ConfigError)


def create_model(model_cfg, classes, notes=None):
    """The configured model; ``pretrained`` may be True (official weights) or a local file. A file is loaded with
    ``visionattn.models.load_checkpoint``: a classifier of another class count is re-initialised (fine-tuning),
    anything else that does not fit is an error unless ``pretrained_strict=False``. What the load did is logged,
    or appended to ``notes`` (built before the run's log exists)."""
    import timm

    from visionattn.models import load_checkpoint
    check_model_name(model_cfg["name"])
    kwargs = dict(model_cfg["kwargs"])
    # only options the config sets: a family without drop path (SHViT) takes none
    for key in ("drop_rate", "drop_path_rate"):
        if model_cfg[key]:
            kwargs[key] = model_cfg[key]
    pretrained = model_cfg["pretrained"]
    if isinstance(pretrained, str) and not os.path.isfile(pretrained):
        raise FileNotFoundError(f"model.pretrained file {pretrained!r} does not exist")
    try:
        model = timm.create_model(model_cfg["name"], pretrained=pretrained is True, num_classes=classes, **kwargs)
    except TypeError as e:   # an option this model does not take
        raise ConfigError(f"model {model_cfg['name']!r} cannot be built with {sorted(kwargs)}: {e}") from e
    if isinstance(pretrained, str):
        report = load_checkpoint(model, pretrained, strict=model_cfg["pretrained_strict"])
        (LOG.info if notes is None else notes.append)(
            f"loaded {len(report['loaded'])} tensors from {pretrained}"
            + (f"; the classifier is re-initialised for {classes} classes" if report["head_reset"] else "")
            + (f"; not loaded (pretrained_strict=False): missing {report['missing'][:10]}, unexpected "
               f"{report['unexpected'][:10]}, mismatched {report['mismatched'][:5]}"
               if report["missing"] or report["unexpected"] or report["mismatched"] else ""))
    return model


def check_img_size(model, data_cfg):
    """data.img_size against the smallest input the model takes: refused before any work, not at the first batch."""
    min_size = getattr(model, "min_size", None)
    if min_size and data_cfg["img_size"] < min_size:
        raise ConfigError(f"data.img_size={data_cfg['img_size']} is too small for {type(model).__name__}: it takes "
                          f"images of at least {min_size}x{min_size} pixels; allowed: data.img_size >= {min_size}")


def build_model(cfg):
    """The run's model and what loading its weights did, seeded as the run is: everything about the model that can
    be wrong (name, options, weight file, image size) fails here, before the work dir is touched."""
    from accelerate.utils import set_seed
    if cfg["train"]["deterministic"]:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    set_seed(cfg["train"]["seed"], deterministic=cfg["train"]["deterministic"])
    notes = []
    model = create_model(cfg["model"], cfg["model"]["num_classes"] or data_lib.num_classes(cfg["data"]), notes)
    check_img_size(model, cfg["data"])
    return model, notes


def load_weights(model, path, strict=True):
    """Weights from a model.safetensors file or a run's checkpoint folder (never unpickles code); the class count
    must match (evaluation)."""
    from visionattn.models import load_checkpoint
    if os.path.isdir(path):
        path = os.path.join(path, "model.safetensors")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no weights at {path!r} (give a model.safetensors file or a checkpoint folder)")
    return load_checkpoint(model, path, strict=strict, new_head=False)


def accuracy_counts(logits, target, ks=(1, 5)):
    top = logits.topk(max(ks), dim=1).indices
    hits = top.eq(target[:, None])
    return [hits[:, :min(k, logits.shape[1])].any(dim=1).sum() for k in ks]


def plot_curves(metrics, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    epochs = [m["epoch"] for m in metrics]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    ax1.plot(epochs, [m["train_loss"] for m in metrics], label="train loss")
    ax1.plot(epochs, [m["val_loss"] for m in metrics], label="val loss")
    ax1.set_xlabel("epoch")
    ax1.legend()
    ax2.plot(epochs, [m["val_top1"] for m in metrics], label="val top-1")
    ax2.plot(epochs, [m["val_top5"] for m in metrics], label="val top-5")
    ax2.set_xlabel("epoch")
    ax2.set_ylabel("%")
    ax2.legend()
    fig.tight_layout()
    tmp = f"{path}.tmp{os.getpid()}.png"
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    os.replace(tmp, path)


class EpochShuffle(torch.utils.data.Sampler):
    """A permutation fixed by (seed, epoch): the data order of an epoch is the same whether the run was
    resumed or not."""

    def __init__(self, n, seed):
        self.n, self.seed, self.epoch = n, seed, 0

    def set_epoch(self, epoch):
        self.epoch = epoch

    def __iter__(self):
        g = torch.Generator().manual_seed(self.seed * 100003 + self.epoch)
        return iter(torch.randperm(self.n, generator=g).tolist())

    def __len__(self):
        return self.n


# ----------------------------------------------------------------------------------------------------------
# checkpoints

def check_pickled_state(path):
    """Every pickled file of a checkpoint folder (optimizer, sampler, random states) read as accelerate will read
    it (weights_only=True), first: accelerate would raise torch's advice to unpickle code for the optimizer, and
    pass over unreadable random states with an info line, resuming on other random numbers."""
    from accelerate.utils import load
    for name in sorted(os.listdir(path)):
        if name.endswith((".bin", ".pkl")):
            file = os.path.join(path, name)
            try:
                load(file, map_location="cpu")
            except Exception as e:   # noqa: BLE001  (truncated zip, foreign pickle, ...)
                why = (unpickling_refusal(e, file) if isinstance(e, pickle.UnpicklingError)
                       else f"{type(e).__name__}: {e}")
                raise CheckpointError(f"checkpoint {path!r} cannot be resumed: {name} cannot be read ({why}); resume "
                                      "from an earlier checkpoint with --resume <work_dir>/checkpoints/epoch_NNNN, or "
                                      "start over with --overwrite") from e


# ----------------------------------------------------------------------------------------------------------
# the trainer

class Trainer:
    def __init__(self, cfg, work_dir, resume=None, raw_config_text=None, built=None):
        """``built``: ``build_model(cfg)``'s result when the caller checked the model before preparing the work dir."""
        from accelerate import Accelerator
        from accelerate.utils import set_seed

        self.cfg, self.work_dir = cfg, work_dir
        t, d, o, s = cfg["train"], cfg["data"], cfg["optim"], cfg["sched"]
        # cpu=True without CUDA: multi-process CPU runs (torchrun, gloo) then form one process group
        self.accelerator = Accelerator(mixed_precision=t["mixed_precision"], gradient_accumulation_steps=t["accum_steps"],
                                       step_scheduler_with_optimizer=False, cpu=not torch.cuda.is_available())
        acc = self.accelerator
        self.main = acc.is_main_process
        os.makedirs(work_dir, exist_ok=True)   # checkpoints/ is made by the first checkpoint
        setup_logging(work_dir, self.main)
        model, notes = built or build_model(cfg)
        for note in notes:
            LOG.info(note)
        set_seed(t["seed"], deterministic=t["deterministic"])

        self.classes = model.num_classes   # build_model counted the dataset's classes once
        if t["grad_checkpointing"]:
            model.set_grad_checkpointing(True)
        if t["channels_last"]:
            model = model.to(memory_format=torch.channels_last)
        self.train_set = data_lib.build_dataset(d, "train", model.pretrained_cfg)
        self.val_set = data_lib.build_dataset(d, "val", model.pretrained_cfg)
        self.sampler = EpochShuffle(len(self.train_set), t["seed"])
        train_loader = torch.utils.data.DataLoader(self.train_set, batch_size=d["batch_size"], sampler=self.sampler,
                                                   drop_last=True, num_workers=d["num_workers"])
        val_loader = torch.utils.data.DataLoader(self.val_set, batch_size=d["val_batch_size"] or d["batch_size"],
                                                 shuffle=False, num_workers=d["num_workers"])
        if len(train_loader) == 0:
            raise ConfigError(f"data.batch_size={d['batch_size']} exceeds the {len(self.train_set)} training images")
        self.mixup = data_lib.build_mixup(d, self.classes)

        from timm.optim import create_optimizer_v2
        from timm.scheduler import create_scheduler_v2
        lr = o["lr"]
        if o["lr_scale_batch"]:
            lr = lr * d["batch_size"] * acc.num_processes * t["accum_steps"] / o["lr_scale_batch"]
        optimizer = create_optimizer_v2(model, opt=o["opt"], lr=lr, weight_decay=o["weight_decay"],
                                        momentum=o["momentum"], layer_decay=o["layer_decay"])
        self.model, self.optimizer, self.train_loader, self.val_loader = acc.prepare(model, optimizer, train_loader,
                                                                                     val_loader)
        steps = len(self.train_loader)
        if t["max_steps_per_epoch"]:
            steps = min(steps, t["max_steps_per_epoch"] * t["accum_steps"])
        self.batches_per_epoch = steps
        self.updates_per_epoch = max(1, steps // t["accum_steps"])
        self.scheduler, _ = create_scheduler_v2(self.optimizer.optimizer, sched=s["sched"], num_epochs=s["epochs"],
                                                warmup_epochs=s["warmup_epochs"], warmup_lr=s["warmup_lr"],
                                                min_lr=s["min_lr"], cooldown_epochs=s["cooldown_epochs"],
                                                updates_per_epoch=self.updates_per_epoch)
        self.ema = None
        if t["ema_decay"]:
            from timm.utils import ModelEmaV3
            self.ema = ModelEmaV3(acc.unwrap_model(self.model), decay=t["ema_decay"])

        self.start_epoch, self.num_updates, self.best = 0, 0, dict(val_top1=-1.0, epoch=-1)
        self.metrics = []
        ckpt = find_checkpoint(work_dir, resume)
        if ckpt:
            self._load(ckpt)
        if self.main:
            atomic_write_text(os.path.join(work_dir, "config.json"), json.dumps(cfg, indent=1, default=str))
            if raw_config_text is not None:
                atomic_write_text(os.path.join(work_dir, "config.py"), raw_config_text)
            n_params = sum(p.numel() for p in acc.unwrap_model(self.model).parameters())
            LOG.info(f"model {cfg['model']['name']} ({n_params / 1e6:.2f}M params, {self.classes} classes), "
                     f"{len(self.train_set)} train / {len(self.val_set)} val images, {acc.num_processes} process(es), "
                     f"device {acc.device}, mixed precision {t['mixed_precision']}, work dir {work_dir}")
            if ckpt:
                LOG.info(f"resumed from {ckpt} at epoch {self.start_epoch}")

    # -- checkpoints ---------------------------------------------------------------------------------------

    def _load(self, path):
        state = read_state(path)
        if state.get("model", self.cfg["model"]["name"]) != self.cfg["model"]["name"]:
            raise CheckpointError(f"checkpoint {path!r} was saved by a run of {state['model']!r}, the config now "
                                  f"builds {self.cfg['model']['name']!r}; resume with the config it was saved with, "
                                  "or start over with --overwrite")
        check_pickled_state(path)
        try:
            self.accelerator.load_state(path)
        except (RuntimeError, KeyError, ValueError) as e:   # the model or optimizer changed since it was saved
            raise CheckpointError(f"checkpoint {path!r} does not fit the configured model / optimizer (was the "
                                  f"config changed since it was saved?): {str(e)[:800]}; resume with the config it "
                                  "was saved with, or start over with --overwrite") from e
        self.start_epoch, self.num_updates, self.best = state["epoch"] + 1, state["num_updates"], state["best"]
        self.scheduler.load_state_dict(state["scheduler"])
        if self.ema is not None:
            self.ema.module.load_state_dict(load_file(os.path.join(path, "model_ema.safetensors")))
        metrics_path = os.path.join(self.work_dir, "metrics.jsonl")
        if os.path.isfile(metrics_path):  # drop epochs logged after this checkpoint: they will be rerun
            with open(metrics_path) as f:
                self.metrics = [m for m in map(json.loads, filter(None, f.read().splitlines()))
                                if m["epoch"] <= state["epoch"]]
            if self.main:
                atomic_write_text(metrics_path, "".join(json.dumps(m) + "\n" for m in self.metrics))

    def _save(self, epoch):
        acc = self.accelerator
        ckpt_dir = os.path.join(self.work_dir, "checkpoints")
        name = f"epoch_{epoch:04d}"
        tmp, final = os.path.join(ckpt_dir, f".tmp_{name}"), os.path.join(ckpt_dir, name)
        if self.main:
            os.makedirs(ckpt_dir, exist_ok=True)
            if os.path.exists(tmp):
                shutil.rmtree(tmp)
        acc.wait_for_everyone()
        try:
            acc.save_state(tmp, safe_serialization=True)
            if self.main:
                atomic_save_safetensors(acc.unwrap_model(self.model).state_dict(), os.path.join(tmp, "model.safetensors"))
                if self.ema is not None:
                    atomic_save_safetensors(self.ema.module.state_dict(), os.path.join(tmp, "model_ema.safetensors"))
                state = dict(epoch=epoch, num_updates=self.num_updates, best=self.best,
                             scheduler=self.scheduler.state_dict(), model=self.cfg["model"]["name"],
                             classes=self.classes)
                # written last: its presence marks the folder complete
                atomic_write_text(os.path.join(tmp, "trainer_state.json"), json.dumps(state, indent=1))
        except Exception as e:   # a full disk, a file-size limit, a lost mount: the earlier checkpoints stay
            why = write_failure(e)
            if why is None:
                raise
            shutil.rmtree(tmp, ignore_errors=True)
            raise RunDirError(f"could not write checkpoint {final!r}: {why}; the earlier checkpoints "
                              "are intact: free the space and continue with --resume") from e
        if self.main:
            old = os.path.join(ckpt_dir, f".old_{name}")   # an epoch run again: its earlier checkpoint goes last
            if os.path.exists(final):
                os.replace(final, old)
            os.replace(tmp, final)
            shutil.rmtree(old, ignore_errors=True)
            atomic_write_text(os.path.join(ckpt_dir, "latest"), name + "\n")
            done = sorted(d for d in os.listdir(ckpt_dir) if d.startswith("epoch_"))
            for stale in done[:-self.cfg["train"]["keep_checkpoints"]]:
                shutil.rmtree(os.path.join(ckpt_dir, stale), ignore_errors=True)
        acc.wait_for_everyone()

    def _save_best(self, epoch):
        best_dir = os.path.join(self.work_dir, "best")
        os.makedirs(best_dir, exist_ok=True)
        atomic_save_safetensors(self.accelerator.unwrap_model(self.model).state_dict(),
                                os.path.join(best_dir, "model.safetensors"))
        atomic_write_text(os.path.join(best_dir, "best.json"), json.dumps(dict(self.best, model=self.cfg["model"]["name"],
                                                                                classes=self.classes)))

    # -- loops ---------------------------------------------------------------------------------------------

    def _loss(self, logits, target):
        if target.dim() == 2:  # mixup / cutmix soft targets
            return torch.sum(-target * F.log_softmax(logits, dim=-1), dim=-1).mean()
        return F.cross_entropy(logits, target, label_smoothing=self.cfg["data"]["label_smoothing"])

    def train_one_epoch(self, epoch):
        from tqdm import tqdm
        acc, t = self.accelerator, self.cfg["train"]
        self.model.train()
        self.sampler.set_epoch(epoch)
        total, count, seen = torch.zeros((), device=acc.device), 0, 0
        start = time.perf_counter()
        bar = tqdm(total=self.batches_per_epoch, desc=f"epoch {epoch}", disable=not self.main, leave=False,
                   dynamic_ncols=True, file=sys.stderr)
        for step, (x, y) in enumerate(self.train_loader):
            if step >= self.batches_per_epoch:
                break
            if t["channels_last"]:
                x = x.contiguous(memory_format=torch.channels_last)
            if self.mixup is not None:
                x, y = self.mixup(x, y)
            with acc.accumulate(self.model):
                with acc.autocast():
                    loss = self._loss(self.model(x), y)
                acc.backward(loss)
                if acc.sync_gradients and self.cfg["optim"]["clip_grad"]:
                    acc.clip_grad_norm_(self.model.parameters(), self.cfg["optim"]["clip_grad"])
                self.optimizer.step()
                self.optimizer.zero_grad(set_to_none=True)
                if acc.sync_gradients:
                    self.num_updates += 1
                    self.scheduler.step_update(self.num_updates)
                    if self.ema is not None:
                        self.ema.update(acc.unwrap_model(self.model), step=self.num_updates)
            if not math.isfinite(loss.item()):
                raise FloatingPointError(f"loss is {loss.item()} at epoch {epoch} step {step}; lower optim.lr or "
                                         "enable optim.clip_grad")
            total += loss.detach()
            count += 1
            seen += x.shape[0]
            bar.update(1)
            if self.main and step % t["log_interval"] == 0:
                bar.set_postfix(loss=f"{loss.item():.4f}", lr=f"{self.optimizer.param_groups[0]['lr']:.2e}")
        bar.close()
        elapsed = time.perf_counter() - start
        mean_loss = acc.reduce(total / max(count, 1), reduction="mean").item()
        return mean_loss, seen * acc.num_processes / elapsed

    @torch.no_grad()
    def evaluate(self, model=None, loader=None):
        acc = self.accelerator
        model = model or self.model
        model.eval()
        loss_sum, top1, top5, n = 0.0, 0, 0, 0
        for x, y in loader or self.val_loader:
            with acc.autocast():
                logits = model(x)
            logits, y = acc.gather_for_metrics((logits.float(), y))
            loss_sum += F.cross_entropy(logits, y, reduction="sum").item()
            c1, c5 = accuracy_counts(logits, y)
            top1, top5, n = top1 + c1.item(), top5 + c5.item(), n + y.numel()
        return dict(val_loss=loss_sum / n, val_top1=100.0 * top1 / n, val_top5=100.0 * top5 / n)

    def fit(self):
        s, t = self.cfg["sched"], self.cfg["train"]
        for epoch in range(self.start_epoch, s["epochs"]):
            train_loss, img_s = self.train_one_epoch(epoch)
            lr = self.optimizer.param_groups[0]["lr"]      # the rate this epoch ended with
            self.scheduler.step(epoch + 1)
            record = dict(epoch=epoch, train_loss=train_loss, val_loss=None, val_top1=None, val_top5=None, lr=lr,
                          img_per_s=img_s)
            last = epoch == s["epochs"] - 1
            if (epoch + 1) % t["eval_every"] == 0 or last:
                record.update(self.evaluate())
                if self.ema is not None:
                    ema = self.evaluate(self.ema.module)
                    record.update({f"ema_{k}": v for k, v in ema.items()})
            self.metrics.append(record)
            if self.main:
                self._record_epoch(epoch, record, train_loss, img_s)
            if (epoch + 1) % t["checkpoint_every"] == 0 or last:
                self._save(epoch)
        if self.main:
            LOG.info(f"done: best val top-1 {self.best['val_top1']:.2f}% at epoch {self.best['epoch'] + 1}; "
                     f"weights in {os.path.join(self.work_dir, 'best', 'model.safetensors')}")
        self.accelerator.end_training()
        return self.metrics

    def _record_epoch(self, epoch, record, train_loss, img_s):
        """metrics.jsonl (rewritten whole: a killed write leaves the previous file, never half a line), the log,
        best/ and curves.png. A failed write (full disk, lost permission) ends the run with an error that says
        what is intact."""
        s = self.cfg["sched"]
        try:
            atomic_write_text(os.path.join(self.work_dir, "metrics.jsonl"),
                              "".join(json.dumps(m) + "\n" for m in self.metrics))
            msg = f"epoch {epoch + 1}/{s['epochs']}: train loss {train_loss:.4f}"
            if record["val_top1"] is not None:
                msg += (f", val loss {record['val_loss']:.4f}, top-1 {record['val_top1']:.2f}%, "
                        f"top-5 {record['val_top5']:.2f}%")
            LOG.info(msg + f", lr {record['lr']:.2e}, {img_s:.1f} img/s")
            if record["val_top1"] is not None and record["val_top1"] > self.best["val_top1"]:
                self.best = dict(val_top1=record["val_top1"], epoch=epoch)
                self._save_best(epoch)
            evaluated = [m for m in self.metrics if m["val_top1"] is not None]
            if evaluated:
                plot_curves(evaluated, os.path.join(self.work_dir, "curves.png"))
        except Exception as e:
            why = write_failure(e)
            if why is None:
                raise
            raise RunDirError(f"could not write epoch {epoch}'s results into {self.work_dir!r}: {why}; "
                              "the files written before are intact: fix it and continue with --resume") from e
