import os
import subprocess
import sys

import pytest
import torch

import visionattn.ops as ops
from visionattn.ops import current_backend, resolve_backend, use_backend


@pytest.fixture
def calls(monkeypatch):
    """Record which implementation each window_attention call reaches."""
    seen = []
    from visionattn.ops import window as window_mod
    for name in ("_window_reference", "_window_torch"):
        real = getattr(window_mod, name)
        monkeypatch.setattr(window_mod, name, lambda *a, _real=real, _name=name: (seen.append(_name), _real(*a))[1])
    return seen


def _run():
    q = torch.randn(1, 4, 4, 1, 2)
    return ops.window_attention(q, q, q, 2)


def test_default_is_auto_and_resolves_to_torch_on_cpu(monkeypatch, calls):
    monkeypatch.delenv(ops.ENV_VAR, raising=False)
    assert current_backend() == "auto"
    assert resolve_backend(None, torch.zeros(1)) == "torch"
    _run()
    assert calls == ["_window_torch"]


def test_context_manager_nests_and_restores(monkeypatch, calls):
    monkeypatch.delenv(ops.ENV_VAR, raising=False)
    with use_backend("reference"):
        _run()
        with use_backend("torch"):
            _run()
        _run()
    _run()
    assert calls == ["_window_reference", "_window_torch", "_window_reference", "_window_torch"]


def test_environment_variable_and_priority(monkeypatch, calls):
    monkeypatch.setenv(ops.ENV_VAR, "reference")
    _run()                                             # env
    with use_backend("torch"):
        _run()                                         # context beats env
        q = torch.randn(1, 4, 4, 1, 2)
        ops.window_attention(q, q, q, 2, backend="reference")   # call beats context
    assert calls == ["_window_reference", "_window_torch", "_window_reference"]


def test_unknown_names_are_rejected(monkeypatch):
    with pytest.raises(ValueError, match="unknown attention backend 'fast'.*choose one of auto, reference"):
        with use_backend("fast"):
            pass
    monkeypatch.setenv(ops.ENV_VAR, "gpu")
    with pytest.raises(ValueError, match="environment variable VISIONATTN_BACKEND"):
        _run()


def test_triton_on_cpu_without_interpreter_says_how(monkeypatch):
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    with pytest.raises(RuntimeError, match="runs on CUDA tensors.*TRITON_INTERPRET=1"):
        resolve_backend("triton", torch.zeros(1))


def test_kernels_import_only_as_visionattn_kernels(tmp_path):
    code = ("import importlib.util, visionattn.ops, visionattn.kernels, os;"
            "spec = importlib.util.find_spec('kernels');"
            "import visionattn; root = os.path.dirname(os.path.dirname(visionattn.__file__));"
            "assert spec is None or not (spec.origin or '').startswith(root), spec")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, check=True)


def test_works_without_triton(tmp_path):
    """A CPU-only install has no triton: ops, models and the 'triton' error all work with it unimportable."""
    code = ("import sys; sys.modules['triton'] = None\n"  # makes every `import triton` raise ImportError
            "import torch, timm, visionattn, visionattn.ops as o\n"
            "q = torch.randn(1, 4, 4, 1, 2)\n"
            "o.window_attention(q, q, q, 2); o.neighborhood_attention(q, q, q, 3)\n"
            "o.routed_attention(q, q, q, torch.zeros(1, 4, 1, dtype=torch.long), 2)\n"
            "timm.create_model('va_swin_tiny_patch4_window7_224')(torch.randn(1, 3, 64, 64))\n"
            "try:\n"
            "    o.window_attention(q, q, q, 2, backend='triton')\n"
            "except RuntimeError as e:\n"
            "    assert 'not installed' in str(e), e\n"
            "else:\n"
            "    raise AssertionError('triton backend ran without triton')\n")
    subprocess.run([sys.executable, "-c", code], cwd=tmp_path, check=True)
