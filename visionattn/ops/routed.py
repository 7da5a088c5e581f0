"""Routed attention: the queries of each region attend to the tokens of the regions routed to it
(BiFormer's bi-level routing attention, token-to-token step; the routing itself belongs to the layer).

Semantics (every backend computes exactly this):

- ``q`` (B, Hq, Wq, heads, Dqk), ``k`` (B, Hk, Wk, heads, Dqk), ``v`` (B, Hk, Wk, heads, Dv) are each cut
  into the same ``num_regions`` grid (Sh, Sw) of equal regions, numbered row-major: query regions of
  (Hq / Sh) x (Wq / Sw) tokens, key regions of (Hk / Sh) x (Wk / Sw) tokens.
- ``index`` (B, Sh * Sw, topk), integer: the key regions each query region attends to.
- The queries of region r attend, in one softmax, to the keys of regions index[b, r, 0..topk-1]
  (their tokens concatenated); scores = scale * q.k, scale defaulting to Dqk ** -0.5 (BiFormer passes
  its own). Returns (B, Hq, Wq, heads, Dv).
"""
import torch
import torch.nn.functional as F

from ._backend import select_backend
from ._checks import check_maps, check_same, compute_dtype, default_scale, pair

_OP = "routed_attention"


def routed_attention(q, k, v, index, num_regions, *, scale=None, backend=None):
    """Region-to-region routed attention; see the module docstring for the exact semantics."""
    check_maps(_OP, [("q", q), ("k", k), ("v", v)])
    check_same(_OP, "q", q.shape[-1], "k", k.shape[-1], "head dim")
    check_same(_OP, "k", tuple(k.shape[1:3]), "v", tuple(v.shape[1:3]), "map size")
    grid = pair(num_regions, "num_regions")
    if min(grid) < 1:
        raise ValueError(f"{_OP}: num_regions must be positive, got {grid}")
    for name, t in (("q", q), ("k", k)):
        h, w = t.shape[1:3]
        if h % grid[0] or w % grid[1]:
            raise ValueError(f"{_OP}: the {name} map {h}x{w} cannot be cut into a {grid[0]}x{grid[1]} grid of "
                             f"equal regions; pad it to a multiple of {grid[0]}x{grid[1]} first "
                             "(BiFormer's auto-padding)")
    regions = grid[0] * grid[1]
    _check_index(index, q, regions)
    scale = default_scale(scale, q.shape[-1])
    name = select_backend(_OP, backend, q, head_dims=(q.shape[-1], v.shape[-1]),
                          programs=(q.shape[0] * q.shape[3],))
    if name == "reference":
        return _routed_reference(q, k, v, index, grid, scale)
    if name == "torch":
        return _routed_torch(q, k, v, index, grid, scale)
    from visionattn.kernels import routed as routed_kernels
    return routed_kernels.routed_attention(q, k, v, index, grid, scale)


def _check_index(index, q, regions):
    if not isinstance(index, torch.Tensor):
        raise TypeError(f"{_OP}: index must be a torch.Tensor, got {type(index).__name__}")
    if index.dtype.is_floating_point or index.dtype.is_complex or index.dtype == torch.bool:
        raise TypeError(f"{_OP}: index must be an integer tensor of region ids, got dtype {index.dtype}")
    expect = (q.shape[0], regions)
    if index.dim() != 3 or tuple(index.shape[:2]) != expect:
        raise ValueError(f"{_OP}: index must have shape (batch, regions, topk) = ({expect[0]}, {expect[1]}, topk), "
                         f"got {tuple(index.shape)}")
    if index.device != q.device:
        raise ValueError(f"{_OP}: index is on {index.device} but the queries are on {q.device}")
    topk = index.shape[-1]
    if not 1 <= topk <= regions:
        raise ValueError(f"{_OP}: topk (index.shape[-1] = {topk}) must lie in [1, {regions}] for {regions} regions")
    # Checked where it costs no device sync; on GPU the indices come from torch.topk in practice.
    if index.device.type == "cpu" and not torch.compiler.is_compiling():
        lo, hi = int(index.min()), int(index.max())
        if lo < 0 or hi >= regions:
            raise ValueError(f"{_OP}: index holds region ids in [{lo}, {hi}]; they must lie in [0, {regions - 1}]")


def _partition(x, grid):
    """(B, H, W, heads, D) -> (B, R, heads, L, D), regions row-major, tokens row-major inside."""
    b, h, w, n, d = x.shape
    sh, sw = grid
    x = x.view(b, sh, h // sh, sw, w // sw, n, d).permute(0, 1, 3, 5, 2, 4, 6)
    return x.reshape(b, sh * sw, n, (h // sh) * (w // sw), d)


def _merge(x, grid, size):
    """(B, R, heads, L, D) -> (B, H, W, heads, D)."""
    b, _, n, _, d = x.shape
    (sh, sw), (h, w) = grid, size
    x = x.view(b, sh, sw, n, h // sh, w // sw, d).permute(0, 1, 4, 2, 5, 3, 6)
    return x.reshape(b, h, w, n, d)


def _gather_regions(x, index):
    """(B, R, heads, L, D), index (B, R, topk) -> (B, R, heads, topk * L, D): every routed region copied."""
    b, _, n, length, d = x.shape
    topk = index.shape[-1]
    batch = torch.arange(b, device=x.device)[:, None, None]
    sel = x[batch, index]                                       # (B, R, topk, heads, L, D)
    return sel.transpose(2, 3).reshape(b, index.shape[1], n, topk * length, d)


# ----------------------------------------------------------------------------------------------------------
# reference

def _routed_reference(q, k, v, index, grid, scale):
    in_dtype, dtype = q.dtype, compute_dtype(q.dtype)
    qr = _partition(q.to(dtype), grid)
    ks, vs = _gather_regions(_partition(k.to(dtype), grid), index), _gather_regions(_partition(v.to(dtype), grid), index)
    probs = (torch.einsum("brnqd,brnkd->brnqk", qr, ks) * scale).softmax(dim=-1)
    out = torch.einsum("brnqk,brnkd->brnqd", probs, vs)
    return _merge(out, grid, tuple(q.shape[1:3])).to(in_dtype)


# ----------------------------------------------------------------------------------------------------------
# torch

# Above this many gathered key tokens per region, CPU runs one flash-attention call per routed region and
# merges them by log-sum-exp instead of copying the topk regions' keys and values side by side.
GATHER_MAX_KEYS = 256
# Maps up to this many key tokens, routed to at least a quarter of their regions, run as one dense masked
# attention (see _routed_dense): ~4x the routed FLOPs but no gathered copies, and a bias of (Hq*Wq) x (Hk*Wk).
DENSE_MAX_KEYS = 1024
DENSE_MIN_SHARE = 0.25


def _routed_torch(q, k, v, index, grid, scale, gather_max_keys=None):
    b, dqk, dv, topk = q.shape[0], q.shape[-1], v.shape[-1], index.shape[-1]
    regions, n = grid[0] * grid[1], q.shape[3]
    lq, lk = q.shape[1] * q.shape[2] // regions, k.shape[1] * k.shape[2] // regions
    limit = GATHER_MAX_KEYS if gather_max_keys is None else gather_max_keys
    keys = k.shape[1] * k.shape[2]
    if topk >= DENSE_MIN_SHARE * regions and keys <= DENSE_MAX_KEYS:
        return _routed_dense(q, k, v, index, grid, scale)
    glob = (index + regions * torch.arange(b, device=index.device)[:, None, None]).reshape(b * regions, topk)
    if q.device.type == "cpu" and topk * lk > limit and dqk == dv:  # torch's CPU flash kernel: equal head dims
        qr, kr, vr = (_partition(x, grid).reshape(b * regions, n, -1, x.shape[-1]) for x in (q, k, v))
        out = _RoutedFlashCPU.apply(qr, kr, vr, glob, scale).view(b, regions, n, lq, dv)
    elif topk == 1:  # one routed region: its (heads, L, D) block is already the layout SDPA prefers
        qr, kr, vr = (_partition(x, grid).reshape(b * regions, n, -1, x.shape[-1]) for x in (q, k, v))
        sel = glob.view(-1)
        out = F.scaled_dot_product_attention(qr, kr.index_select(0, sel), vr.index_select(0, sel),
                                             scale=scale).view(b, regions, n, lq, dv)
    else:
        # token-major regions (B * R, L, heads * D): the topk routed regions' tokens, gathered with one
        # index_select, are already side by side, so keys and values are copied once
        qr, kr, vr = (_partition_tokens(x, grid) for x in (q, k, v))
        sel = glob.view(-1)
        ks = kr.index_select(0, sel).view(b * regions, topk * lk, n, dqk).transpose(1, 2)
        vs = vr.index_select(0, sel).view(b * regions, topk * lk, n, dv).transpose(1, 2)
        out = F.scaled_dot_product_attention(qr.view(b * regions, lq, n, dqk).transpose(1, 2), ks, vs, scale=scale)
        out = out.transpose(1, 2).reshape(b, regions, lq, n, dv).transpose(2, 3)
    return _merge(out, grid, tuple(q.shape[1:3]))


def _routed_dense(q, k, v, index, grid, scale):
    """Every query against every key of the map, the routing as an additive bias: log(times the key's region
    is routed to the query's region), so unrouted regions get -inf and a region routed twice counts twice,
    as in the gathered form. Used when the routed keys are a large share of the map (BiFormer's third stage:
    16 of 49 regions) and the map is small: one SDPA call instead of copying keys and values topk times."""
    b, hq, wq, n, dqk = q.shape
    hk, wk = k.shape[1:3]
    (sh, sw), regions = grid, grid[0] * grid[1]
    counts = torch.zeros(b, regions, regions, dtype=q.dtype, device=q.device)
    counts.scatter_add_(2, index, torch.ones(index.shape, dtype=q.dtype, device=q.device))

    def region_of(h, w):  # region id of every token, row-major
        rows = torch.arange(h, device=q.device) // (h // sh)
        cols = torch.arange(w, device=q.device) // (w // sw)
        return (rows[:, None] * sw + cols[None, :]).reshape(-1)

    bias = counts.log()[:, region_of(hq, wq)][:, :, region_of(hk, wk)]          # (B, Hq * Wq, Hk * Wk)
    qt, kt, vt = (x.flatten(1, 2).transpose(1, 2) for x in (q, k, v))            # (B, heads, L, D)
    out = F.scaled_dot_product_attention(qt, kt, vt, attn_mask=bias[:, None], scale=scale)
    return out.transpose(1, 2).reshape(b, hq, wq, n, v.shape[-1])


def _partition_tokens(x, grid):
    """(B, H, W, heads, D) -> (B * R, L, heads * D), regions row-major, tokens row-major inside."""
    b, h, w, n, d = x.shape
    sh, sw = grid
    x = x.reshape(b, sh, h // sh, sw, w // sw, n * d).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(b * sh * sw, (h // sh) * (w // sw), n * d)


_flash_fwd = torch.ops.aten._scaled_dot_product_flash_attention_for_cpu
_flash_bwd = torch.ops.aten._scaled_dot_product_flash_attention_for_cpu_backward


class _RoutedFlashCPU(torch.autograd.Function):
    """Block-sparse flash attention from torch's CPU flash kernels: one call per routed slot, outputs merged
    by their log-sum-exp; backward reruns each slot's flash backward against the merged output and
    log-sum-exp (exact, since softmax statistics are global), scattering key / value gradients back."""

    @staticmethod
    def forward(ctx, qr, kr, vr, glob, scale):
        acc = torch.promote_types(qr.dtype, torch.float32)
        out = lse = None
        for t in range(glob.shape[1]):
            sel = glob[:, t]
            o_t, l_t = _flash_fwd(qr, kr.index_select(0, sel), vr.index_select(0, sel), 0.0, False, scale=scale)
            o_t = o_t.to(acc)
            if out is None:
                out, lse = o_t, l_t
            else:
                new = torch.logaddexp(lse, l_t)
                out = out * (lse - new).exp_()[..., None] + o_t * (l_t - new).exp_()[..., None]
                lse = new
        out = out.to(qr.dtype)
        ctx.save_for_backward(qr, kr, vr, glob, out, lse)
        ctx.scale = scale
        return out

    @staticmethod
    def backward(ctx, grad):
        qr, kr, vr, glob, out, lse = ctx.saved_tensors
        grad = grad.contiguous()
        dq = torch.zeros_like(qr, dtype=torch.promote_types(qr.dtype, torch.float32))
        dk = torch.zeros_like(kr, dtype=dq.dtype)
        dv = torch.zeros_like(vr, dtype=dq.dtype)
        for t in range(glob.shape[1]):
            sel = glob[:, t]
            dq_t, dk_t, dv_t = _flash_bwd(grad, qr, kr.index_select(0, sel), vr.index_select(0, sel), out, lse,
                                          0.0, False, scale=ctx.scale)
            dq += dq_t
            dk.index_add_(0, sel, dk_t.to(dk.dtype))
            dv.index_add_(0, sel, dv_t.to(dv.dtype))
        return dq.to(qr.dtype), dk.to(kr.dtype), dv.to(vr.dtype), None, None
