"""Runs that never overwrite each other, loads that never half-succeed, faults that leave a resumable run: the
classification engine through its command line (in-process where that is faithful, subprocesses for kills)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import timm
import torch
from safetensors.torch import load_file, save_file

import visionattn  # noqa: F401
from visionattn.train.cli import train_main
from visionattn.train.rundir import RunLock

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[1]
TINY = str(ROOT / "tests/fixtures/train/tiny_digits.py")
FAULT = str(ROOT / "tests/fixtures/train/fault_train.py")
ONE_EPOCH = ["--cfg-options", "sched.epochs=1", "sched.warmup_epochs=0"]
TINY_SWIN = dict(img_size=32, embed_dim=16, depths=(1, 1, 1, 1), num_heads=(1, 1, 2, 2), window_size=4)


def train(capsys, *args):
    """tools/train.py TINY ARGS in this process: (exit code, stderr)."""
    capsys.readouterr()
    code = train_main([TINY, *map(str, args)])
    return code, capsys.readouterr().err


def subprocess_train(*args, fault=None):
    cmd = [sys.executable, FAULT, *fault] if fault else [sys.executable, str(ROOT / "tools/train.py")]
    return subprocess.run([*cmd, TINY, *map(str, args)], capture_output=True, text=True, cwd=ROOT)


def epochs(work_dir):
    return [json.loads(line)["epoch"] for line in (Path(work_dir) / "metrics.jsonl").read_text().splitlines()]


def snapshot(work_dir):
    """Every file of a run dir and its bytes."""
    root = Path(work_dir)
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.name not in ("train.log", ".lock")}


# ----------------------------------------------------------------------------------------------------------
# loads that never half-succeed

def _partial_file(tmp_path):
    """A checkpoint holding only the stem of the tiny Swin, with a 1000-class head (the run has 10 classes)."""
    src = timm.create_model("va_swin_tiny_patch4_window7_224", num_classes=1000, **TINY_SWIN).state_dict()
    path = tmp_path / "partial.pth"
    torch.save({"model": {k: v for k, v in src.items() if k.startswith(("patch_embed", "head"))}}, path)
    return path


def test_a_file_that_fills_part_of_the_model_is_refused(tmp_path, capsys):
    """Before: timm loaded it non-strictly (8 of 121 tensors), silently, and trained on random weights."""
    code, err = train(capsys, "--work-dir", tmp_path / "run", "--cfg-options",
                      f"model.pretrained={_partial_file(tmp_path)}", "sched.epochs=1", "sched.warmup_epochs=0")
    assert code == 2 and "does not fit" in err and "missing (layers.0" in err and "pretrained_strict=False" in err


def test_another_familys_file_is_refused(tmp_path, capsys):
    path = tmp_path / "biformer.safetensors"
    save_file(timm.create_model("biformer_t").state_dict(), str(path))
    code, err = train(capsys, "--work-dir", tmp_path / "run", "--cfg-options", f"model.pretrained={path}",
                      "sched.epochs=1", "sched.warmup_epochs=0")
    assert code == 2 and "does not fit" in err and "unexpected (downsample_layers" in err


def test_a_partial_load_runs_when_asked_for_in_so_many_words(tmp_path, capsys):
    work_dir = tmp_path / "run"
    code, err = train(capsys, "--work-dir", work_dir, "--cfg-options", f"model.pretrained={_partial_file(tmp_path)}",
                      "model.pretrained_strict=False", "sched.epochs=1", "sched.warmup_epochs=0")
    assert code == 0, err
    log = (work_dir / "train.log").read_text()
    assert "the classifier is re-initialised for 10 classes" in log and "not loaded (pretrained_strict=False)" in log


@pytest.mark.parametrize("content, message", [
    (b"", "the file is empty"),
    (b"PK\x03\x04 not really a zip", "may be truncated or not a PyTorch / safetensors weight file"),
    ("truncated", "may be truncated"),
    # before: any bytes that are no pickle were reported as "Python objects that would run code"
    (bytes(range(7, 256)) * 16, "corrupt or not a PyTorch / safetensors weight file (the unpickler found: "
                                "Unsupported operand"),
])
def test_corrupt_weight_files_name_the_file(tmp_path, capsys, content, message):
    path = tmp_path / "weights.pth"
    if content == "truncated":
        torch.save({"model": timm.create_model("va_swin_tiny_patch4_window7_224", **TINY_SWIN).state_dict()}, path)
        path.write_bytes(path.read_bytes()[:2000])
    else:
        path.write_bytes(content)
    code, err = train(capsys, "--work-dir", tmp_path / "run", "--cfg-options", f"model.pretrained={path}")
    assert code == 2 and str(path) in err and message in err, err
    assert "Python objects" not in err and "weights_only" not in err, err


class _RunsCode:
    def __reduce__(self):
        return (os.system, ("echo pwned > PWNED",))


def test_a_file_that_would_run_code_is_refused_without_advice_to_run_it(tmp_path, capsys, monkeypatch):
    """Before: the error ended in torch's advice to retry with weights_only=False (i.e. to run the file's code)."""
    import pickle
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "evil.pth"
    with open(path, "wb") as f:
        pickle.dump({"model": _RunsCode()}, f)
    code, err = train(capsys, "--work-dir", tmp_path / "run", "--cfg-options", f"model.pretrained={path}")
    assert code == 2 and "holds Python objects other than tensors" in err and str(path) in err, err
    assert "weights_only=False" not in err and "`weights_only` set to `False`" not in err, err
    assert not (tmp_path / "PWNED").exists()
    run_dir = tmp_path / "run"   # at most the released lock: nothing of a run
    assert not run_dir.exists() or [p.name for p in run_dir.iterdir()] in ([], [".lock"])


def test_integer_tensors_are_not_cast_into_float_parameters(tmp_path, capsys):
    sd = timm.create_model("va_swin_tiny_patch4_window7_224", num_classes=10, **TINY_SWIN).state_dict()
    sd["patch_embed.proj.weight"] = sd["patch_embed.proj.weight"].round().long()
    path = tmp_path / "ints.pth"
    torch.save(sd, path)
    code, err = train(capsys, "--work-dir", tmp_path / "run", "--cfg-options", f"model.pretrained={path}")
    assert code == 2 and "1 mismatched (patch_embed.proj.weight" in err and "torch.int64" in err


# ----------------------------------------------------------------------------------------------------------
# runs that never overwrite each other

def test_a_second_run_into_the_same_work_dir_is_refused_then_overwritten_on_request(tmp_path, capsys):
    """Before: the same command again replaced best/, epoch_0000 and latest, and appended to metrics.jsonl."""
    work_dir = tmp_path / "run"
    assert train(capsys, "--work-dir", work_dir, *ONE_EPOCH)[0] == 0
    (work_dir / "notes.txt").write_text("mine")
    before = snapshot(work_dir)
    code, err = train(capsys, "--work-dir", work_dir, *ONE_EPOCH)
    assert code == 2 and "already holds a run (1 checkpoint(s), newest epoch_0000" in err and "--overwrite" in err
    assert snapshot(work_dir) == before
    code, err = train(capsys, "--work-dir", work_dir, "--overwrite", *ONE_EPOCH)
    assert code == 0, err
    assert epochs(work_dir) == [0] and (work_dir / "notes.txt").read_text() == "mine"
    assert train(capsys, "--work-dir", work_dir, "--overwrite", "--resume", *ONE_EPOCH)[0] == 2


def test_a_work_dir_in_use_is_refused(tmp_path, capsys):
    """Before: two runs on one work dir interleaved their metrics and mixed their config and weights."""
    work_dir = tmp_path / "run"
    work_dir.mkdir()
    lock = RunLock(str(work_dir)).acquire()
    try:
        code, err = train(capsys, "--work-dir", work_dir, *ONE_EPOCH)
        assert code == 2 and f"is in use by another run (pid {os.getpid()})" in err
        assert not (work_dir / "metrics.jsonl").exists()
    finally:
        lock.release()
    assert train(capsys, "--work-dir", work_dir, *ONE_EPOCH)[0] == 0


@pytest.mark.parametrize("option, message", [
    ("train.keep_checkpoints=-1", "'train.keep_checkpoints' = -1 is out of range; allowed: [1, inf)"),
    ("train.keep_checkpoints=0", "'train.keep_checkpoints' = 0 is out of range"),
    ("optim.lr=-0.1", "'optim.lr' = -0.1 is out of range; allowed: (0, inf)"),
    ("sched.epochs=0", "'sched.epochs' = 0 is out of range"),
    ("train.accum_steps=0", "'train.accum_steps' = 0 is out of range"),
    ("train.eval_every=0", "'train.eval_every' = 0 is out of range"),
    ("data.batch_size=0", "'data.batch_size' = 0 is out of range"),
    ("sched.warmup_epochs=5", "sched.warmup_epochs (5) must be below sched.epochs (3)"),
    ("model.drop_path_rate=1.5", "'model.drop_path_rate' = 1.5 is out of range; allowed: [0, 1)"),
    ("train.keep_checkpoints=1.5", "'train.keep_checkpoints' must be a whole number, got 1.5"),
    ("sched.epochs=2.5", "'sched.epochs' must be a whole number, got 2.5"),
    ("optim.lr=nan", "'optim.lr' must be a number, got nan"),
])
def test_invalid_values_are_refused_before_any_work(tmp_path, capsys, option, message):
    code, err = train(capsys, "--work-dir", tmp_path / "run", "--cfg-options", option)
    assert code == 2 and message in err, err
    assert not (tmp_path / "run").exists()


def test_an_unwritable_work_dir_is_explained(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    code, err = train(capsys, "--work-dir", blocker / "run", *ONE_EPOCH)
    assert code == 2 and "cannot write to work dir" in err and str(blocker / "run") in err


def test_a_model_option_the_family_lacks_is_explained(tmp_path, capsys):
    """SHViT has no drop path: asking for it names the options SHViT takes."""
    code, err = train(capsys, "--work-dir", tmp_path / "run", "--cfg-options", "model.name=va_shvit_s1",
                      "model.drop_path_rate=0.1")
    assert code == 2 and "cannot be built with" in err and "'drop_path_rate'" in err and "SHViT takes:" in err
    code, err = train(capsys, "--work-dir", tmp_path / "run", "--cfg-options", "model.kwargs=7")
    assert code == 2 and "config key 'model.kwargs' must be a dict" in err


def test_an_image_size_the_model_cannot_take_is_refused_before_any_work(tmp_path, capsys):
    """Before: data.img_size=8 set up the run and died at the first batch with the model's own error, after
    --overwrite had already deleted the earlier run; tools/test.py died the same way."""
    from visionattn.train.cli import test_main
    work_dir = tmp_path / "run"
    assert train(capsys, "--work-dir", work_dir, *ONE_EPOCH)[0] == 0
    before = snapshot(work_dir)
    code, err = train(capsys, "--work-dir", work_dir, "--overwrite", "--cfg-options", "data.img_size=8",
                      "sched.epochs=1", "sched.warmup_epochs=0")
    assert code == 2 and "data.img_size=8 is too small for SwinTransformer" in err, err
    assert "allowed: data.img_size >= 32" in err and snapshot(work_dir) == before
    capsys.readouterr()
    code = test_main([TINY, str(work_dir / "best"), "--cfg-options", "data.img_size=8"])
    assert code == 2 and "data.img_size=8 is too small" in capsys.readouterr().err


@pytest.mark.parametrize("text, fault", [("model = dict(name='va_swin_tiny_patch4_window7_224'\n", "SyntaxError"),
                                         ("model = dict(name=undefined_name)\n", "NameError")])
def test_a_config_that_does_not_run_is_named(tmp_path, capsys, text, fault):
    """Before: mmengine's traceback."""
    config = tmp_path / "broken.py"
    config.write_text(text)
    capsys.readouterr()
    code = train_main([str(config), "--work-dir", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert code == 2 and f"config {str(config)!r} cannot be read" in err and fault in err, err
    assert not (tmp_path / "run").exists()


# ----------------------------------------------------------------------------------------------------------
# faults: every one leaves a run dir that --resume continues, with each epoch recorded once

@pytest.mark.parametrize("fault", ["kill-checkpoint", "kill-metrics", "kill-best"])
def test_a_kill_during_a_write_resumes_with_each_epoch_once(tmp_path, fault):
    """Before: kill -9 during the first checkpoint write, then --resume, started over but kept the killed run's
    epoch-0 row (epoch 0 twice in metrics.jsonl)."""
    work_dir = tmp_path / "run"
    proc = subprocess_train("--work-dir", work_dir, fault=[fault, "1"])
    assert proc.returncode == -9, proc.stderr[-2000:]
    assert not list((work_dir / "checkpoints").glob("epoch_*/model.safetensors")) or fault != "kill-checkpoint"
    proc = subprocess_train("--work-dir", work_dir, "--resume")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert epochs(work_dir) == [0, 1, 2]
    assert not [p for p in work_dir.rglob("*") if ".tmp" in p.name]


@pytest.mark.parametrize("fault", ["enospc-checkpoint", "enospc-metrics"])
def test_a_full_disk_ends_the_run_with_an_error_and_resume_continues(tmp_path, fault):
    """Before: a torch-internal message, and the partial .tmp left behind made the next --resume die."""
    work_dir = tmp_path / "run"
    proc = subprocess_train("--work-dir", work_dir, fault=[fault, "2"])   # the second epoch's write fails
    assert proc.returncode == 2 and "No space left on device" in proc.stderr and "--resume" in proc.stderr, \
        proc.stderr[-2000:]
    assert not [p for p in work_dir.rglob("*") if ".tmp" in p.name]
    proc = subprocess_train("--work-dir", work_dir, "--resume")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert epochs(work_dir) == [0, 1, 2]


def test_a_file_size_limit_during_the_checkpoint_ends_the_run_with_an_error_and_resume_continues(tmp_path):
    """A real failed write, no patch: under a file-size limit (as on a full disk, the kernel refuses the write) the
    writers raise their own errors (safetensors' SafetensorError, torch.save's zip-writer RuntimeError), not
    OSError. Before: a raw traceback from inside safetensors / torch."""
    import resource
    import signal
    work_dir = tmp_path / "run"
    limit = 1 << 20   # above the tiny run's logs, below its weights and optimizer state

    def limited():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)   # a refused write, not a killed process
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    proc = subprocess.run([sys.executable, str(ROOT / "tools/train.py"), TINY, "--work-dir", str(work_dir),
                           *ONE_EPOCH], capture_output=True, text=True, cwd=ROOT, preexec_fn=limited)
    assert proc.returncode == 2 and "could not write" in proc.stderr and "File too large" in proc.stderr, \
        proc.stderr[-2000:]
    assert "--resume" in proc.stderr and "Traceback" not in proc.stderr
    assert not [p for p in work_dir.rglob("*") if ".tmp" in p.name]
    proc = subprocess_train("--work-dir", work_dir, "--resume", *ONE_EPOCH)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert epochs(work_dir) == [0]


def test_failed_writes_are_recognised_whatever_the_writer_raises(tmp_path):
    """torch.save's zip writer keeps no errno (the run's optimizer state); safetensors wraps the OSError."""
    from safetensors import SafetensorError

    from visionattn.checkpoint import write_failure
    torch_writer = RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 1139072 vs 1138960")
    assert "a full disk or a file-size limit" in write_failure(torch_writer)
    assert "File too large" in write_failure(SafetensorError("Error while serializing: I/O error: File too large"))
    assert write_failure(OSError(28, "No space left on device")) == "No space left on device"
    assert write_failure(RuntimeError("shape mismatch")) is None and write_failure(ValueError("x")) is None


def test_outputs_into_a_folder_that_does_not_exist_yet(tmp_path):
    """Before: tools/predict.py / tools/test.py --json new/folder/x.json printed the results, then died with a raw
    FileNotFoundError for the staging file."""
    from visionattn.checkpoint import atomic_save_safetensors, atomic_write_text
    atomic_write_text(str(tmp_path / "new" / "folder" / "m.json"), "{}")
    atomic_save_safetensors({"w": torch.ones(2)}, str(tmp_path / "other" / "w.safetensors"))
    assert (tmp_path / "new" / "folder" / "m.json").read_text() == "{}"
    assert load_file(str(tmp_path / "other" / "w.safetensors"))["w"].sum() == 2


def test_resume_passes_over_a_corrupt_checkpoint_state(tmp_path, capsys):
    work_dir = tmp_path / "run"
    assert train(capsys, "--work-dir", work_dir, "--cfg-options", "sched.epochs=2", "sched.warmup_epochs=0")[0] == 0
    (work_dir / "checkpoints/epoch_0001/trainer_state.json").write_text('{"epoch": 1, "num_upd')
    code, err = train(capsys, "--work-dir", work_dir, "--resume", "--cfg-options", "sched.epochs=3",
                      "sched.warmup_epochs=0")
    assert code == 0, err
    assert "resumed from " + str(work_dir / "checkpoints/epoch_0000") in (work_dir / "train.log").read_text()
    assert epochs(work_dir) == [0, 1, 2]


@pytest.mark.parametrize("name", ["optimizer.bin", "random_states_0.pkl"])
def test_resume_refuses_pickled_state_that_would_run_code(tmp_path, capsys, monkeypatch, name):
    """Before: a foreign optimizer.bin raised torch's UnpicklingError with its advice to load with
    weights_only=False; unreadable random states were passed over (an info line) and the run went on with other
    random numbers than the run it continues."""
    import pickle
    monkeypatch.chdir(tmp_path)
    work_dir = tmp_path / "run"
    assert train(capsys, "--work-dir", work_dir, *ONE_EPOCH)[0] == 0
    target = work_dir / "checkpoints/epoch_0000" / name
    assert target.is_file()
    with open(target, "wb") as f:
        pickle.dump({"state": _RunsCode()}, f)
    before = snapshot(work_dir)
    code, err = train(capsys, "--work-dir", work_dir, "--resume", "--cfg-options", "sched.epochs=2",
                      "sched.warmup_epochs=0")
    assert code == 2 and f"{name} cannot be read (it holds Python objects other than tensors" in err, err
    assert "weights_only=False" not in err and "--overwrite" in err
    assert not (tmp_path / "PWNED").exists() and snapshot(work_dir) == before


def test_resume_with_a_changed_model_is_explained(tmp_path, capsys):
    work_dir = tmp_path / "run"
    assert train(capsys, "--work-dir", work_dir, *ONE_EPOCH)[0] == 0
    code, err = train(capsys, "--work-dir", work_dir, "--resume", "--cfg-options", "model.kwargs.embed_dim=32",
                      "sched.epochs=2", "sched.warmup_epochs=0")
    assert code == 2 and "does not fit the configured model" in err and "--overwrite" in err
    assert epochs(work_dir) == [0]


def test_best_weights_survive_a_refused_second_run(tmp_path, capsys):
    work_dir = tmp_path / "run"
    assert train(capsys, "--work-dir", work_dir, *ONE_EPOCH)[0] == 0
    best = load_file(str(work_dir / "best/model.safetensors"))
    assert train(capsys, "--work-dir", work_dir, "--cfg-options", "optim.lr=0.5")[0] == 2
    again = load_file(str(work_dir / "best/model.safetensors"))
    assert all(torch.equal(best[k], again[k]) for k in best)


def test_digit_scenes_never_delete_a_dataset_they_did_not_write(tmp_path):
    """Before: --out into a folder holding the user's own train.json / images/train/train_00007.png (no marker of
    this tool) deleted them, exit 0, as if a killed generation had left them."""
    out = tmp_path / "coco"
    (out / "images" / "train").mkdir(parents=True)
    (out / "train.json").write_text('{"note": "mine"}')
    (out / "images" / "train" / "train_00007.png").write_bytes(b"png")
    proc = subprocess.run([sys.executable, str(ROOT / "tools/make_digit_scenes.py"), "--out", str(out), "--train",
                           "2", "--val", "1", "--size", "64"], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2 and "no COMPLETE / INCOMPLETE marker" in proc.stderr, proc.stderr[-2000:]
    assert (out / "train.json").read_text() == '{"note": "mine"}'
    assert (out / "images" / "train" / "train_00007.png").read_bytes() == b"png"


def test_digit_scenes_clear_what_a_killed_generation_left(tmp_path):
    from visionattn.data.digit_scenes import ensure
    out = tmp_path / "scenes"
    (out / "images" / "train").mkdir(parents=True)
    (out / "INCOMPLETE").write_text("")   # a generation was killed after writing this image
    (out / "images" / "train" / "train_00009.png").write_bytes(b"partial")
    ensure(str(out), num_train=2, num_val=1, size=64, seed=0)
    assert (out / "COMPLETE").is_file() and not (out / "INCOMPLETE").exists()
    assert sorted(p.name for p in (out / "images" / "train").iterdir()) == ["train_00000.png", "train_00001.png"]


def test_regenerating_digit_scenes_keeps_files_it_did_not_write(tmp_path):
    """Before: tools/make_digit_scenes.py --out DIR deleted the whole of DIR on a regeneration."""
    out = tmp_path / "scenes"
    (out / "images" / "train").mkdir(parents=True)
    (out / "mine.txt").write_text("mine")
    (out / "images" / "train" / "photo.jpg").write_bytes(b"jpeg")

    def make(*args):
        proc = subprocess.run([sys.executable, str(ROOT / "tools/make_digit_scenes.py"), "--out", str(out),
                               "--val", "1", "--size", "64", *args], capture_output=True, text=True, cwd=ROOT)
        assert proc.returncode == 0, proc.stderr[-2000:]
        return json.loads(proc.stdout.strip().splitlines()[-1])

    assert make("--train", "3")["train"]["images"] == 3
    assert make("--train", "2")["train"]["images"] == 2            # other settings: regenerated
    assert sorted(p.name for p in (out / "images" / "train").iterdir()) == ["photo.jpg", "train_00000.png",
                                                                          "train_00001.png"]
    assert (out / "mine.txt").read_text() == "mine"
    make("--train", "2", "--force")
    assert (out / "mine.txt").exists() and (out / "images" / "train" / "photo.jpg").exists()
