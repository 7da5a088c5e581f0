"""2-D neighborhood attention: every query attends to a kh x kw window of keys around its own position
(NAT / NATTEN ``na2d``, TransNeXt's aggregated attention).

Semantics (every backend computes exactly this). Maps are (B, H, W, heads, D). Per axis of length L,
kernel k (odd), dilation d and r = k // 2, query position i and kernel slot t in [0, k) pick key j:

- ``border="clamp"`` (NATTEN): positions of one dilation group (i mod d) form a sub-axis of
  Lg = ceil((L - i mod d) / d) tokens; the window of k group tokens is centred on the query and shifted
  inside the sub-axis at the borders: j = i mod d + d * (clamp(i // d - r, 0, Lg - k) + t). Every query
  sees k * k real keys; needs k * d <= L.
- ``border="mask"`` (TransNeXt): the window is centred, j = i + d * (t - r); keys outside the map are
  masked out of the softmax (score -inf, and they add nothing to the aggregate). Any map size.

Slots are numbered t = ty * kw + tx (row-major). ``bias`` (heads, 2kh - 1, 2kw - 1) is the relative
position bias: a query-key pair adds bias[:, (jy - iy) / d + kh - 1, (jx - ix) / d + kw - 1]. In mask
mode only the central kh x kw entries are ever read.

``neighborhood_attention`` optionally merges extra key / value tokens (B, N, heads, D) into the same
softmax (TransNeXt's pooled tokens; NATTEN's additional keys), with ``extra_bias`` broadcastable to
(B, H, W, heads, N). The unfused primitives ``neighborhood_scores`` (scale * q.k + bias over the window,
(B, H, W, heads, kh * kw), -inf for masked keys) and ``neighborhood_aggregate`` (sum over the window of
weight * value) let a layer change the weights between softmax and aggregation (TransNeXt adds its
learnable-token term there).
"""

import torch
import torch.nn.functional as F

from ._backend import select_backend
from ._checks import cached_tensors, check_bias, check_maps, check_same, compute_dtype, default_scale, pair

BORDERS = ("clamp", "mask")


# ----------------------------------------------------------------------------------------------------------
# geometry

@cached_tensors(maxsize=256)
def _axis_table(length, kernel, dilation, border):
    """Per axis: key index (L, k), validity (L, k), bias index (L, k), on CPU."""
    r = kernel // 2
    i = torch.arange(length)[:, None]
    t = torch.arange(kernel)[None, :]
    if border == "clamp":
        group = i % dilation
        group_len = (length - group + dilation - 1) // dilation
        start = torch.minimum(torch.clamp(i // dilation - r, min=0), group_len - kernel)
        key = group + dilation * (start + t)
        valid = torch.ones(length, kernel, dtype=torch.bool)
    else:
        key = i + dilation * (t - r)
        valid = (key >= 0) & (key < length)
        key = key.clamp(0, length - 1)  # masked slots read a real token; their weight is zeroed
    bias_index = (key - i) // dilation + kernel - 1
    bias_index = torch.where(valid, bias_index, torch.full_like(bias_index, kernel - 1))
    return key, valid, bias_index


class NeighborhoodTable:
    """Index tables of one call's geometry, on the maps' device."""

    def __init__(self, size, kernel, dilation, border, device):
        self.size, self.kernel, self.dilation, self.border = size, kernel, dilation, border
        (hk, hv, hb), (wk, wv, wb) = (_axis_table(size[0], kernel[0], dilation[0], border),
                                      _axis_table(size[1], kernel[1], dilation[1], border))
        self.key_y, self.key_x = hk.to(device), wk.to(device)            # (H, kh), (W, kw)
        self.bias_y, self.bias_x = hb.to(device), wb.to(device)
        # centered windows larger than 1 always reach outside the map at its border; known from the geometry
        # alone, so no tensor is read back (a torch.compile graph break)
        self.masked = border == "mask" and max(kernel) > 1
        self.valid_y, self.valid_x = hv.to(device), wv.to(device)

    @property
    def num_slots(self):
        return self.kernel[0] * self.kernel[1]

    def slots(self):
        """Yield (slot, key rows (H,), key cols (W,), valid (H, W) or None)."""
        kh, kw = self.kernel
        for t in range(kh * kw):
            ty, tx = divmod(t, kw)
            valid = None
            if self.masked:
                valid = self.valid_y[:, ty, None] & self.valid_x[None, :, tx]
            yield t, self.key_y[:, ty], self.key_x[:, tx], valid

    def valid(self):
        """(H, W, kh * kw) validity of every slot."""
        h, w = self.size
        v = self.valid_y[:, None, :, None] & self.valid_x[None, :, None, :]
        return v.reshape(h, w, self.num_slots)

    def padding(self):
        """(rows, cols) of zeros around the map that put every centred window slot inside it."""
        return tuple(d * (k // 2) for k, d in zip(self.kernel, self.dilation))

    def shifts(self):
        """Yield (slot, rows, cols): the slices of the zero-padded map that hold each query's key for that
        slot (border="mask": j = i + d * (t - r) is row / col i + d * t of the padded map)."""
        (h, w), (kh, kw), (dh, dw) = self.size, self.kernel, self.dilation
        for t in range(kh * kw):
            ty, tx = divmod(t, kw)
            yield t, slice(dh * ty, dh * ty + h), slice(dw * tx, dw * tx + w)

    def gather_bias(self, bias):
        """(heads, 2kh-1, 2kw-1) table -> (H, W, heads, kh * kw) per-query, per-slot bias."""
        h, w = self.size
        b = bias[:, self.bias_y[:, None, :, None], self.bias_x[None, :, None, :]]  # (heads, H, W, kh, kw)
        return b.permute(1, 2, 0, 3, 4).reshape(h, w, bias.shape[0], self.num_slots)


def _resolve_geometry(op, size, kernel_size, dilation, border):
    kernel, dil = pair(kernel_size, "kernel_size"), pair(dilation, "dilation")
    if border not in BORDERS:
        raise ValueError(f"{op}: border must be one of {BORDERS}, got {border!r}")
    if any(k < 1 or k % 2 == 0 for k in kernel):
        raise ValueError(f"{op}: kernel_size must be odd and positive, got {kernel}")
    if min(dil) < 1:
        raise ValueError(f"{op}: dilation must be >= 1, got {dil}")
    if border == "clamp":
        for axis, n, k, d in zip(("height", "width"), size, kernel, dil):
            if k * d > n:
                raise ValueError(f"{op}: kernel_size {k} with dilation {d} needs a map {axis} of at least "
                                 f"{k * d} tokens in border mode 'clamp', got {n}; use a smaller kernel or "
                                 f"dilation, or border='mask' (keys outside the map are masked)")
    return kernel, dil


def _check_rpb(op, bias, ref, kernel):
    if bias is None:
        return None
    heads = ref.shape[3]
    check_bias(op, "bias", bias, ref, (heads, 2 * kernel[0] - 1, 2 * kernel[1] - 1),
               "(heads, 2 * kernel_h - 1, 2 * kernel_w - 1)")
    if tuple(bias.shape) != (heads, 2 * kernel[0] - 1, 2 * kernel[1] - 1):
        raise ValueError(f"{op}: bias must be the relative position table of shape (heads, 2 * kernel_h - 1, "
                         f"2 * kernel_w - 1) = {(heads, 2 * kernel[0] - 1, 2 * kernel[1] - 1)}, "
                         f"got {tuple(bias.shape)}")
    return bias


def _table(q, kernel, dil, border):
    return NeighborhoodTable(tuple(q.shape[1:3]), kernel, dil, border, q.device)


# ----------------------------------------------------------------------------------------------------------
# public ops

def neighborhood_attention(q, k, v, kernel_size, *, dilation=1, border="clamp", bias=None, scale=None,
                           extra_k=None, extra_v=None, extra_bias=None, backend=None):
    """Fused neighborhood attention; see the module docstring for the exact semantics.

    q, k: (B, H, W, heads, Dqk); v: (B, H, W, heads, Dv); extra_k / extra_v: (B, N, heads, Dqk / Dv).
    Returns (B, H, W, heads, Dv).
    """
    op = "neighborhood_attention"
    check_maps(op, [("q", q), ("k", k), ("v", v)])
    check_same(op, "q", q.shape[-1], "k", k.shape[-1], "head dim")
    check_same(op, "q", tuple(q.shape[1:3]), "k", tuple(k.shape[1:3]), "map size")
    check_same(op, "k", tuple(k.shape[1:3]), "v", tuple(v.shape[1:3]), "map size")
    kernel, dil = _resolve_geometry(op, tuple(q.shape[1:3]), kernel_size, dilation, border)
    _check_rpb(op, bias, q, kernel)
    if (extra_k is None) != (extra_v is None):
        raise ValueError(f"{op}: pass extra_k and extra_v together (or neither)")
    if extra_k is not None:
        _check_extra(op, q, v, extra_k, extra_v, extra_bias)
    elif extra_bias is not None:
        raise ValueError(f"{op}: extra_bias given without extra_k / extra_v")
    scale = default_scale(scale, q.shape[-1])
    name = select_backend(op, backend, q, head_dims=(q.shape[-1], v.shape[-1]), programs=(q.shape[0] * q.shape[3],))
    table = _table(q, kernel, dil, border)
    if name == "triton":
        from visionattn.kernels import neighborhood as nk
        return nk.neighborhood_attention(q, k, v, table, bias, scale, extra_k, extra_v, extra_bias)
    if name == "reference":
        dtype = compute_dtype(q.dtype)
        cast = (lambda t: None if t is None else t.to(dtype))
        out = _attention_composed(cast(q), cast(k), cast(v), table, cast(bias), scale, cast(extra_k),
                                  cast(extra_v), cast(extra_bias), _scores_reference, _aggregate_reference)
        return out.to(q.dtype)
    return _attention_composed(q, k, v, table, bias, scale, extra_k, extra_v, extra_bias,
                               _scores_torch, _aggregate_torch)


def neighborhood_scores(q, k, kernel_size, *, dilation=1, border="clamp", bias=None, scale=None, backend=None):
    """scale * q.k (+ relative position bias) over each query's window: (B, H, W, heads, kh * kw);
    masked keys (border="mask") score -inf."""
    op = "neighborhood_scores"
    check_maps(op, [("q", q), ("k", k)])
    check_same(op, "q", q.shape[-1], "k", k.shape[-1], "head dim")
    check_same(op, "q", tuple(q.shape[1:3]), "k", tuple(k.shape[1:3]), "map size")
    kernel, dil = _resolve_geometry(op, tuple(q.shape[1:3]), kernel_size, dilation, border)
    _check_rpb(op, bias, q, kernel)
    scale = default_scale(scale, q.shape[-1])
    name = select_backend(op, backend, q, head_dims=(q.shape[-1],), programs=(q.shape[0] * q.shape[3],))
    table = _table(q, kernel, dil, border)
    if name == "triton":
        from visionattn.kernels import neighborhood as nk
        return nk.neighborhood_scores(q, k, table, bias, scale)
    if name == "reference":
        dtype = compute_dtype(q.dtype)
        out = _scores_reference(q.to(dtype), k.to(dtype), table, None if bias is None else bias.to(dtype), scale)
        return out.to(q.dtype)
    return _scores_torch(q, k, table, bias, scale)


def neighborhood_aggregate(weights, v, kernel_size, *, dilation=1, border="clamp", backend=None):
    """sum over each query's window of weight * value: weights (B, H, W, heads, kh * kw), v (B, H, W, heads, Dv)
    -> (B, H, W, heads, Dv). Masked keys (border="mask") add nothing, whatever their weight."""
    op = "neighborhood_aggregate"
    check_maps(op, [("v", v), ("weights", weights)])
    check_same(op, "weights", tuple(weights.shape[1:3]), "v", tuple(v.shape[1:3]), "map size")
    kernel, dil = _resolve_geometry(op, tuple(v.shape[1:3]), kernel_size, dilation, border)
    if weights.shape[-1] != kernel[0] * kernel[1]:
        raise ValueError(f"{op}: weights must have kernel_h * kernel_w = {kernel[0] * kernel[1]} entries in "
                         f"their last dim, got {weights.shape[-1]}")
    name = select_backend(op, backend, v, head_dims=(v.shape[-1],), programs=(v.shape[0] * v.shape[3],))
    table = _table(v, kernel, dil, border)
    if name == "triton":
        from visionattn.kernels import neighborhood as nk
        return nk.neighborhood_aggregate(weights, v, table)
    if name == "reference":
        dtype = compute_dtype(v.dtype)
        return _aggregate_reference(weights.to(dtype), v.to(dtype), table).to(v.dtype)
    return _aggregate_torch(weights, v, table)


def _check_extra(op, q, v, extra_k, extra_v, extra_bias):
    for name, t, dim in (("extra_k", extra_k, q.shape[-1]), ("extra_v", extra_v, v.shape[-1])):
        if not isinstance(t, torch.Tensor) or t.dim() != 4:
            raise ValueError(f"{op}: {name} must be a 4-D (batch, tokens, heads, head_dim) tensor, got "
                             f"{tuple(t.shape) if isinstance(t, torch.Tensor) else type(t).__name__}")
        if t.dtype != q.dtype or t.device != q.device:
            raise TypeError(f"{op}: {name} must have q's dtype and device ({q.dtype}, {q.device}), "
                            f"got {t.dtype}, {t.device}")
        expect = (q.shape[0], extra_k.shape[1], q.shape[3], dim)
        if tuple(t.shape) != expect:
            raise ValueError(f"{op}: {name} must have shape (batch, tokens, heads, head_dim) = {expect}, "
                             f"got {tuple(t.shape)}")
    b, h, w, n = q.shape[:4]
    check_bias(op, "extra_bias", extra_bias, q, (b, h, w, n, extra_k.shape[1]),
               "(batch, height, width, heads, extra tokens)")


def _attention_composed(q, k, v, table, bias, scale, extra_k, extra_v, extra_bias, scores_fn, aggregate_fn):
    """softmax over [window scores, extra-token scores], then the two weighted sums."""
    scores = scores_fn(q, k, table, bias, scale)
    if extra_k is None:
        return aggregate_fn(scores.softmax(dim=-1), v, table)
    extra = torch.einsum("bhwnd,bend->bhwne", q, extra_k) * scale
    if extra_bias is not None:
        extra = extra + extra_bias.to(extra.dtype)
    probs = torch.cat([scores, extra], dim=-1).softmax(dim=-1)
    local, pooled = probs.split([table.num_slots, extra_k.shape[1]], dim=-1)
    return aggregate_fn(local, v, table) + torch.einsum("bhwne,bend->bhwnd", pooled, extra_v)


# ----------------------------------------------------------------------------------------------------------
# reference: gather every window explicitly

def _gather_windows(x, table):
    """(B, H, W, heads, D) -> (B, H, W, kh * kw, heads, D): the keys of every query's window."""
    b, h, w, n, d = x.shape
    win = x[:, table.key_y[:, None, :, None], table.key_x[None, :, None, :]]   # (B, H, W, kh, kw, heads, D)
    return win.reshape(b, h, w, table.num_slots, n, d)


def _scores_reference(q, k, table, bias, scale):
    scores = torch.einsum("bhwnd,bhwtnd->bhwnt", q, _gather_windows(k, table)) * scale
    if bias is not None:
        scores = scores + table.gather_bias(bias)
    if table.border == "mask":
        scores = scores.masked_fill(~table.valid()[:, :, None, :], float("-inf"))
    return scores


def _aggregate_reference(weights, v, table):
    if table.border == "mask":
        weights = weights * table.valid()[:, :, None, :].to(weights.dtype)
    return torch.einsum("bhwnt,bhwtnd->bhwnd", weights, _gather_windows(v, table))


# ----------------------------------------------------------------------------------------------------------
# torch: one slot at a time, so no kh * kw copies of the keys are made or saved for backward. With
# border="mask" a slot is a shifted view of the zero-padded map (no gather at all): keys outside the map read
# the padding, so only the scores need the -inf mask, and backward contributions to them land in the padding,
# which is cropped. Clamped windows (border="clamp") move at the borders, so each slot gathers its keys.

def _scores_torch(q, k, table, bias, scale):
    fn = _ShiftedScores if table.border == "mask" else _NeighborhoodScores
    scores = fn.apply(q, k, table, scale)
    if bias is not None:
        scores = scores + table.gather_bias(bias).to(scores.dtype)
    return scores


def _aggregate_torch(weights, v, table):
    fn = _ShiftedAggregate if table.border == "mask" else _NeighborhoodAggregate
    return fn.apply(weights, v, table)


def _pad_map(x, table):
    py, px = table.padding()
    return F.pad(x, (0, 0, 0, 0, px, px, py, py))


def _crop_map(x, table):
    (py, px), (h, w) = table.padding(), table.size
    return x[:, py:py + h, px:px + w]


class _ShiftedScores(torch.autograd.Function):
    @staticmethod
    def forward(ctx, q, k, table, scale):
        b, h, w, n, _ = q.shape
        kp = _pad_map(k, table)
        scores = q.new_empty(b, h, w, n, table.num_slots)
        for t, rows, cols in table.shifts():
            scores[..., t] = torch.linalg.vecdot(q, kp[:, rows, cols])
        if scale != 1.0:
            scores.mul_(scale)
        if table.masked:
            scores.masked_fill_(~table.valid()[:, :, None, :], float("-inf"))
        ctx.save_for_backward(q, kp)
        ctx.table, ctx.scale = table, scale
        return scores

    @staticmethod
    def backward(ctx, grad):
        q, kp = ctx.saved_tensors
        table = ctx.table
        grad = grad * ctx.scale
        dq = torch.zeros_like(q) if ctx.needs_input_grad[0] else None
        dkp = torch.zeros_like(kp) if ctx.needs_input_grad[1] else None
        for t, rows, cols in table.shifts():
            g = grad[..., t, None]
            if dq is not None:
                dq.addcmul_(g, kp[:, rows, cols])
            if dkp is not None:
                dkp[:, rows, cols].addcmul_(g, q)
        return dq, None if dkp is None else _crop_map(dkp, table), None, None


class _ShiftedAggregate(torch.autograd.Function):
    @staticmethod
    def forward(ctx, weights, v, table):
        b, h, w, n, _ = v.shape
        vp = _pad_map(v, table)
        if table.masked:   # masked keys add nothing whatever their weight (inf included)
            weights = weights.masked_fill(~table.valid()[:, :, None, :], 0.0)
        out = v.new_zeros(b, h, w, n, v.shape[-1])
        for t, rows, cols in table.shifts():
            out.addcmul_(weights[..., t, None], vp[:, rows, cols])
        ctx.save_for_backward(weights, vp)
        ctx.table = table
        return out

    @staticmethod
    def backward(ctx, grad):
        weights, vp = ctx.saved_tensors
        table = ctx.table
        dw = torch.empty_like(weights) if ctx.needs_input_grad[0] else None
        dvp = torch.zeros_like(vp) if ctx.needs_input_grad[1] else None
        for t, rows, cols in table.shifts():
            if dw is not None:
                dw[..., t] = torch.linalg.vecdot(grad, vp[:, rows, cols])
            if dvp is not None:
                dvp[:, rows, cols].addcmul_(weights[..., t, None], grad)
        return dw, None if dvp is None else _crop_map(dvp, table), None


def _slot(x, rows, cols):
    return x[:, rows[:, None], cols[None, :]]

def _scatter_slot(target, rows, cols, value):
    """target[:, rows, cols] += value, adding up repeated keys (clamped windows share keys at borders)."""
    batch = torch.arange(target.shape[0], device=target.device)[:, None, None]
    target.index_put_((batch, rows[None, :, None], cols[None, None, :]), value, accumulate=True)


class _NeighborhoodScores(torch.autograd.Function):
    @staticmethod
    def forward(ctx, q, k, table, scale):
        b, h, w, n, _ = q.shape
        scores = q.new_empty(b, h, w, n, table.num_slots)
        for t, rows, cols, valid in table.slots():
            s = torch.linalg.vecdot(q, _slot(k, rows, cols)) * scale
            if valid is not None:
                s = s.masked_fill(~valid[:, :, None], float("-inf"))
            scores[..., t] = s
        ctx.save_for_backward(q, k)
        ctx.table, ctx.scale = table, scale
        return scores

    @staticmethod
    def backward(ctx, grad):
        q, k = ctx.saved_tensors
        table, scale = ctx.table, ctx.scale
        grad = grad * scale
        dq = torch.zeros_like(q) if ctx.needs_input_grad[0] else None
        dk = torch.zeros_like(k) if ctx.needs_input_grad[1] else None
        for t, rows, cols, valid in table.slots():
            g = grad[..., t]
            if valid is not None:
                g = g * valid[:, :, None].to(g.dtype)
            g = g[..., None]
            if dq is not None:
                dq += g * _slot(k, rows, cols)
            if dk is not None:
                _scatter_slot(dk, rows, cols, g * q)
        return dq, dk, None, None


class _NeighborhoodAggregate(torch.autograd.Function):
    @staticmethod
    def forward(ctx, weights, v, table):
        out = None
        for t, rows, cols, valid in table.slots():
            wt = weights[..., t]
            if valid is not None:
                wt = wt * valid[:, :, None].to(wt.dtype)
            term = wt[..., None] * _slot(v, rows, cols)
            out = term if out is None else out.add_(term)
        ctx.save_for_backward(weights, v)
        ctx.table = table
        return out

    @staticmethod
    def backward(ctx, grad):
        weights, v = ctx.saved_tensors
        table = ctx.table
        dw = torch.zeros_like(weights) if ctx.needs_input_grad[0] else None
        dv = torch.zeros_like(v) if ctx.needs_input_grad[1] else None
        for t, rows, cols, valid in table.slots():
            mask = None if valid is None else valid[:, :, None].to(grad.dtype)
            if dw is not None:
                g = torch.linalg.vecdot(grad, _slot(v, rows, cols))
                dw[..., t] = g if mask is None else g * mask
            if dv is not None:
                wt = weights[..., t] if mask is None else weights[..., t] * mask
                _scatter_slot(dv, rows, cols, wt[..., None] * grad)
        return dw, dv, None

