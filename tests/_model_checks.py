"""Checks the family test files and the model contract (tests/test_model_contract.py) share: official checkpoint
layouts (parity/specs), official outputs (parity fixtures), dense features at given sizes, clear errors, backend
agreement, torch.compile."""
import json
import sys
from pathlib import Path

import pytest
import timm
import torch

import visionattn.models  # noqa: F401  (registers the zoo)
from _helpers import on_backend

PARITY = Path(__file__).resolve().parent / "fixtures" / "parity"
sys.path.insert(0, str(PARITY))
from weights import load_fixture, official_state_dict  # noqa: E402


def spec(official):
    with open(PARITY / "specs" / f"{official}.json") as f:
        return json.load(f)


def official_zero_state_dict(official):
    """A state dict with every key and shape of the official checkpoint (values irrelevant: zeros)."""
    return {k: torch.zeros(shape, dtype=getattr(torch, dtype)) for k, shape, dtype in spec(official)["keys"]}


def _input_size(model):
    return tuple(model.pretrained_cfg["input_size"])


# ----------------------------------------------------------------------------------------------------------
# official checkpoints

def check_spec_keys(name, official, filter_fn):
    """After conversion the model consumes exactly the official checkpoint's keys with the same shapes, and
    has the official parameter count."""
    s = spec(official)
    model = timm.create_model(name)
    converted = filter_fn(official_zero_state_dict(official), model)
    own = model.state_dict()
    missing = sorted(set(own) - set(converted))
    unexpected = sorted(set(converted) - set(own))
    assert not missing and not unexpected, f"missing {missing[:10]} unexpected {unexpected[:10]}"
    wrong = [(k, tuple(converted[k].shape), tuple(own[k].shape)) for k in own if converted[k].shape != own[k].shape]
    assert not wrong, f"shape mismatches (key, checkpoint, model): {wrong[:10]}"
    assert sum(p.numel() for p in model.parameters()) == s["params"]


def save_training_checkpoint(path, tmp_path, monkeypatch, model_type, **entries):
    """``entries`` and a yacs CfgNode ``config`` saved to ``path``, as the official Agent-Attention training scripts
    save their files (yacs is not installed here: a stand-in package makes the CfgNode, then it is made
    unimportable again, as on a user's machine, so loading must not need it)."""
    fake = tmp_path / "fake_yacs"
    (fake / "yacs").mkdir(parents=True)
    (fake / "yacs" / "__init__.py").write_text("")
    (fake / "yacs" / "config.py").write_text(
        "class CfgNode(dict):\n"
        "    def __init__(self, d=None):\n"
        "        super().__init__(d or {})\n"
        "        self.__dict__['__immutable__'] = False\n")
    monkeypatch.syspath_prepend(str(fake))
    from yacs.config import CfgNode
    torch.save(dict(entries, config=CfgNode({"MODEL": CfgNode({"TYPE": model_type})})), path)
    # gone for good (monkeypatch.delitem would put the stand-in back into sys.modules at teardown, where the next
    # test's `import yacs` would find it)
    for mod in [m for m in sys.modules if m == "yacs" or m.startswith("yacs.")]:
        del sys.modules[mod]
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p != str(fake)])


def check_parity(name, fixture, tmp_path, backend="torch", wrap=True, images=None):
    """The official implementation's logits on deterministic official-format weights, loaded through
    pretrained=True with a local file (the parity fixtures' README). `images` limits the fixture batch
    (the Triton interpreter is slow)."""
    meta, stored = load_fixture(fixture)
    sd = official_state_dict(fixture)
    path = tmp_path / f"{fixture}.pth"
    torch.save({"model": sd} if wrap else sd, path)
    model = timm.create_model(name, pretrained=True, pretrained_cfg_overlay=dict(file=str(path))).eval()
    x, expected = stored["__input__"][:images], stored["__logits__"][:images]
    with torch.no_grad(), on_backend(backend):
        y = model(x)
    err = (y - expected).abs().max().item()
    assert err <= 1e-4 * max(1.0, meta["logits_absmax"]), f"max |logits - official| = {err}"
    return model


# ----------------------------------------------------------------------------------------------------------
# timm contract

def check_features(name, sizes=((200, 333), (512, 512)), levels=4, reductions=(4, 8, 16, 32), **kwargs):
    """features_only: `levels` NCHW maps with the channels and strides feature_info states, at any size;
    forward_intermediates gives the same maps; pruning keeps them."""
    model = timm.create_model(name, features_only=True, **kwargs).eval()
    info = model.feature_info
    assert len(info.channels()) == levels
    assert tuple(info.reduction()) == tuple(reductions)
    for h, w in sizes:
        with torch.no_grad():
            feats = model(torch.randn(1, 3, h, w))
        assert len(feats) == levels
        for f, c, r in zip(feats, info.channels(), info.reduction()):
            assert f.dim() == 4 and f.shape[1] == c, (f.shape, c)
            assert abs(f.shape[2] - h / r) <= 1 and abs(f.shape[3] - w / r) <= 1, (f.shape, h, w, r)
            assert torch.isfinite(f).all()
    full = timm.create_model(name, **kwargs).eval()
    x = torch.randn(1, 3, *sizes[0])
    with torch.no_grad():
        final, inter = full.forward_intermediates(x)
        only = full.forward_intermediates(x, indices=[0, levels - 1], intermediates_only=True)
        assert len(inter) == levels and len(only) == 2
        torch.testing.assert_close(only[0], inter[0])
        torch.testing.assert_close(only[1], inter[-1])
        kept = full.prune_intermediate_layers(indices=[0, 1], prune_head=True)
        assert list(kept) == [0, 1]
        pruned = full.forward_intermediates(x, indices=[0, 1], intermediates_only=True)
        torch.testing.assert_close(pruned[1], inter[1])


def check_default_size_features(name):
    """At the default size the dense rules (bias resampling, padding) change nothing: the last level of
    forward_intermediates, normed, is forward_features."""
    model = timm.create_model(name).eval()
    x = torch.randn(1, *_input_size(model))
    with torch.no_grad():
        final, inter = model.forward_intermediates(x, norm=True)
        feats = model.forward_features(x)
    torch.testing.assert_close(inter[-1], feats.permute(0, 3, 1, 2) if model.output_fmt == "NHWC" else feats)
    torch.testing.assert_close(final, feats)


def check_bad_inputs(name, min_size):
    model = timm.create_model(name).eval()
    size = _input_size(model)[1:]
    with pytest.raises(ValueError, match=r"3 input channels but got 1"):
        model(torch.randn(1, 1, *size))
    with pytest.raises(ValueError, match=rf"at least {min_size}x{min_size}"):
        model(torch.randn(1, 3, min_size - 1, min_size - 1))
    with pytest.raises(ValueError, match=r"\(batch, channels, height, width\)"):
        model(torch.randn(3, *size))
    with pytest.raises(ValueError, match=r"empty batch"):
        model(torch.randn(0, 3, *size))
    with pytest.raises(TypeError, match=r"floating-point images .* got torch.uint8"):
        model(torch.randint(0, 255, (1, 3, *size), dtype=torch.uint8))
    # images in another floating dtype run in the model's (float64 / float16 into a float32 model)
    x = torch.randn(1, 3, *size)
    with torch.no_grad():
        ref = model(x)
        for dtype in (torch.float64, torch.float16):
            out = model(x.to(dtype))
            assert out.dtype == ref.dtype
            torch.testing.assert_close(out, model(x.to(dtype).float()))


def check_compile(name, size=None, backend="aot_eager", model=None, x=None, fullgraph=False, **kwargs):
    """torch.compile of the whole model: dynamo captures it and AOTAutograd traces it (aot_eager, the part
    our code decides); inductor's C++ codegen of the same graphs is exercised on the ops
    (tests/test_ops_compile.py) and on one full model in the slow tests, as compiling every family with it
    would take most of the CI budget. `model` / `x`: an already built eval model and its input (else built
    from `name`, `size` and `kwargs`); `fullgraph`: a graph break raises. Returns the max abs difference to
    eager."""
    model = model if model is not None else timm.create_model(name, **kwargs).eval()
    x = x if x is not None else torch.randn(1, *(size or _input_size(model)))
    with torch.no_grad():
        ref = model(x)
        out = torch.compile(model, backend=backend, fullgraph=fullgraph)(x)
    torch.testing.assert_close(out, ref, atol=1e-4 * max(1.0, ref.abs().max().item()), rtol=1e-4)
    return (out - ref).abs().max().item()


def check_backends_agree(name, size=None, backends=("reference", "torch")):
    """The same model on each attention backend."""
    from visionattn.ops import use_backend
    model = timm.create_model(name).eval()
    x = torch.randn(1, *(size or _input_size(model)))
    outs = []
    for b in backends:
        with torch.no_grad(), use_backend(b):
            outs.append(model(x))
    for o in outs[1:]:
        torch.testing.assert_close(o, outs[0], atol=1e-4 * max(1.0, outs[0].abs().max().item()), rtol=1e-4)
