"""Which implementation of an attention op runs.

A call picks its backend, in this order: the ``backend=`` argument, the innermost ``use_backend(...)``
block, the ``VISIONATTN_BACKEND`` environment variable, else ``"auto"``.

- ``reference``: plain PyTorch written to be obviously right; the ground truth of the tests.
- ``torch``: the fast path without Triton (batched GEMMs / SDPA), CPU and GPU.
- ``triton``: the kernels in ``visionattn.kernels``; CUDA tensors, or CPU tensors under
  ``TRITON_INTERPRET=1`` (the Triton interpreter, used by the tests).
- ``auto``: ``torch`` (SDPA on CUDA). The Triton kernels have been verified by the interpreter and by compiling
  them for sm_80 / sm_90, never on a GPU, so they are opt-in (``backend="triton"``) until ``make gpu-check`` has
  passed on real hardware; then ``AUTO_PICKS_TRITON = True`` makes ``auto`` take ``triton`` for CUDA tensors
  when Triton imports and its kernels can run the call (dtype, head dim, launch grid: ``select_backend``).
"""
import contextlib
import os
import threading

import torch

BACKENDS = ("auto", "reference", "torch", "triton")
# The one line to flip once `make gpu-check` has passed on a CUDA GPU (tools/gpu_check.py says so when it has).
AUTO_PICKS_TRITON = False
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


# What every Triton kernel shares (kernels/_common.py): float16 / bfloat16 / float32 inputs, a head held in one
# tile of at most 256 channels, and at most 65535 programs on launch axes 1 and 2 (CUDA's limit).
TRITON_DTYPES = (torch.float16, torch.bfloat16, torch.float32)
TRITON_MAX_HEAD_DIM = 256
TRITON_MAX_PROGRAMS = 65535


def triton_unsupported(dtype, head_dims=(), programs=()):
    """Why the Triton kernels cannot run a call, or None when they can.

    ``head_dims``: the query / key and value head dims; ``programs``: the sizes of the call's launch axes 1
    and 2 (e.g. batch * heads)."""
    if dtype not in TRITON_DTYPES:
        return f"dtype {dtype} (the kernels take float16, bfloat16 or float32)"
    widest = max(head_dims, default=0)
    if widest > TRITON_MAX_HEAD_DIM:
        return (f"head dim {widest} (the kernels hold a head in one tile of at most {TRITON_MAX_HEAD_DIM} "
                "channels)")
    most = max(programs, default=0)
    if most > TRITON_MAX_PROGRAMS:
        return f"{most} programs on one launch axis (batch x heads; CUDA allows at most {TRITON_MAX_PROGRAMS})"
    return None


def select_backend(op, backend, tensor: torch.Tensor, head_dims=(), programs=(), kernel=True) -> str:
    """The concrete backend ("reference", "torch" or "triton") that runs ``op`` on ``tensor``: the one place
    where an op's capability is decided. ``auto`` takes triton only for CUDA tensors the kernels can run
    (see ``triton_unsupported``) once ``AUTO_PICKS_TRITON`` is set, else torch; an explicit ``triton`` that cannot run the call raises,
    naming the limit. ``kernel=False``: the op's triton path is not a kernel of ours (dense attention is SDPA
    there), so the kernels' limits do not apply."""
    name = current_backend() if backend is None else _check_name(backend, "backend= argument")
    reason = triton_unsupported(tensor.dtype, head_dims, programs) if kernel else None
    if name == "auto":
        return "triton" if (AUTO_PICKS_TRITON and tensor.is_cuda and triton_importable() and reason is None) \
            else "torch"
    if name == "triton":
        if not triton_importable():
            raise RuntimeError("backend 'triton' needs the triton package, which is not installed; "
                               "use backend 'torch' (or 'auto') on this machine")
        if not tensor.is_cuda and not triton_interpreting():
            raise RuntimeError(f"backend 'triton' runs on CUDA tensors; got a {tensor.device.type} tensor. "
                               "Set TRITON_INTERPRET=1 to run the kernels on CPU through the Triton "
                               "interpreter (slow, for tests), or use backend 'torch'")
        if reason is not None:
            error = TypeError if tensor.dtype not in TRITON_DTYPES else ValueError
            raise error(f"{op}: backend 'triton' cannot run this call: {reason}; use backend 'torch' "
                        "(or 'auto', which picks the backend that can)")
    return name


def resolve_backend(backend, tensor: torch.Tensor) -> str:
    """The concrete backend for ``tensor`` with no op-specific limits (see ``select_backend``)."""
    return select_backend("attention", backend, tensor, kernel=False)
