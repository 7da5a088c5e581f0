"""A classification run directory: one run at a time (an exclusive lock), never silently overwritten.

A work dir that holds a run (checkpoints, best weights or metrics) is continued with ``--resume`` or started over
with ``--overwrite``, which deletes only what the engine wrote (``RUN_FILES``); anything else is an error that
says so. ``--resume`` with no complete checkpoint yet (a run killed before its first one) starts from scratch and
clears that run's metrics and best weights, so no epoch is recorded twice.
"""
import errno
import fcntl
import json
import os
import shutil

from .config import ConfigError

# what the engine writes into a work dir (checkpoints/ and best/ are folders)
RUN_FILES = ("config.py", "config.json", "metrics.jsonl", "train.log", "curves.png", "checkpoints", "best")
LOCK = ".lock"


class RunDirError(ConfigError):
    """A work dir that cannot be used as asked (in use, holds another run, not writable)."""


def is_main_process():
    """Rank 0 of a torchrun / accelerate launch (or a single process): the one that owns the work dir."""
    return int(os.environ.get("RANK", "0")) == 0


def read_state(path):
    """The ``trainer_state.json`` of a checkpoint folder, or None when it is missing or unreadable (a checkpoint
    killed while being written, or a corrupt file): such a folder is never resumed from."""
    try:
        with open(os.path.join(path, "trainer_state.json")) as f:
            state = json.load(f)
        return state if isinstance(state, dict) and "epoch" in state else None
    except (OSError, ValueError):
        return None


def find_checkpoint(work_dir, resume):
    """The checkpoint folder to resume from: ``resume`` itself, or for ``"auto"`` the newest complete one of
    ``work_dir`` (None when nothing is saved yet). A folder whose state is missing or corrupt is passed over for
    the previous complete one."""
    if resume is None:
        return None
    if resume != "auto":
        if not (os.path.isdir(resume) and read_state(resume) is not None):
            raise FileNotFoundError(f"--resume {resume!r} is not a complete checkpoint folder "
                                    "(one of <work_dir>/checkpoints/epoch_NNNN)")
        return resume
    ckpt_dir = os.path.join(work_dir, "checkpoints")
    if not os.path.isdir(ckpt_dir):
        return None
    done = sorted(d for d in os.listdir(ckpt_dir)
                  if d.startswith("epoch_") and read_state(os.path.join(ckpt_dir, d)) is not None)
    return os.path.join(ckpt_dir, done[-1]) if done else None


def holds_run(work_dir):
    """Whether ``work_dir`` holds (part of) an earlier run."""
    ckpt = os.path.join(work_dir, "checkpoints")
    return (os.path.isfile(os.path.join(work_dir, "metrics.jsonl"))
            or os.path.isdir(os.path.join(work_dir, "best"))
            or (os.path.isdir(ckpt) and any(d.startswith(("epoch_", ".tmp_epoch_")) for d in os.listdir(ckpt))))


def clear(work_dir, keep_checkpoints=False):
    """Delete what an earlier run wrote (only the engine's own files and folders)."""
    for name in RUN_FILES:
        if keep_checkpoints and name == "checkpoints":
            continue
        path = os.path.join(work_dir, name)
        if os.path.isdir(path):
            shutil.rmtree(path)
        elif os.path.exists(path):
            os.remove(path)


class RunLock:
    """An exclusive ``flock`` on ``<work_dir>/.lock`` for the run's lifetime (released when the process ends, even
    by kill -9). The file names the holder's pid so the error can say who holds it."""

    def __init__(self, work_dir):
        self.path = os.path.join(work_dir, LOCK)
        self.fd = None

    def acquire(self):
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            holder = os.read(fd, 64).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise RunDirError(f"work dir {os.path.dirname(self.path)!r} is in use by another run (pid {holder}); "
                                  "wait for it to end or give another --work-dir") from e
            raise
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self.fd = fd
        return self

    def release(self):
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None


def prepare(work_dir, resume, overwrite):
    """Check and set up ``work_dir`` for a run (main process only); returns the held ``RunLock``.

    Errors (``RunDirError``) when the dir is not writable, is in use, or holds an earlier run and neither
    ``resume`` nor ``overwrite`` is given."""
    if resume and overwrite:
        raise RunDirError("--resume and --overwrite exclude each other: continue the run, or start it over")
    try:
        os.makedirs(work_dir, exist_ok=True)
        probe = os.path.join(work_dir, f".write_test{os.getpid()}")
        with open(probe, "w"):
            pass
        os.remove(probe)
    except OSError as e:
        raise RunDirError(f"cannot write to work dir {work_dir!r}: {e.strerror or e}") from e
    lock = RunLock(work_dir).acquire()
    try:
        if holds_run(work_dir):
            if overwrite:
                clear(work_dir)
            elif resume == "auto" and find_checkpoint(work_dir, "auto") is None:
                clear(work_dir)   # killed before its first checkpoint: start over, without its epochs
            elif not resume:
                raise RunDirError(
                    f"work dir {work_dir!r} already holds a run ({describe(work_dir)}); continue it with --resume, "
                    "start it over with --overwrite (deletes its checkpoints, best weights, metrics and logs), or "
                    "give another --work-dir")
    except BaseException:
        lock.release()
        raise
    return lock


def describe(work_dir):
    ckpt = os.path.join(work_dir, "checkpoints")
    done = sorted(d for d in os.listdir(ckpt) if d.startswith("epoch_")) if os.path.isdir(ckpt) else []
    parts = [f"{len(done)} checkpoint(s)" + (f", newest {done[-1]}" if done else "")]
    if os.path.isfile(os.path.join(work_dir, "metrics.jsonl")):
        parts.append("metrics.jsonl")
    if os.path.isdir(os.path.join(work_dir, "best")):
        parts.append("best/")
    return ", ".join(parts)
