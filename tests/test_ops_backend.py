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


# ----------------------------------------------------------------------------------------------------------
# what the Triton kernels can run is decided in one place (select_backend)

class _FakeCuda:
    """Stands for a CUDA tensor (this machine has none): select_backend reads only is_cuda and dtype."""
    is_cuda = True

    def __init__(self, dtype=torch.float32):
        self.dtype = dtype


@pytest.mark.parametrize("dtype, head_dims, programs, expected", [
    (torch.float16, (64, 64), (48,), "triton"),
    (torch.float32, (256, 256), (65535,), "triton"),
    (torch.float64, (64, 64), (48,), "torch"),          # the kernels take fp16 / bf16 / fp32
    (torch.float32, (320, 320), (48,), "torch"),        # a head wider than one 256-channel tile
    (torch.float32, (64, 320), (48,), "torch"),         # the value head counts too
    (torch.float32, (64, 64), (65536,), "torch"),       # batch x heads above CUDA's 65535 programs per axis
])
def test_auto_takes_triton_only_where_the_kernels_can_run(monkeypatch, dtype, head_dims, programs, expected):
    """Once AUTO_PICKS_TRITON is flipped (after a passing `make gpu-check`)."""
    from visionattn.ops import _backend
    monkeypatch.setattr(_backend, "triton_importable", lambda: True)
    monkeypatch.setattr(_backend, "AUTO_PICKS_TRITON", True)
    monkeypatch.delenv(ops.ENV_VAR, raising=False)
    assert _backend.select_backend("op", None, _FakeCuda(dtype), head_dims, programs) == expected


def test_auto_picks_torch_on_cuda_until_the_kernels_ran_on_a_gpu(monkeypatch):
    """The kernels were verified by the interpreter and by compiling for sm_80 / sm_90, never on a GPU: `auto` on
    CUDA takes SDPA / the torch path; `triton` stays the explicit opt-in."""
    from visionattn.ops import _backend
    monkeypatch.setattr(_backend, "triton_importable", lambda: True)
    monkeypatch.delenv(ops.ENV_VAR, raising=False)
    assert _backend.AUTO_PICKS_TRITON is False
    assert _backend.select_backend("op", None, _FakeCuda(torch.float16), (64, 64), (48,)) == "torch"
    assert _backend.select_backend("op", "triton", _FakeCuda(torch.float16), (64, 64), (48,)) == "triton"


@pytest.mark.parametrize("dtype, head_dims, programs, limit", [
    (torch.float64, (16,), (1,), "dtype torch.float64"),
    (torch.float32, (320,), (1,), "head dim 320"),
    (torch.float32, (16,), (70000,), "70000 programs"),
])
def test_explicit_triton_refuses_what_the_kernels_cannot_run(monkeypatch, dtype, head_dims, programs, limit):
    from visionattn.ops import _backend
    monkeypatch.setattr(_backend, "triton_importable", lambda: True)
    with pytest.raises((TypeError, ValueError), match=rf"window_attention: backend 'triton' cannot run this call: {limit}"):
        _backend.select_backend("window_attention", "triton", _FakeCuda(dtype), head_dims, programs)


@pytest.mark.parametrize("op", ["window", "neighborhood", "routed"])
def test_head_dims_above_256_are_refused_by_triton_and_run_elsewhere(op):
    """The kernels hold a head in one tile of at most 256 channels: wider heads used to be cut to 256 (masked loads,
    wrong outputs). Now the triton backend refuses them, naming the limit, and the torch backend runs them."""
    q = torch.randn(1, 4, 4, 1, 320)
    calls = {
        "window": lambda backend: ops.window_attention(q, q, q, 2, backend=backend),
        "neighborhood": lambda backend: ops.neighborhood_attention(q, q, q, 3, backend=backend),
        "routed": lambda backend: ops.routed_attention(q, q, q, torch.zeros(1, 4, 1, dtype=torch.long), 2,
                                                       backend=backend),
    }
    with pytest.raises(ValueError, match="head dim 320.*at most 256"):
        calls[op]("triton")
    torch.testing.assert_close(calls[op]("torch"), calls[op]("reference"), atol=1e-5, rtol=1e-5)


def test_dense_attention_has_no_kernel_limits():
    """ops.attention's triton backend is SDPA: any head dim and dtype the torch backend takes."""
    q = torch.randn(1, 2, 5, 320, dtype=torch.float64)
    torch.testing.assert_close(ops.attention(q, q, q, backend="triton"), ops.attention(q, q, q, backend="reference"))
