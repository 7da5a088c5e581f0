import random

import pytest
import torch
from timm.layers.halo_attn import HaloAttn
from timm.models.swin_transformer import SwinTransformerBlock

from _helpers import assert_close_backends
from visionattn.ops import window_attention


def random_case(seed, small=False):
    """A random window_attention call: odd / non-square / tiny maps, shifts, halos, strided queries, biases."""
    rng = random.Random(seed)
    b, heads = rng.randint(1, 2), rng.randint(1, 3)
    dqk, dv = rng.choice([(4, 4), (5, 5), (8, 8), (4, 6)])
    wh, ww = rng.randint(1, 5), rng.randint(1, 5)
    nh, nw = rng.randint(1, 3), rng.randint(1, 3)
    if small:  # gradcheck sizes
        b, heads, dqk, dv, wh, ww, nh, nw = 1, min(heads, 2), 3, 2, min(wh, 3), min(ww, 3), min(nh, 2), min(nw, 2)
    mode = rng.choice(["plain", "shift", "halo", "strided_halo"])
    stride = 2 if mode == "strided_halo" else 1
    halo = (rng.randint(0, 3), rng.randint(0, 3)) if "halo" in mode else (0, 0)
    shift = (rng.randint(0, wh - 1), rng.randint(0, ww - 1)) if mode == "shift" else (0, 0)
    hq, wq = wh * nh, ww * nw
    hk, wk = hq * stride, wq * stride
    q = torch.randn(b, hq, wq, heads, dqk)
    k = torch.randn(b, hk, wk, heads, dqk)
    v = torch.randn(b, hk, wk, heads, dv)
    lq, lk = wh * ww, (wh * stride + 2 * halo[0]) * (ww * stride + 2 * halo[1])
    bias = rng.choice([None, torch.randn(heads, 1, lq, lk), torch.randn(b, heads, nh * nw, lq, lk)])
    kwargs = dict(window_size=(wh, ww), shift_size=shift, halo_size=halo, scale=rng.choice([None, 0.3]))
    return (q, k, v, bias), kwargs


@pytest.mark.parametrize("seed", range(40))
def test_torch_matches_reference(seed):
    (q, k, v, bias), kw = random_case(seed)
    assert_close_backends(lambda q, k, v, bias, backend: window_attention(q, k, v, bias=bias, backend=backend, **kw),
                          [q, k, v, bias])


@pytest.mark.parametrize("backend", ["reference", "torch"])
@pytest.mark.parametrize("seed", range(8))
def test_gradcheck_float64(backend, seed):
    (q, k, v, bias), kw = random_case(seed, small=True)
    args = [t.double().requires_grad_() if t is not None else None for t in (q, k, v, bias)]
    fn = lambda q, k, v, bias: window_attention(q, k, v, bias=bias, backend=backend, **kw)  # noqa: E731
    assert torch.autograd.gradcheck(fn, args, atol=1e-6, rtol=1e-4, fast_mode=True)


def _swin_block(dim, heads, window, shift, res):
    block = SwinTransformerBlock(dim, input_resolution=res, num_heads=heads, window_size=window, shift_size=shift)
    with torch.no_grad():  # a non-zero bias table so the bias path is exercised
        block.attn.relative_position_bias_table.normal_(0, 1)
    return block.eval()


@pytest.mark.parametrize("window,shift,res", [(7, 0, (14, 21)), (7, 3, (14, 14)), (4, 2, (8, 12)), (3, 1, (9, 6))])
def test_matches_timm_swin_block(window, shift, res):
    dim, heads = 24, 3
    block = _swin_block(dim, heads, window, shift, res)
    x = torch.randn(2, *res, dim)
    expected = block._attn(x)
    attn = block.attn
    qkv = attn.qkv(x).view(2, *res, 3, heads, dim // heads)
    bias = attn._get_rel_pos_bias()[0][:, None]                  # (heads, 1, L, L)
    out = window_attention(qkv[..., 0, :, :], qkv[..., 1, :, :], qkv[..., 2, :, :], block.window_size,
                           shift_size=block.shift_size, bias=bias, backend="reference")
    got = attn.proj(out.reshape(2, *res, dim))
    torch.testing.assert_close(got, expected, atol=2e-5, rtol=1e-4)


@pytest.mark.parametrize("stride,block,halo,size", [(1, 4, 1, (8, 12)), (1, 8, 3, (16, 16)), (2, 4, 2, (8, 16))])
def test_matches_timm_halo_attn(stride, block, halo, size):
    dim, heads = 16, 2
    attn = HaloAttn(dim, dim_out=dim, stride=stride, num_heads=heads, block_size=block, halo_size=halo).eval()
    with torch.no_grad():
        attn.pos_embed.height_rel.normal_(0, 1)
        attn.pos_embed.width_rel.normal_(0, 1)
    x = torch.randn(2, dim, *size)
    expected = attn(x)
    b, hq, wq = 2, size[0] // stride, size[1] // stride
    dqk, dv = attn.dim_head_qk, attn.dim_head_v
    q = attn.q(x).view(b, heads, dqk, hq, wq).permute(0, 3, 4, 1, 2)
    kv = attn.kv(x).view(b, heads, dqk + dv, *size).permute(0, 3, 4, 1, 2)
    k, v = kv.split([dqk, dv], dim=-1)
    # timm's relative logits need its (B * heads, blocks, block_tokens, dim) query layout
    bs = attn.block_size_ds
    nh, nw = hq // bs, wq // bs
    q_blocks = q.permute(0, 3, 1, 2, 4).reshape(b * heads, nh, bs, nw, bs, dqk).permute(0, 1, 3, 2, 4, 5)
    q_blocks = q_blocks.reshape(b * heads, nh * nw, bs * bs, dqk)
    bias = attn.pos_embed(q_blocks).view(b, heads, nh * nw, bs * bs, -1)
    out = window_attention(q, k, v, bs, halo_size=halo, bias=bias, scale=attn.scale, backend="reference")
    got = out.permute(0, 3, 4, 1, 2).reshape(b, heads * dv, hq, wq)
    torch.testing.assert_close(got, expected, atol=2e-5, rtol=1e-4)


def test_shift_masks_exactly_like_timm():
    """The -100 region mask: tokens that timm keeps apart stay apart in every backend."""
    block = _swin_block(8, 1, 4, 2, (8, 8))
    mask = block.attn_mask                                      # (nW, L, L), 0 / -100
    from visionattn.ops.window import WindowGeometry, shift_mask
    g = WindowGeometry(1, 1, (8, 8), (8, 8), (4, 4), (2, 2), (4, 4), (0, 0), (2, 2), 8, 8)
    torch.testing.assert_close(shift_mask(g, "cpu", torch.float32), mask)


@pytest.mark.parametrize("backend", ["reference", "torch"])
def test_low_precision_inputs(backend):
    (q, k, v, bias), kw = random_case(3)
    ref = window_attention(q, k, v, bias=bias, backend="reference", **kw)
    for dtype in (torch.float16, torch.bfloat16):
        out = window_attention(q.to(dtype), k.to(dtype), v.to(dtype), bias=bias, backend=backend, **kw)
        assert out.dtype == dtype
        torch.testing.assert_close(out.float(), ref, atol=3e-2, rtol=3e-2)


def test_noncontiguous_inputs():
    qkv = torch.randn(2, 8, 8, 3, 2, 4)
    q, k, v = qkv.unbind(3)
    out = window_attention(q, k, v, 4, shift_size=2, backend="torch")
    ref = window_attention(q.contiguous(), k.contiguous(), v.contiguous(), 4, shift_size=2, backend="reference")
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-4)


def _maps(h=8, w=8, heads=2, d=4, b=1):
    return torch.randn(b, h, w, heads, d), torch.randn(b, h, w, heads, d), torch.randn(b, h, w, heads, d)


@pytest.mark.parametrize("call,error,match", [
    (lambda q, k, v: window_attention(q, k, v, 3), ValueError, r"window_size \(3, 3\) does not divide the query map 8x8"),
    (lambda q, k, v: window_attention(q[0], k, v, 4), ValueError, r"q must be a 5-D"),
    (lambda q, k, v: window_attention(q, k.double(), v, 4), TypeError, r"k has dtype torch.float64 but q has"),
    (lambda q, k, v: window_attention(q.int(), k.int(), v.int(), 4), TypeError, r"allowed: float16"),
    (lambda q, k, v: window_attention(q, k[..., :3], v, 4), ValueError, r"same head dim"),
    (lambda q, k, v: window_attention(q, k[:, :7], v[:, :7], 4), ValueError, r"cannot be cut into the 2x2 grid"),
    (lambda q, k, v: window_attention(q, k, v, 4, shift_size=4), ValueError, r"shift_size \(4, 4\) must lie in"),
    (lambda q, k, v: window_attention(q, k, v, 4, shift_size=2, halo_size=1), ValueError, r"no halo"),
    (lambda q, k, v: window_attention(q, k, v, 4, halo_size=-1), ValueError, r"halo_size must be >= 0"),
    (lambda q, k, v: window_attention(q, k, v, 4, bias=torch.randn(3, 16, 16)), ValueError, r"does not broadcast"),
    (lambda q, k, v: window_attention(q, k, v, 4.0), TypeError, r"window_size must be an int or a pair"),
    (lambda q, k, v: window_attention(q, k, v, 4, backend="cuda"), ValueError, r"unknown attention backend"),
])
def test_bad_calls_raise_clear_errors(call, error, match):
    with pytest.raises(error, match=match):
        call(*_maps())
