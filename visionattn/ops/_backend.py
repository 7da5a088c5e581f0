"""Which implementation of an attention op runs.

A call picks its backend, in this order: the ``backend=`` argument, the innermost ``use_backend(...)``
block, the ``VISIONATTN_BACKEND`` environment variable, else ``"auto"``.

- ``reference``: plain PyTorch written to be obviously right; the ground truth of the tests.
- ``torch``: the fast path without Triton (batched GEMMs / SDPA), CPU and GPU.
- ``triton``: the kernels in ``visionattn.kernels``; CUDA tensors, or CPU tensors under
  ``TRITON_INTERPRET=1`` (the Triton interpreter, used by the tests).
- ``auto``: ``triton`` for CUDA tensors when Triton imports, else ``torch``.
"""
import contextlib
import os
import threading

import torch

BACKENDS = ("auto", "reference", "torch", "triton")
ENV_VAR = "VISIONATTN_BACKEND"

_state = threading.local()


def _stack():
    if not hasattr(_state, "stack"):
        _state.stack = []
    return _state.stack


def _check_name(name, where):
    if name not in BACKENDS:
        raise ValueError(f"unknown attention backend {name!r} ({where}); choose one of {', '.join(BACKENDS)}")
    return name


@contextlib.contextmanager
def use_backend(name):
    """Run the attention ops inside the block with backend ``name`` (unless a call passes its own)."""
    _stack().append(_check_name(name, "use_backend"))
    try:
        yield
    finally:
        _stack().pop()


def current_backend():
    """The backend name in force here (before ``auto`` is resolved for a tensor)."""
    stack = _stack()
    if stack:
        return stack[-1]
    env = os.environ.get(ENV_VAR)
    if env:
        return _check_name(env.strip().lower(), f"environment variable {ENV_VAR}")
    return "auto"


def triton_interpreting():
    return os.environ.get("TRITON_INTERPRET", "0") not in ("", "0")


def triton_importable():
    try:
        import triton  # noqa: F401
    except ImportError:
        return False
    return True


def resolve_backend(backend, tensor: torch.Tensor) -> str:
    """The concrete backend ("reference", "torch" or "triton") that runs an op on ``tensor``."""
    name = current_backend() if backend is None else _check_name(backend, "backend= argument")
    if name == "auto":
        return "triton" if tensor.is_cuda and triton_importable() else "torch"
    if name == "triton":
        if not triton_importable():
            raise RuntimeError("backend 'triton' needs the triton package, which is not installed; "
                               "use backend 'torch' (or 'auto') on this machine")
        if not tensor.is_cuda and not triton_interpreting():
            raise RuntimeError(f"backend 'triton' runs on CUDA tensors; got a {tensor.device.type} tensor. "
                               "Set TRITON_INTERPRET=1 to run the kernels on CPU through the Triton "
                               "interpreter (slow, for tests), or use backend 'torch'")
    return name
