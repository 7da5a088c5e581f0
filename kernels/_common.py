"""Pieces shared by the Triton kernels: tile sizes, dot precision, and the ahead-of-time compile specs
that ``tools/kernel_report.py`` turns into cubins."""
import contextlib
import os
from dataclasses import dataclass, field

import torch
import triton

MIN_TILE = 16  # tl.dot needs every tile dimension >= 16 on GPUs (the interpreter would accept less)

_large_interpreter_tiles = False


@contextlib.contextmanager
def large_interpreter_tiles():
    """Under ``TRITON_INTERPRET=1`` only: forward passes launch large tiles, so the interpreter runs a few big
    numpy programs instead of many small ones (~8x faster on a whole backbone). Model-level tests use it to
    check the wiring on full-size inputs; the configurations GPUs launch are the ones the kernel tests
    (tests/test_kernels_triton.py) and the compile report check. No effect on GPUs."""
    global _large_interpreter_tiles
    before, _large_interpreter_tiles = _large_interpreter_tiles, True
    try:
        yield
    finally:
        _large_interpreter_tiles = before


def large_tiles():
    return _large_interpreter_tiles and os.environ.get("TRITON_INTERPRET", "0") not in ("", "0")


TL_DTYPES = {torch.float16: "fp16", torch.bfloat16: "bf16", torch.float32: "fp32", torch.float64: "fp64"}


def tile(n, cap):
    """Power-of-two tile >= 16 covering n, at most cap."""
    return max(MIN_TILE, min(cap, triton.next_power_of_2(max(1, n))))


def dot_precision(dtype):
    """fp32 inputs follow torch's TF32 switch for matmuls, as cuBLAS-backed torch ops do."""
    if dtype == torch.float32 and torch.backends.cuda.matmul.allow_tf32:
        return "tf32"
    return "ieee"


def check_dtype(op, t):
    if t.dtype not in (torch.float16, torch.bfloat16, torch.float32):
        raise TypeError(f"{op}: the triton backend takes float16, bfloat16 or float32 inputs, got {t.dtype}; "
                        "use backend 'torch' or 'reference' for float64")


def grid_dims(*dims):
    """A launch grid; axes 1 and 2 are limited to 65535 programs on NVIDIA GPUs."""
    for d in dims[1:]:
        if d > 65535:
            raise ValueError(f"launch grid {dims} exceeds 65535 programs on axis 1 or 2")
    return tuple(int(d) for d in dims)


def strides(t, n):
    """The n strides of t, zeros for broadcast dims (expand keeps them 0)."""
    s = list(t.stride())
    assert len(s) == n, (t.shape, n)
    return s


@dataclass
class AotSpec:
    """One compiled configuration: the kernel, its argument types and its compile-time constants."""
    kernel: str
    config: str
    dtype: str
    fn: object
    signature: dict
    constexprs: dict
    num_warps: int = 4
    num_stages: int = 2
    attrs: dict = field(default_factory=dict)


def signature(fn, types, constexprs):
    """Every parameter of fn typed: constexprs as "constexpr", pointers / ints / floats as given by types."""
    sig = {}
    for name in fn.arg_names:
        if name in constexprs:
            sig[name] = "constexpr"
        elif name in types:
            sig[name] = types[name]
        else:
            sig[name] = "i32"  # sizes and strides
    return sig
