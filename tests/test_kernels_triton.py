"""The Triton backend against the reference: forward and every gradient, fp32 and fp16, on the randomized
shapes of the ops tests (small sizes: without a GPU this runs in Triton's interpreter)."""
import pytest
import torch

pytest.importorskip("triton", reason="triton comes with CUDA builds of torch; a CPU-only install has none")

import test_ops_neighborhood as na_cases
import test_ops_routed as routed_cases
import test_ops_window as window_cases
from _helpers import assert_close_backends
from visionattn.ops import (neighborhood_aggregate, neighborhood_attention, neighborhood_scores,
                            routed_attention, window_attention)

BACKENDS = ("reference", "triton")
LOW = dict(atol=2e-2, rtol=2e-2)  # fp16 against the fp32-computing reference


def _half(tensors):
    return [None if t is None else t.half() for t in tensors]


@pytest.mark.parametrize("seed", range(16))
def test_window(seed):
    (q, k, v, bias), kw = window_cases.random_case(seed)
    assert_close_backends(lambda q, k, v, bias, backend: window_attention(q, k, v, bias=bias, backend=backend, **kw),
                          [q, k, v, bias], backends=BACKENDS)


@pytest.mark.parametrize("window,shift,halo,stride,size", [
    ((7, 7), (3, 3), 0, 1, (14, 14)),   # Swin SW-MSA, two backward query tiles per window
    ((8, 8), (0, 0), 2, 1, (16, 8)),    # HaloNet
    ((4, 4), (0, 0), 3, 2, (8, 8)),     # HaloNet with strided queries
    ((6, 9), (2, 4), 0, 1, (12, 18)),   # non-square, > 32 queries
])
def test_window_backbone_shapes(window, shift, halo, stride, size):
    heads, d = 2, 16
    q = torch.randn(1, size[0], size[1], heads, d)
    k, v = torch.randn(1, size[0] * stride, size[1] * stride, heads, d), torch.randn(1, size[0] * stride,
                                                                                   size[1] * stride, heads, d)
    lk = (window[0] * stride + 2 * halo) * (window[1] * stride + 2 * halo)
    bias = torch.randn(heads, 1, window[0] * window[1], lk)
    kw = dict(window_size=window, shift_size=shift, halo_size=halo)
    assert_close_backends(lambda q, k, v, bias, backend: window_attention(q, k, v, bias=bias, backend=backend, **kw),
                          [q, k, v, bias], backends=BACKENDS)


@pytest.mark.parametrize("seed", range(4))
def test_window_fp16(seed):
    (q, k, v, bias), kw = window_cases.random_case(seed, small=True)
    assert_close_backends(lambda q, k, v, bias, backend: window_attention(q, k, v, bias=bias, backend=backend, **kw),
                          _half([q, k, v]) + [bias], backends=BACKENDS, **LOW)


@pytest.mark.parametrize("seed", range(12))
def test_neighborhood(seed):
    args, kw = na_cases.random_case(seed)
    assert_close_backends(lambda *a, backend: na_cases._attn(*a, backend=backend, **kw), list(args),
                          backends=BACKENDS)


@pytest.mark.parametrize("seed", range(8))
def test_neighborhood_primitives(seed):
    (q, k, v, bias, *_), kw = na_cases.random_case(seed)
    scale = kw.pop("scale")

    def scores(q, k, bias, backend):
        s = neighborhood_scores(q, k, bias=bias, scale=scale, backend=backend, **kw)
        return torch.nan_to_num(s, neginf=-1e4)

    assert_close_backends(scores, [q, k, bias], backends=BACKENDS)
    weights = torch.randn(*q.shape[:4], kw["kernel_size"][0] * kw["kernel_size"][1])
    assert_close_backends(lambda w, v, backend: neighborhood_aggregate(w, v, backend=backend, **kw), [weights, v],
                          backends=BACKENDS)


def test_neighborhood_transnext_shape():
    """TransNeXt stage 4 at 224: 7x7 map, 3x3 masked window, 49 pooled tokens with their own bias."""
    q, k, v = (torch.randn(1, 7, 7, 2, 16) for _ in range(3))
    ek, ev, eb = torch.randn(1, 49, 2, 16), torch.randn(1, 49, 2, 16), torch.randn(1, 7, 7, 2, 49)
    rpb = torch.randn(2, 5, 5)
    assert_close_backends(
        lambda q, k, v, rpb, ek, ev, eb, backend: neighborhood_attention(
            q, k, v, 3, border="mask", bias=rpb, extra_k=ek, extra_v=ev, extra_bias=eb, scale=1.0, backend=backend),
        [q, k, v, rpb, ek, ev, eb], backends=BACKENDS)


@pytest.mark.parametrize("seed", range(3))
def test_neighborhood_fp16(seed):
    args, kw = na_cases.random_case(seed, small=True)
    args = list(args)
    args[:3] = _half(args[:3])
    args[4:6] = _half(args[4:6])
    assert_close_backends(lambda *a, backend: na_cases._attn(*a, backend=backend, **kw), args, backends=BACKENDS,
                          **LOW)


@pytest.mark.parametrize("seed", range(12))
def test_routed(seed):
    (q, k, v), index, kw = routed_cases.random_case(seed)
    assert_close_backends(lambda q, k, v, backend: routed_attention(q, k, v, index, backend=backend, **kw),
                          [q, k, v], backends=BACKENDS)


@pytest.mark.parametrize("size,topk", [(14, 16), (28, 4)])
def test_routed_biformer_shapes(size, topk):
    """BiFormer-T stages 3 and 2 at 224: 2x2-token regions (packed 4 / 8 to a program), 4x4-token regions."""
    q, k, v = (torch.randn(1, size, size, 2, 16) for _ in range(3))
    index = routed_cases.random_index(1, 49, topk)
    assert_close_backends(lambda q, k, v, backend: routed_attention(q, k, v, index, 7, backend=backend),
                          [q, k, v], backends=BACKENDS)


@pytest.mark.parametrize("seed", range(3))
def test_routed_fp16(seed):
    (q, k, v), index, kw = routed_cases.random_case(seed, small=True)
    assert_close_backends(lambda q, k, v, backend: routed_attention(q, k, v, index, backend=backend, **kw),
                          _half([q, k, v]), backends=BACKENDS, **LOW)


def test_float64_is_refused_with_a_clear_error():
    q = torch.randn(1, 4, 4, 1, 4, dtype=torch.float64)
    with pytest.raises(TypeError, match=r"backend 'triton' cannot run this call: dtype torch.float64 \(the kernels "
                                        r"take float16, bfloat16 or float32"):
        window_attention(q, q, q, 2, backend="triton")
