"""tools/predict.py: top-k with the model's own preprocessing, any image size, files and folders, JSON, clear
errors for unreadable inputs (nothing written then)."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
import timm
import torch
from PIL import Image

import visionattn  # noqa: F401
from visionattn.predict import ImageError, class_names, image_files, load_classifier, predict_files, read_images

ROOT = Path(__file__).resolve().parents[1]
MODEL = "va_shvit_s1"


def _image(path, w, h, seed):
    g = torch.Generator().manual_seed(seed)
    Image.fromarray(torch.randint(0, 256, (h, w, 3), generator=g, dtype=torch.uint8).numpy()).save(path)
    return path


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("predict")
    folder = root / "photos"
    folder.mkdir()
    _image(folder / "a.png", 640, 360, 0)      # larger than the input, non-square
    _image(folder / "b.jpg", 45, 61, 1)        # smaller than the input, odd sizes
    (folder / "notes.txt").write_text("not an image, not picked from a folder")
    single = _image(root / "c.bmp", 224, 224, 2)
    # a fine-tuned classifier of 7 classes, saved as the training engine saves it
    torch.manual_seed(0)
    model = timm.create_model(MODEL, num_classes=7)
    from safetensors.torch import save_file
    run = root / "run" / "best"
    run.mkdir(parents=True)
    save_file(model.state_dict(), str(run / "model.safetensors"))
    names = root / "classes.txt"
    names.write_text("\n".join(f"kind {i}" for i in range(7)) + "\n")
    return dict(root=root, folder=folder, single=single, run=run, names=names, model=model.eval())


def _tool(*args):
    """The command as a user runs it (a process of its own)."""
    return subprocess.run([sys.executable, "tools/predict.py", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True)


def _main(capsys, *args):
    """tools/predict.py's main() in this process (quicker); returns (exit code, stdout, stderr)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("predict_tool", ROOT / "tools" / "predict.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    code = tool.main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_predictions_are_the_models_on_its_own_preprocessing(inputs):
    model, transform, names = load_classifier(MODEL, checkpoint=str(inputs["run"]), names_file=str(inputs["names"]))
    assert model.num_classes == 7 and names[3] == "kind 3"
    results = predict_files(model, transform, names, [inputs["folder"], inputs["single"]], topk=3, batch_size=2)
    assert [Path(r["file"]).name for r in results] == ["a.png", "b.jpg", "c.bmp"]
    assert [r["size"] for r in results] == [[640, 360], [45, 61], [224, 224]]
    for r in results:
        img = read_images([r["file"]])[0]
        with torch.no_grad():
            expected = inputs["model"](transform(img)[None]).softmax(-1)[0]
        probs = [t["probability"] for t in r["top"]]
        assert probs == sorted(probs, reverse=True) and len(probs) == 3
        top = expected.topk(3)
        assert [t["index"] for t in r["top"]] == top.indices.tolist()
        assert probs == pytest.approx(top.values.tolist(), abs=1e-5)
        assert all(t["name"] == f"kind {t['index']}" for t in r["top"])


def test_cli_json_and_text(inputs, tmp_path):
    out = tmp_path / "preds.json"
    proc = _tool(inputs["folder"], "--model", MODEL, "--checkpoint", inputs["run"], "--json", out, "--topk", "2")
    assert proc.returncode == 0, proc.stderr
    assert "a.png (640x360)" in proc.stdout and "class " in proc.stdout
    data = json.loads(out.read_text())
    assert data["model"] == MODEL and len(data["predictions"]) == 2
    assert all(len(p["top"]) == 2 for p in data["predictions"])


def test_imagenet_names_for_1000_classes(tmp_path):
    names = class_names(1000)
    assert len(names) == 1000 and names[1].startswith("goldfish")
    assert class_names(7)[6] == "class 6"
    three = tmp_path / "names.txt"
    three.write_text("a\nb\nc\n")
    with pytest.raises(ValueError, match="3 class names for a model with 7 classes"):
        class_names(7, three)


def test_unreadable_inputs_are_listed_and_nothing_is_written(inputs, tmp_path, capsys):
    fake = tmp_path / "fake.jpg"
    fake.write_text("hello")
    truncated = tmp_path / "cut.png"
    truncated.write_bytes((inputs["folder"] / "a.png").read_bytes()[:300])
    out = tmp_path / "preds.json"
    code, _, err = _main(capsys, inputs["single"], fake, truncated, "--model", MODEL, "--json", out)
    assert code == 2
    assert "2 of 3 inputs are not readable images" in err
    assert "fake.jpg: not an image PIL can read" in err and "cut.png" in err and not out.exists()


@pytest.mark.parametrize("args, message", [
    (["missing.png"], "missing.png: no such file or folder"),
    (["EMPTY"], "a folder with no images"),
    (["IMG", "--model", "va_shvit_s9"], "unknown model 'va_shvit_s9'; did you mean"),
    (["IMG", "--checkpoint", "nothing.safetensors"], "no checkpoint at 'nothing.safetensors'"),
])
def test_clear_errors(inputs, tmp_path, capsys, args, message):
    empty = tmp_path / "empty"
    empty.mkdir()
    args = [str(empty) if a == "EMPTY" else str(inputs["single"]) if a == "IMG" else a for a in args]
    if "--model" not in args:
        args += ["--model", MODEL]
    code, _, err = _main(capsys, *args)
    assert code == 2 and message in err, err


def test_a_checkpoint_of_another_model_is_refused(inputs):
    with pytest.raises(Exception, match="does not fit|cannot be converted"):
        load_classifier("va_shvit_s2", checkpoint=str(inputs["run"]))


def test_pretrained_offline_says_what_to_do(inputs, capsys, monkeypatch):
    """Without network --pretrained fails at once with the download error of the README's offline section."""
    import visionattn.checkpoint as ckpt
    monkeypatch.setattr(ckpt, "unreachable", lambda host, timeout=3.0: f"{host} is unreachable (no network)")
    monkeypatch.setattr(ckpt, "cached_weights", lambda source: None)
    code, _, err = _main(capsys, inputs["single"], "--model", MODEL, "--pretrained")
    assert code == 2 and "pretrained_cfg_overlay" in err and "va_shvit_s1" in err, err


def test_folders_are_searched_only_when_asked(inputs, tmp_path):
    nested = tmp_path / "top" / "sub"
    nested.mkdir(parents=True)
    _image(nested / "x.png", 32, 32, 3)
    with pytest.raises(ImageError, match="--recursive"):
        image_files([tmp_path / "top"])
    assert [p.name for p in image_files([tmp_path / "top"], recursive=True)] == ["x.png"]
