"""Helpers for the tests: compare two backends on outputs and gradients; run on a backend."""
import contextlib

import torch


def leaves(*tensors):
    return [None if t is None else t.detach().clone().requires_grad_(t.is_floating_point()) for t in tensors]


def run_with_grads(fn, inputs, seed=1):
    """fn(*inputs) and the gradients of a fixed random projection of its output w.r.t. every input."""
    inputs = leaves(*inputs)
    out = fn(*inputs)
    g = torch.Generator(torch.get_default_device()).manual_seed(seed)
    weight = torch.randn(out.shape, generator=g, dtype=out.dtype)
    (out * weight).sum().backward()
    return out.detach(), [None if t is None else t.grad for t in inputs]


def assert_close_backends(fn, inputs, atol=2e-5, rtol=1e-4, backends=("reference", "torch")):
    ref_out, ref_grads = run_with_grads(lambda *a: fn(*a, backend=backends[0]), inputs)
    out, grads = run_with_grads(lambda *a: fn(*a, backend=backends[1]), inputs)
    torch.testing.assert_close(out, ref_out, atol=atol, rtol=rtol)
    for i, (g, rg) in enumerate(zip(grads, ref_grads)):
        if rg is None:
            assert g is None or not g.abs().any(), f"input {i}: unexpected gradient"
            continue
        assert g is not None, f"input {i}: no gradient from {backends[1]}"
        torch.testing.assert_close(g, rg, atol=atol * 10, rtol=rtol * 10, msg=lambda m: f"grad of input {i}: {m}")
    return ref_out


@contextlib.contextmanager
def on_backend(backend):
    """Run on an attention backend; whole models on `triton` (the interpreter on CPU) launch large tiles so a
    full-size forward takes seconds, not minutes (kernels/_common.py: large_interpreter_tiles)."""
    from visionattn.kernels._common import large_interpreter_tiles
    from visionattn.ops import use_backend
    with use_backend(backend), (large_interpreter_tiles() if backend == "triton" else contextlib.nullcontext()):
        yield
