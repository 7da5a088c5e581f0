import random

import pytest
import torch
import torch.nn.functional as F

from _helpers import assert_close_backends
from visionattn.ops import neighborhood_aggregate, neighborhood_attention, neighborhood_scores


def random_case(seed, small=False):
    """A random neighborhood call: odd / non-square / tiny maps, kernels 1-7, dilation 1-3, both borders,
    relative position bias, extra tokens with and without their own bias."""
    rng = random.Random(seed)
    border = rng.choice(["clamp", "mask"])
    kh, kw = rng.choice([1, 3, 5, 7]), rng.choice([1, 3, 5])
    dh, dw = rng.randint(1, 3), rng.randint(1, 3)
    if small:
        kh, kw, dh, dw = min(kh, 3), min(kw, 3), min(dh, 2), min(dw, 2)
    if border == "clamp":
        h, w = rng.randint(kh * dh, kh * dh + 4), rng.randint(kw * dw, kw * dw + 4)
    else:
        h, w = rng.randint(1, 9), rng.randint(1, 9)
    b, heads = rng.randint(1, 2), rng.randint(1, 3)
    dqk, dv = rng.choice([(4, 4), (3, 5), (8, 8)])
    if small:
        b, h, w, heads, dqk, dv = 1, min(h, 6), min(w, 6), min(heads, 2), 3, 2
        if border == "clamp":
            h, w = max(h, kh * dh), max(w, kw * dw)
    q, k = torch.randn(b, h, w, heads, dqk), torch.randn(b, h, w, heads, dqk)
    v = torch.randn(b, h, w, heads, dv)
    bias = rng.choice([None, torch.randn(heads, 2 * kh - 1, 2 * kw - 1)])
    extra = rng.choice([0, 0, 1, 4])
    ek = torch.randn(b, extra, heads, dqk) if extra else None
    ev = torch.randn(b, extra, heads, dv) if extra else None
    eb = rng.choice([None, torch.randn(1, h, w, heads, extra)]) if extra else None
    kwargs = dict(kernel_size=(kh, kw), dilation=(dh, dw), border=border, scale=rng.choice([None, 0.5]))
    return (q, k, v, bias, ek, ev, eb), kwargs


def _attn(q, k, v, bias, ek, ev, eb, backend, **kw):
    return neighborhood_attention(q, k, v, bias=bias, extra_k=ek, extra_v=ev, extra_bias=eb, backend=backend, **kw)


@pytest.mark.parametrize("seed", range(40))
def test_attention_torch_matches_reference(seed):
    args, kw = random_case(seed)
    assert_close_backends(lambda *a, backend: _attn(*a, backend=backend, **kw), list(args))


@pytest.mark.parametrize("seed", range(20))
def test_primitives_torch_match_reference(seed):
    (q, k, v, bias, *_), kw = random_case(seed)
    scale = kw.pop("scale")

    def scores(q, k, bias, backend):
        s = neighborhood_scores(q, k, bias=bias, scale=scale, backend=backend, **kw)
        return torch.nan_to_num(s, neginf=-1e4)  # masked slots: -inf in both, compared as a large number

    assert_close_backends(scores, [q, k, bias])
    weights = torch.randn(*q.shape[:4], kw["kernel_size"][0] * kw["kernel_size"][1])
    assert_close_backends(lambda w, v, backend: neighborhood_aggregate(w, v, backend=backend, **kw), [weights, v])


@pytest.mark.parametrize("backend", ["reference", "torch"])
@pytest.mark.parametrize("seed", range(8))
def test_gradcheck_float64(backend, seed):
    args, kw = random_case(seed, small=True)
    args = [t.double().requires_grad_() if t is not None else None for t in args]
    assert torch.autograd.gradcheck(lambda *a: _attn(*a, backend=backend, **kw), args, atol=1e-6, rtol=1e-4,
                                    fast_mode=True)


# ---------------------------------------------------------------------------------------------------------------
# independent oracles, written from the definitions

def natten_window_start(index, length, kernel, dilation):
    """NATTEN's get_window_start, as its CPU / CUDA sources state it."""
    r = kernel // 2
    if dilation <= 1:
        return max(index - r, 0) + (index + r >= length) * (length - index - r - 1)
    ni = index - r * dilation
    if ni < 0:
        return index % dilation
    if index + r * dilation >= length:
        imodd = index % dilation
        a = (length // dilation) * dilation
        b = length - a
        if imodd < b:
            return length - b + imodd - 2 * r * dilation
        return a + imodd - kernel * dilation
    return ni


def natten_pb_start(index, length, kernel, dilation):
    """NATTEN's get_pb_start."""
    r = kernel // 2
    if dilation <= 1:
        return r + (index < r) * (r - index) + (index + r >= length) * (length - index - 1 - r)
    if index - r * dilation < 0:
        return kernel - 1 - (index // dilation)
    if index + r * dilation >= length:
        return (length - index - 1) // dilation
    return r


def natten_loops(q, k, v, kernel, dilation, rpb, scale):
    b, h, w, n, _ = q.shape
    out = torch.zeros(*q.shape[:4], v.shape[-1], dtype=torch.float64)
    for i in range(h):
        for j in range(w):
            sy, sx = natten_window_start(i, h, kernel, dilation), natten_window_start(j, w, kernel, dilation)
            py, px = natten_pb_start(i, h, kernel, dilation), natten_pb_start(j, w, kernel, dilation)
            keys = [(sy + ty * dilation, sx + tx * dilation, py + ty, px + tx)
                    for ty in range(kernel) for tx in range(kernel)]
            ys, xs = [t[0] for t in keys], [t[1] for t in keys]
            s = torch.einsum("bnd,btnd->bnt", q[:, i, j].double(), k[:, ys, xs].double()) * scale
            s = s + torch.stack([rpb[:, t[2], t[3]] for t in keys], dim=-1).double()
            out[:, i, j] = torch.einsum("bnt,btnd->bnd", s.softmax(-1), v[:, ys, xs].double())
    return out


@pytest.mark.parametrize("size,kernel,dilation", [((7, 9), 3, 1), ((9, 8), 5, 1), ((8, 11), 3, 2),
                                                   ((13, 12), 3, 3), ((10, 9), 3, 3), ((14, 15), 5, 2)])
def test_clamp_matches_natten_definition(size, kernel, dilation):
    q, k, v = (torch.randn(2, *size, 2, 4) for _ in range(3))
    rpb = torch.randn(2, 2 * kernel - 1, 2 * kernel - 1)
    expected = natten_loops(q, k, v, kernel, dilation, rpb, 0.5)
    for backend in ("reference", "torch"):
        out = neighborhood_attention(q, k, v, kernel, dilation=dilation, bias=rpb, scale=0.5, backend=backend)
        torch.testing.assert_close(out.double(), expected, atol=1e-5, rtol=1e-4)


def transnext_style(q, k, v, kernel, rpb_local, pool_k, pool_v):
    """TransNeXt's native aggregated attention core: unfold with zero padding, padding mask, pooled keys
    in the same softmax; rpb_local is its (heads, kernel * kernel) per-slot table."""
    b, h, w, n, d = q.shape
    unfold = lambda x: F.unfold(x.permute(0, 3, 4, 1, 2).reshape(b, n * x.shape[-1], h, w), kernel,  # noqa: E731
                                padding=kernel // 2).view(b, n, x.shape[-1], kernel * kernel, h, w)
    k_local, v_local = unfold(k), unfold(v)                                  # (B, heads, D, K, H, W)
    pad = F.unfold(torch.ones(1, 1, h, w), kernel, padding=kernel // 2).view(1, 1, kernel * kernel, h, w) == 0
    local = torch.einsum("bhwnd,bndkhw->bhwnk", q, k_local) + rpb_local[None, None, None]
    local = local.masked_fill(pad.permute(0, 3, 4, 1, 2), float("-inf"))
    pool = torch.einsum("bhwnd,bend->bhwne", q, pool_k)
    probs = torch.cat([local, pool], -1).softmax(-1)
    p_local, p_pool = probs.split([kernel * kernel, pool_k.shape[1]], -1)
    return (torch.einsum("bhwnk,bndkhw->bhwnd", p_local, v_local)
            + torch.einsum("bhwne,bend->bhwnd", p_pool, pool_v))


@pytest.mark.parametrize("size,kernel", [((7, 7), 3), ((5, 9), 3), ((2, 3), 3), ((6, 4), 5)])
def test_mask_matches_transnext_unfold(size, kernel):
    q, k, v = (torch.randn(2, *size, 2, 4) for _ in range(3))
    pool_k, pool_v = torch.randn(2, 5, 2, 4), torch.randn(2, 5, 2, 4)
    rpb_local = torch.randn(2, kernel * kernel)
    expected = transnext_style(q, k, v, kernel, rpb_local, pool_k, pool_v)
    r = kernel // 2
    rpb = F.pad(rpb_local.view(2, kernel, kernel), (r, r, r, r))       # the per-slot table inside the full one
    for backend in ("reference", "torch"):
        out = neighborhood_attention(q, k, v, kernel, border="mask", bias=rpb, scale=1.0, extra_k=pool_k,
                                     extra_v=pool_v, backend=backend)
        torch.testing.assert_close(out, expected, atol=2e-5, rtol=1e-4)


def test_masked_slots_add_nothing_to_the_aggregate():
    v = torch.randn(1, 3, 3, 1, 2)
    weights = torch.ones(1, 3, 3, 1, 9)
    for backend in ("reference", "torch"):
        out = neighborhood_aggregate(weights, v, 3, border="mask", backend=backend)
        torch.testing.assert_close(out[0, 0, 0, 0], v[0, :2, :2, 0].sum((0, 1)))


def test_composition_equals_fused():
    (q, k, v, bias, *_), kw = random_case(11)
    scale = kw.pop("scale")
    for backend in ("reference", "torch"):
        s = neighborhood_scores(q, k, bias=bias, scale=scale, backend=backend, **kw)
        composed = neighborhood_aggregate(s.softmax(-1), v, backend=backend, **kw)
        fused = neighborhood_attention(q, k, v, bias=bias, scale=scale, backend=backend, **kw)
        torch.testing.assert_close(composed, fused, atol=1e-5, rtol=1e-4)


def _maps(h=8, w=8):
    return torch.randn(1, h, w, 2, 4), torch.randn(1, h, w, 2, 4), torch.randn(1, h, w, 2, 4)


@pytest.mark.parametrize("call,error,match", [
    (lambda q, k, v: neighborhood_attention(q, k, v, 4), ValueError, r"kernel_size must be odd"),
    (lambda q, k, v: neighborhood_attention(q, k, v, 9), ValueError, r"needs a map height of at least 9"),
    (lambda q, k, v: neighborhood_attention(q, k, v, 3, dilation=3), ValueError, r"at least 9 tokens"),
    (lambda q, k, v: neighborhood_attention(q, k, v, 3, dilation=0), ValueError, r"dilation must be >= 1"),
    (lambda q, k, v: neighborhood_attention(q, k, v, 3, border="zero"), ValueError, r"border must be one of"),
    (lambda q, k, v: neighborhood_attention(q, k, v, 3, bias=torch.randn(2, 3, 3)), ValueError,
     r"\(heads, 2 \* kernel_h - 1, 2 \* kernel_w - 1\) = \(2, 5, 5\)"),
    (lambda q, k, v: neighborhood_attention(q, k[:, :7], v, 3), ValueError, r"same map size"),
    (lambda q, k, v: neighborhood_attention(q, k, v, 3, extra_k=torch.randn(1, 4, 2, 4)), ValueError,
     r"pass extra_k and extra_v together"),
    (lambda q, k, v: neighborhood_attention(q, k, v, 3, extra_k=torch.randn(1, 4, 2, 4),
                                            extra_v=torch.randn(1, 5, 2, 4)), ValueError, r"extra_v must have shape"),
    (lambda q, k, v: neighborhood_scores(q, k.half(), 3), TypeError, r"k has dtype torch.float16"),
    (lambda q, k, v: neighborhood_aggregate(torch.randn(1, 8, 8, 2, 8), v, 3), ValueError, r"must have kernel_h"),
])
def test_bad_calls_raise_clear_errors(call, error, match):
    with pytest.raises(error, match=match):
        call(*_maps())


def test_mask_mode_accepts_maps_smaller_than_the_kernel():
    q, k, v = _maps(2, 1)
    out = neighborhood_attention(q, k, v, 7, border="mask", backend="torch")
    ref = neighborhood_attention(q, k, v, 7, border="mask", backend="reference")
    torch.testing.assert_close(out, ref)
