import random

import pytest
import torch

from _helpers import assert_close_backends
from visionattn.ops import routed_attention
from visionattn.ops import routed as routed_mod


def random_index(b, regions, topk, gen=None):
    return torch.stack([torch.randperm(regions, generator=gen)[:topk] for _ in range(b * regions)]).view(
        b, regions, topk)


def random_case(seed, small=False):
    """Odd / non-square region grids and region sizes, tiny regions (1 token), kv maps of another size."""
    rng = random.Random(seed)
    gen = torch.Generator(torch.get_default_device()).manual_seed(seed)
    sh, sw = rng.randint(1, 4), rng.randint(1, 4)
    rh, rw = rng.randint(1, 4), rng.randint(1, 4)
    kh, kw = (rh, rw) if rng.random() < 0.7 else (rng.randint(1, 3), rng.randint(1, 3))
    b, heads = rng.randint(1, 2), rng.randint(1, 3)
    dqk, dv = rng.choice([(4, 4), (8, 8), (5, 3)])
    if small:
        sh, sw, rh, rw, kh, kw, b, heads, dqk, dv = min(sh, 2), min(sw, 2), min(rh, 2), min(rw, 2), \
            min(kh, 2), min(kw, 2), 1, min(heads, 2), 3, 2
    regions = sh * sw
    topk = rng.randint(1, regions)
    q = torch.randn(b, sh * rh, sw * rw, heads, dqk, generator=gen)
    k = torch.randn(b, sh * kh, sw * kw, heads, dqk, generator=gen)
    v = torch.randn(b, sh * kh, sw * kw, heads, dv, generator=gen)
    index = random_index(b, regions, topk, gen)
    return (q, k, v), index, dict(num_regions=(sh, sw), scale=rng.choice([None, 0.2]))


def force_path(path, monkeypatch):
    """Force one of the torch backend's three strategies (gathered copies, flash per region, dense masked)."""
    if path == "auto":
        return
    monkeypatch.setattr(routed_mod, "GATHER_MAX_KEYS", 10 ** 9 if path == "gather" else 0)
    monkeypatch.setattr(routed_mod, "DENSE_MAX_KEYS", 10 ** 9 if path == "dense" else 0)
    monkeypatch.setattr(routed_mod, "DENSE_MIN_SHARE", 0.0)


@pytest.mark.parametrize("path", ["auto", "gather", "flash", "dense"])
@pytest.mark.parametrize("seed", range(30))
def test_torch_matches_reference(seed, path, monkeypatch):
    force_path(path, monkeypatch)
    (q, k, v), index, kw = random_case(seed)
    assert_close_backends(lambda q, k, v, backend: routed_attention(q, k, v, index, backend=backend, **kw),
                          [q, k, v])


@pytest.mark.parametrize("path", ["gather", "flash", "dense"])
@pytest.mark.parametrize("seed", range(6))
def test_gradcheck_float64(seed, path, monkeypatch):
    force_path(path, monkeypatch)
    (q, k, v), index, kw = random_case(seed, small=True)
    args = [t.double().requires_grad_() for t in (q, k, v)]
    for backend in ("reference", "torch"):
        assert torch.autograd.gradcheck(lambda q, k, v: routed_attention(q, k, v, index, backend=backend, **kw),
                                        args, atol=1e-6, rtol=1e-4, fast_mode=True)


def bra_loops(q, k, v, index, grid, scale):
    """BiFormer's token-to-token step written as loops over batch and regions."""
    b, hq, wq, n, _ = q.shape
    sh, sw = grid
    rqh, rqw, rkh, rkw = hq // sh, wq // sw, k.shape[1] // sh, k.shape[2] // sw
    out = torch.zeros(*q.shape[:4], v.shape[-1], dtype=torch.float64)
    for bi in range(b):
        for r in range(sh * sw):
            i, j = divmod(r, sw)
            qs = q[bi, i * rqh:(i + 1) * rqh, j * rqw:(j + 1) * rqw].reshape(-1, n, q.shape[-1]).double()
            ks, vs = [], []
            for sel in index[bi, r].tolist():
                y, x = divmod(sel, sw)
                ks.append(k[bi, y * rkh:(y + 1) * rkh, x * rkw:(x + 1) * rkw].reshape(-1, n, k.shape[-1]))
                vs.append(v[bi, y * rkh:(y + 1) * rkh, x * rkw:(x + 1) * rkw].reshape(-1, n, v.shape[-1]))
            ks, vs = torch.cat(ks).double(), torch.cat(vs).double()
            p = (torch.einsum("qnd,knd->nqk", qs, ks) * scale).softmax(-1)
            out[bi, i * rqh:(i + 1) * rqh, j * rqw:(j + 1) * rqw] = torch.einsum(
                "nqk,knd->qnd", p, vs).view(rqh, rqw, n, -1)
    return out


@pytest.mark.parametrize("seed", range(5))
def test_matches_region_loops(seed):
    (q, k, v), index, kw = random_case(seed)
    scale = kw["scale"] or q.shape[-1] ** -0.5
    expected = bra_loops(q, k, v, index, kw["num_regions"], scale)
    for backend in ("reference", "torch"):
        out = routed_attention(q, k, v, index, backend=backend, **kw)
        torch.testing.assert_close(out.double(), expected, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("path", ["gather", "flash", "dense"])
def test_a_region_routed_twice_counts_twice(path, monkeypatch):
    """The semantics concatenate the routed regions' keys, so a repeated region id enters the softmax twice."""
    force_path(path, monkeypatch)
    q, k, v = (torch.randn(2, 4, 4, 2, 8) for _ in range(3))
    index = torch.tensor([[0, 0, 1], [2, 3, 3], [1, 1, 1], [0, 2, 2]]).expand(2, 4, 3)
    ref = routed_attention(q, k, v, index, 2, backend="reference")
    torch.testing.assert_close(routed_attention(q, k, v, index, 2, backend="torch"), ref, atol=1e-5, rtol=1e-4)
    distinct = torch.tensor([[0, 2, 1], [2, 3, 0], [1, 0, 2], [0, 2, 3]]).expand(2, 4, 3)
    assert not torch.allclose(ref, routed_attention(q, k, v, distinct, 2, backend="reference"))


def test_biformer_stage_shapes():
    """BiFormer-T stage 1 / 3 at 224: 7x7 regions of 8x8 tokens, top-1; of 2x2 tokens, top-16."""
    for size, topk, heads in ((56, 1, 2), (14, 16, 8)):
        q, k, v = (torch.randn(1, size, size, heads, 32) for _ in range(3))
        index = random_index(1, 49, topk)
        ref = routed_attention(q, k, v, index, 7, backend="reference")
        torch.testing.assert_close(routed_attention(q, k, v, index, 7, backend="torch"), ref, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_low_precision_inputs(dtype, monkeypatch):
    (q, k, v), index, kw = random_case(2)
    ref = routed_attention(q, k, v, index, backend="reference", **kw)
    for limit in (0, 10 ** 9):
        monkeypatch.setattr(routed_mod, "GATHER_MAX_KEYS", limit)
        out = routed_attention(q.to(dtype), k.to(dtype), v.to(dtype), index, backend="torch", **kw)
        assert out.dtype == dtype
        torch.testing.assert_close(out.float(), ref, atol=3e-2, rtol=3e-2)


def _maps():
    return torch.randn(1, 8, 8, 2, 4), torch.randn(1, 8, 8, 2, 4), torch.randn(1, 8, 8, 2, 4)


@pytest.mark.parametrize("call,error,match", [
    (lambda q, k, v: routed_attention(q, k, v, torch.randint(0, 16, (1, 16, 17)), 4), ValueError,
     r"topk \(index.shape\[-1\] = 17\) must lie in \[1, 16\]"),
    (lambda q, k, v: routed_attention(q, k, v, random_index(1, 9, 2), 3), ValueError,
     r"q map 8x8 cannot be cut into a 3x3 grid"),
    (lambda q, k, v: routed_attention(q, k, v, random_index(1, 4, 2).float(), 2), TypeError, r"integer tensor"),
    (lambda q, k, v: routed_attention(q, k, v, random_index(1, 4, 2)[0], 2), ValueError, r"index must have shape"),
    (lambda q, k, v: routed_attention(q, k, v, random_index(1, 4, 2) + 3, 2), ValueError,
     r"they must lie in \[0, 3\]"),
    (lambda q, k, v: routed_attention(q, k[..., :2], v, random_index(1, 4, 2), 2), ValueError, r"same head dim"),
    (lambda q, k, v: routed_attention(q, k, v, random_index(1, 4, 2), 0), ValueError, r"num_regions must be positive"),
])
def test_bad_calls_raise_clear_errors(call, error, match):
    with pytest.raises(error, match=match):
        call(*_maps())
