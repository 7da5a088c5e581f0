"""Argument checks shared by the attention ops: every bad call ends in an error that says what was
wrong and what is allowed."""
import functools

import torch

FLOAT_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


def _is_int(v):
    # a SymInt: a size under torch.export with dynamic shapes (e.g. CSWin's stripes span the whole map)
    return isinstance(v, (int, torch.SymInt)) and not isinstance(v, bool)


def pair(value, name):
    """An int or a pair of ints as a (height, width) tuple of ints."""
    if _is_int(value):
        return (value, value)
    if isinstance(value, (tuple, list)) and len(value) == 2 and all(_is_int(v) for v in value):
        return (value[0], value[1])
    raise TypeError(f"{name} must be an int or a pair of ints (height, width), got {value!r}")


def check_maps(op, names_and_tensors, extra_dims=""):
    """q / k / v as (B, H, W, heads, dim) maps of one floating dtype on one device."""
    ref_name, ref = names_and_tensors[0]
    for name, t in names_and_tensors:
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"{op}: {name} must be a torch.Tensor, got {type(t).__name__}")
        if t.dim() != 5:
            raise ValueError(f"{op}: {name} must be a 5-D (batch, height, width, heads, head_dim) map, "
                             f"got shape {tuple(t.shape)}")
        if t.dtype not in FLOAT_DTYPES:
            raise TypeError(f"{op}: {name} has dtype {t.dtype}; allowed: float16, bfloat16, float32, float64")
        if t.dtype != ref.dtype:
            raise TypeError(f"{op}: {name} has dtype {t.dtype} but {ref_name} has {ref.dtype}; "
                            "pass them in one dtype")
        if t.device != ref.device:
            raise ValueError(f"{op}: {name} is on {t.device} but {ref_name} is on {ref.device}")
        if t.shape[0] != ref.shape[0] or t.shape[3] != ref.shape[3]:
            raise ValueError(f"{op}: {name} has batch {t.shape[0]} and {t.shape[3]} heads but {ref_name} has "
                             f"batch {ref.shape[0]} and {ref.shape[3]} heads; they must match")
        if min(t.shape) == 0:
            raise ValueError(f"{op}: {name} is empty (shape {tuple(t.shape)})")


def check_same(op, a_name, a, b_name, b, what):
    if a != b:
        raise ValueError(f"{op}: {a_name} and {b_name} must have the same {what}, got {a} and {b}")


def check_bias(op, name, bias, ref, full_shape, layout):
    """An additive score bias: floating, on ``ref``'s device, broadcastable to ``full_shape``."""
    if bias is None:
        return None
    if not isinstance(bias, torch.Tensor):
        raise TypeError(f"{op}: {name} must be a torch.Tensor or None, got {type(bias).__name__}")
    if bias.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{op}: {name} has dtype {bias.dtype}; it must be floating")
    if bias.device != ref.device:
        raise ValueError(f"{op}: {name} is on {bias.device} but the queries are on {ref.device}")
    try:
        torch.broadcast_shapes(tuple(bias.shape), tuple(full_shape))
        ok = bias.dim() <= len(full_shape)
    except RuntimeError:
        ok = False
    if not ok:
        raise ValueError(f"{op}: {name} of shape {tuple(bias.shape)} does not broadcast to {layout} = "
                         f"{tuple(full_shape)}")
    return bias


def _flat(args):
    for a in args:
        if isinstance(a, (tuple, list)):
            yield from _flat(a)
        else:
            yield a


def cached_tensors(maxsize):
    """``functools.lru_cache`` for functions that build constant index / geometry tensors from sizes: the
    tensors are built outside inference mode, so a table first built under ``torch.inference_mode()`` (an
    evaluation) can still be saved for backward when the same sizes come back in training."""
    def wrap(fn):
        cached = functools.lru_cache(maxsize=maxsize)(fn)

        @functools.wraps(fn)
        def call(*args):
            with torch.inference_mode(False):
                # symbolic sizes (torch.export with dynamic shapes) cannot key a cache: built in the graph instead
                if any(isinstance(a, torch.SymInt) for a in _flat(args)):
                    return fn(*args)
                return cached(*args)
        call.cache_clear = cached.cache_clear
        return call
    return wrap


def default_scale(scale, head_dim):
    return head_dim ** -0.5 if scale is None else float(scale)


def compute_dtype(dtype):
    """The reference backend computes in fp32 at least (fp64 stays fp64, for gradcheck)."""
    return torch.promote_types(dtype, torch.float32)


def autocasting(t: torch.Tensor) -> bool:
    """Whether autocast is on for ``t``'s device; False on devices autocast does not know (e.g. "meta", where
    timm's config tests build models, and torch.is_autocast_enabled raises)."""
    return t.device.type != "meta" and torch.is_autocast_enabled(t.device.type)
