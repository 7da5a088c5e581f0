"""The classification engine through its real entry points (integration)."""
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from visionattn.train.engine import find_checkpoint

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[1]
TINY = str(ROOT / "tests/fixtures/train/tiny_digits.py")


def run(tool, *args, check=True, env=None):
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / tool), *map(str, args)], capture_output=True,
                          text=True, cwd=ROOT, env=env)
    if check and proc.returncode != 0:
        raise AssertionError(f"{tool} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


def metrics(work_dir):
    return [json.loads(line) for line in (Path(work_dir) / "metrics.jsonl").read_text().splitlines()]


def weights(path):
    return load_file(str(path))


def test_run_directory(tmp_path):
    run("train.py", TINY, "--work-dir", tmp_path)
    ms = metrics(tmp_path)
    assert [m["epoch"] for m in ms] == [0, 1, 2]
    for m in ms:
        assert set(m) >= {"epoch", "train_loss", "val_loss", "val_top1", "val_top5", "lr", "img_per_s"}
        assert 0 <= m["val_top1"] <= m["val_top5"] <= 100 and m["img_per_s"] > 0
    for name in ("config.py", "config.json", "train.log", "curves.png", "best/model.safetensors",
                 "checkpoints/latest", "checkpoints/epoch_0002/model.safetensors",
                 "checkpoints/epoch_0002/trainer_state.json"):
        assert (tmp_path / name).is_file(), name
    assert json.loads((tmp_path / "config.json").read_text())["model"]["kwargs"]["embed_dim"] == 16
    assert "epoch 3/3" in (tmp_path / "train.log").read_text()
    best = json.loads((tmp_path / "best/best.json").read_text())
    assert best["val_top1"] == max(m["val_top1"] for m in ms)
    # tools/test.py on the best weights reproduces the best epoch's accuracy
    out = json.loads(run("test.py", TINY, tmp_path / "best/model.safetensors").stdout.strip().splitlines()[-1])
    assert out["val_top1"] == pytest.approx(best["val_top1"]) and out["images"] == 359


def test_kill_and_resume_matches_an_uninterrupted_run(tmp_path):
    ref_dir, dir_ = tmp_path / "ref", tmp_path / "killed"
    run("train.py", TINY, "--work-dir", ref_dir)
    # kill -9 while epoch 1's checkpoint is written (tests/fixtures/train/fault_train.py), not at a random time
    proc = subprocess.run([sys.executable, str(ROOT / "tests/fixtures/train/fault_train.py"), "kill-checkpoint", "2",
                           TINY, "--work-dir", str(dir_)], cwd=ROOT, capture_output=True)
    assert proc.returncode == -signal.SIGKILL
    assert len(metrics(dir_)) == 2 and not (dir_ / "checkpoints/epoch_0001").exists()
    run("train.py", TINY, "--work-dir", dir_, "--resume", "auto")
    a, b = weights(ref_dir / "checkpoints/epoch_0002/model.safetensors"), weights(dir_ / "checkpoints/epoch_0002/model.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    strip = lambda ms: [{k: v for k, v in m.items() if k != "img_per_s"} for m in ms]  # noqa: E731
    assert strip(metrics(ref_dir)) == strip(metrics(dir_))


def test_incomplete_checkpoints_are_never_resumed(tmp_path):
    ckpt = tmp_path / "checkpoints"
    (ckpt / "epoch_0000").mkdir(parents=True)
    (ckpt / "epoch_0000/trainer_state.json").write_text('{"epoch": 0}')
    (ckpt / "epoch_0001").mkdir()                       # killed before its trainer_state.json was written
    (ckpt / ".tmp_epoch_0002").mkdir()
    (ckpt / "latest").write_text("epoch_0001\n")
    assert find_checkpoint(str(tmp_path), "auto") == str(ckpt / "epoch_0000")
    assert find_checkpoint(str(tmp_path / "nothing"), "auto") is None
    with pytest.raises(FileNotFoundError, match="not a complete checkpoint folder"):
        find_checkpoint(str(tmp_path), str(ckpt / "epoch_0001"))


def test_two_processes_end_with_identical_weights(tmp_path):
    out = tmp_path / "weights"
    out.mkdir()
    env = dict(os.environ, OMP_NUM_THREADS="1")
    # torchrun with gloo (accelerate's multi-CPU launcher needs mpirun); accelerate joins its process group
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           str(ROOT / "tests/fixtures/train/rank_weights.py"), TINY, str(tmp_path / "run"), str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    r0, r1 = weights(out / "rank0.safetensors"), weights(out / "rank1.safetensors")
    assert all(torch.equal(r0[k], r1[k]) for k in r0)
    log = (tmp_path / "run/train.log").read_text()
    assert "2 process(es)" in log


def test_finetune_from_a_local_file_with_another_class_count(tmp_path):
    import timm
    import visionattn  # noqa: F401
    src = timm.create_model("va_swin_tiny_patch4_window7_224", num_classes=1000, img_size=32, embed_dim=16,
                            depths=(1, 1, 1, 1), num_heads=(1, 1, 2, 2), window_size=4)
    torch.save({"model": src.state_dict()}, tmp_path / "in1k.pth")
    run("train.py", TINY, "--work-dir", tmp_path / "ft", "--cfg-options", f"model.pretrained={tmp_path / 'in1k.pth'}",
        "sched.epochs=1", "sched.warmup_epochs=0")
    tuned = weights(tmp_path / "ft/best/model.safetensors")
    assert tuned["head.fc.weight"].shape[0] == 10
    # the backbone started from the file (its first layers moved only a little in 4 steps)
    start = src.state_dict()["patch_embed.proj.weight"]
    assert (tuned["patch_embed.proj.weight"] - start).abs().max() < 0.1


@pytest.mark.parametrize("args,message", [
    (["--cfg-options", "model.name=biformer_x"], "unknown model 'biformer_x'; did you mean"),
    (["--cfg-options", "optim.lrr=0.1"], "unknown config key 'optim.lrr'; did you mean 'optim.lr'?"),
    (["--cfg-options", "data.type=imagenet", "data.root=/nonexistent/imagenet"], "/nonexistent/imagenet/train"),
    (["--cfg-options", "model.pretrained=/nonexistent.pth"], "model.pretrained file '/nonexistent.pth' does not exist"),
])
def test_clear_errors(tmp_path, args, message):
    proc = run("train.py", TINY, "--work-dir", tmp_path, *args, check=False)
    assert proc.returncode != 0 and message in proc.stderr, proc.stderr[-2000:]


def test_incompatible_checkpoint_is_explained(tmp_path):
    import timm
    from safetensors.torch import save_file
    other = timm.create_model("resnet18", num_classes=10)
    save_file(other.state_dict(), str(tmp_path / "resnet.safetensors"))
    proc = run("test.py", TINY, tmp_path / "resnet.safetensors", check=False)
    assert proc.returncode != 0 and "does not fit" in proc.stderr and "missing" in proc.stderr
