"""Window attention: each window of a 2-D token map attends inside itself (Swin W-MSA / SW-MSA,
LITv2 Hi-Fi heads, Agent-Swin's window blocks), or to a larger key window around it (HaloNet).

Semantics (every backend computes exactly this):

- ``q`` (B, Hq, Wq, heads, Dqk) is cut into non-overlapping windows of ``window_size`` (wh, ww): a grid
  of (nh, nw) = (Hq / wh, Wq / ww) windows, numbered row-major.
- ``k`` (B, Hk, Wk, heads, Dqk) and ``v`` (B, Hk, Wk, heads, Dv) are cut into the same (nh, nw) grid of
  blocks of (Hk / nh, Wk / nw) tokens. Query window (i, j) attends to key block (i, j) grown by
  ``halo_size`` tokens on every side: (Hk / nh + 2 halo_h) x (Wk / nw + 2 halo_w) keys, row-major.
  Keys and values outside the map are zeros that take part in the softmax (timm's ``HaloAttn``
  zero-pads the projected keys). HaloNet's strided queries are a query map smaller than the key map.
- ``shift_size`` (sh, sw) is Swin's cyclic shift: the maps are rolled by (-sh, -sw) before windowing
  and the output is rolled back; a query and a key from different regions of the rolled map (timm's
  three bands per axis: [0, H - wh), [H - wh, H - sh), [H - sh, H)) get -100 added to their score,
  exactly as timm's ``SwinTransformerBlock`` masks SW-MSA. Needs equal query / key maps and no halo.
- ``bias``: added to the scores, broadcastable to (B, heads, nW, Lq, Lk) (windows row-major, Lq / Lk
  the query / key window tokens row-major): Swin's relative position bias as (heads, 1, L, L),
  HaloNet's query-dependent relative logits as (B, heads, nW, Lq, Lk).
- scores = scale * q.k (scale defaults to Dqk ** -0.5) + bias (+ shift mask); softmax over the keys.

Returns (B, Hq, Wq, heads, Dv).
"""
from dataclasses import dataclass
from typing import Optional, Tuple, Union

import torch
import torch.nn.functional as F

from ._backend import select_backend
from ._checks import cached_tensors, check_bias, check_maps, check_same, compute_dtype, default_scale, pair

SHIFT_MASK_VALUE = -100.0  # timm's (and the official Swin's) value for masked SW-MSA scores
_OP = "window_attention"


@dataclass(frozen=True)
class WindowGeometry:
    batch: int
    heads: int
    q_size: tuple      # (Hq, Wq)
    k_size: tuple      # (Hk, Wk)
    window: tuple      # query window (wh, ww)
    grid: tuple        # windows (nh, nw)
    block: tuple       # key block (bh, bw)
    halo: tuple        # (halo_h, halo_w)
    shift: tuple       # (sh, sw)
    dim_qk: int
    dim_v: int

    @property
    def num_windows(self):
        return self.grid[0] * self.grid[1]

    @property
    def key_window(self):
        return (self.block[0] + 2 * self.halo[0], self.block[1] + 2 * self.halo[1])

    @property
    def lq(self):
        return self.window[0] * self.window[1]

    @property
    def lk(self):
        kh, kw = self.key_window
        return kh * kw

    @property
    def bias_shape(self):
        return (self.batch, self.heads, self.num_windows, self.lq, self.lk)


def window_geometry(q, k, v, window_size, shift_size=0, halo_size=0, bias=None):
    """Validate a window_attention call and describe it."""
    check_maps(_OP, [("q", q), ("k", k), ("v", v)])
    check_same(_OP, "q", q.shape[-1], "k", k.shape[-1], "head dim")
    check_same(_OP, "k", tuple(k.shape[1:3]), "v", tuple(v.shape[1:3]), "map size")
    window, shift, halo = pair(window_size, "window_size"), pair(shift_size, "shift_size"), pair(halo_size, "halo_size")
    (hq, wq), (hk, wk) = q.shape[1:3], k.shape[1:3]
    if min(window) < 1:
        raise ValueError(f"{_OP}: window_size must be positive, got {window}")
    if hq % window[0] or wq % window[1]:
        raise ValueError(f"{_OP}: window_size {window} does not divide the query map {hq}x{wq}; pad the map to "
                         f"a multiple of the window first (as Swin / HaloNet layers do)")
    grid = (hq // window[0], wq // window[1])
    if hk % grid[0] or wk % grid[1]:
        raise ValueError(f"{_OP}: the key map {hk}x{wk} cannot be cut into the {grid[0]}x{grid[1]} grid of query "
                         f"windows; its size must be a multiple of {grid[0]}x{grid[1]}")
    if min(halo) < 0:
        raise ValueError(f"{_OP}: halo_size must be >= 0, got {halo}")
    if any(shift):
        if (hq, wq) != (hk, wk) or any(halo):
            raise ValueError(f"{_OP}: shift_size needs equal query and key maps and no halo "
                             f"(got query {hq}x{wq}, key {hk}x{wk}, halo {halo})")
        if not all(0 <= s < w for s, w in zip(shift, window)):
            raise ValueError(f"{_OP}: shift_size {shift} must lie in [0, window_size) = [0, {window})")
    g = WindowGeometry(batch=q.shape[0], heads=q.shape[3], q_size=(hq, wq), k_size=(hk, wk), window=window,
                       grid=grid, block=(hk // grid[0], wk // grid[1]), halo=halo, shift=shift,
                       dim_qk=q.shape[-1], dim_v=v.shape[-1])
    check_bias(_OP, "bias", bias, q, g.bias_shape, "(batch, heads, windows, query tokens, key tokens)")
    return g


def window_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, window_size: Union[int, Tuple[int, int]],
                     shift_size: Union[int, Tuple[int, int]] = 0, halo_size: Union[int, Tuple[int, int]] = 0,
                     bias: Optional[torch.Tensor] = None, scale: Optional[float] = None,
                     backend: Optional[str] = None) -> torch.Tensor:
    """Attention inside (halo-grown) windows; see the module docstring for the exact semantics."""
    if torch.jit.is_scripting():   # TorchScript: the torch backend, unchecked
        return _window_torch(q, k, v, _pair(window_size), _pair(shift_size), _pair(halo_size), bias,
                             q.shape[-1] ** -0.5 if scale is None else scale)
    return _window_dispatch(q, k, v, window_size, shift_size, halo_size, bias, scale, backend)


def _window_dispatch(q, k, v, window_size, shift_size, halo_size, bias, scale, backend):
    g = window_geometry(q, k, v, window_size, shift_size, halo_size, bias)
    scale = default_scale(scale, g.dim_qk)
    name = select_backend(_OP, backend, q, head_dims=(g.dim_qk, g.dim_v), programs=(g.heads,))
    if name == "reference":
        return _window_reference(q, k, v, g, bias, scale)
    if name == "torch":
        return _window_torch(q, k, v, g.window, g.shift, g.halo, bias, scale)
    from visionattn.kernels import window as window_kernels
    return window_kernels.window_attention(q, k, v, g, bias, scale)


def _pair(x: Union[int, Tuple[int, int]]) -> Tuple[int, int]:
    if isinstance(x, int):
        return (x, x)
    return x


# ----------------------------------------------------------------------------------------------------------
# shared pieces

def _region_labels(h: int, w: int, wh: int, ww: int, sh: int, sw: int) -> torch.Tensor:
    """timm's region id of every token of the rolled (h, w) map, cut into windows: (nW, wh * ww)."""
    labels = torch.zeros(h, w, dtype=torch.int64)
    bands_h = [(0, h - wh), (h - wh, h - sh), (h - sh, h)]
    bands_w = [(0, w - ww), (w - ww, w - sw), (w - sw, w)]
    region = 0
    for h0, h1 in bands_h:
        for w0, w1 in bands_w:
            labels[h0:h1, w0:w1] = region
            region += 1
    return labels.view(h // wh, wh, w // ww, ww).permute(0, 2, 1, 3).reshape(-1, wh * ww)


_cached_region_labels = cached_tensors(maxsize=64)(_region_labels)


def _shift_mask(size: Tuple[int, int], window: Tuple[int, int], shift: Tuple[int, int], device: torch.device,
                dtype: torch.dtype) -> torch.Tensor:
    """Additive SW-MSA mask (nW, L, L): -100 between tokens of different regions of the rolled map, else 0."""
    if torch.jit.is_scripting():
        labels = _region_labels(size[0], size[1], window[0], window[1], shift[0], shift[1])
    else:
        labels = _cached_region_labels(size[0], size[1], window[0], window[1], shift[0], shift[1])
    labels = labels.to(device)
    differ = labels[:, :, None] != labels[:, None, :]
    return torch.zeros(differ.shape, dtype=dtype, device=device).masked_fill_(differ, -100.0)  # SHIFT_MASK_VALUE


def shift_mask(g: WindowGeometry, device, dtype):
    """Additive SW-MSA mask (nW, L, L) of a call; None if it has no shift."""
    if not any(g.shift):
        return None
    return _shift_mask(g.q_size, g.window, g.shift, device, dtype)


def _partition(x: torch.Tensor, window: Tuple[int, int]) -> torch.Tensor:
    """(B, H, W, heads, D) -> (B, nW, heads, wh * ww, D)."""
    b, h, w, n, d = x.shape
    wh, ww = window
    x = x.view(b, h // wh, wh, w // ww, ww, n, d).permute(0, 1, 3, 5, 2, 4, 6)
    return x.reshape(b, (h // wh) * (w // ww), n, wh * ww, d)


def _merge(x: torch.Tensor, grid: Tuple[int, int], window: Tuple[int, int]) -> torch.Tensor:
    """(B, nW, heads, wh * ww, D) -> (B, Hq, Wq, heads, D)."""
    b, _, n, _, d = x.shape
    (nh, nw), (wh, ww) = grid, window
    x = x.view(b, nh, nw, n, wh, ww, d).permute(0, 1, 4, 2, 5, 3, 6)
    return x.reshape(b, nh * wh, nw * ww, n, d)


def _key_windows(x: torch.Tensor, block: Tuple[int, int], halo: Tuple[int, int]) -> torch.Tensor:
    """(B, Hk, Wk, heads, D) -> (B, nW, heads, Lk, D): each block grown by the halo, zeros outside the map."""
    if halo[0] == 0 and halo[1] == 0:
        return _partition(x, block)
    (hh, hw), (bh, bw) = halo, block
    kh, kw = bh + 2 * hh, bw + 2 * hw
    x = F.pad(x, [0, 0, 0, 0, hw, hw, hh, hh])
    x = x.unfold(1, kh, bh).unfold(2, kw, bw)          # (B, nh, nw, heads, D, kh, kw)
    b, nh, nw, n, d = x.shape[0], x.shape[1], x.shape[2], x.shape[3], x.shape[4]
    return x.permute(0, 1, 2, 3, 5, 6, 4).reshape(b, nh * nw, n, kh * kw, d)


# ----------------------------------------------------------------------------------------------------------
# reference: the definition, written out

def _window_reference(q, k, v, g, bias, scale):
    in_dtype, dtype = q.dtype, compute_dtype(q.dtype)
    q, k, v = q.to(dtype), k.to(dtype), v.to(dtype)
    if any(g.shift):
        roll = dict(shifts=(-g.shift[0], -g.shift[1]), dims=(1, 2))
        q, k, v = torch.roll(q, **roll), torch.roll(k, **roll), torch.roll(v, **roll)
    qw, kw, vw = _partition(q, g.window), _key_windows(k, g.block, g.halo), _key_windows(v, g.block, g.halo)
    scores = torch.einsum("bwnqd,bwnkd->bnwqk", qw, kw) * scale                     # (B, heads, nW, Lq, Lk)
    if bias is not None:
        scores = scores + bias.to(dtype)
    mask = shift_mask(g, q.device, dtype)
    if mask is not None:
        scores = scores + mask[None, None]
    probs = scores.softmax(dim=-1)
    out = _merge(torch.einsum("bnwqk,bwnkd->bwnqd", probs, vw), g.grid, g.window)
    if any(g.shift):
        out = torch.roll(out, shifts=g.shift, dims=(1, 2))
    return out.to(in_dtype)


# ----------------------------------------------------------------------------------------------------------
# torch: batched SDPA over the windows

def _window_torch(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, window: Tuple[int, int],
                  shift: Tuple[int, int], halo: Tuple[int, int], bias: Optional[torch.Tensor],
                  scale: float) -> torch.Tensor:
    in_dtype = q.dtype
    shifted = shift[0] != 0 or shift[1] != 0
    if shifted:
        q = torch.roll(q, shifts=(-shift[0], -shift[1]), dims=(1, 2))
        k = torch.roll(k, shifts=(-shift[0], -shift[1]), dims=(1, 2))
        v = torch.roll(v, shifts=(-shift[0], -shift[1]), dims=(1, 2))
    b, n, dqk, dv = q.shape[0], q.shape[3], q.shape[-1], v.shape[-1]
    grid = (q.shape[1] // window[0], q.shape[2] // window[1])
    block = (k.shape[1] // grid[0], k.shape[2] // grid[1])
    nwin, lq = grid[0] * grid[1], window[0] * window[1]
    lk = (block[0] + 2 * halo[0]) * (block[1] + 2 * halo[1])
    qw, kw, vw = _partition(q, window), _key_windows(k, block, halo), _key_windows(v, block, halo)
    mask: Optional[torch.Tensor] = None
    if bias is not None:
        mask = bias.to(in_dtype)
        while mask.dim() < 5:
            mask = mask.unsqueeze(0)
        mask = mask.transpose(1, 2)                       # (b, nW, heads, Lq, Lk)
    if shifted:
        region = _shift_mask((q.shape[1], q.shape[2]), window, shift, q.device, in_dtype)[None, :, None]
        mask = region if mask is None else mask + region
    if mask is not None:
        # windows and heads share SDPA's head axis so the mask broadcasts over the batch only
        mb = mask.shape[0]
        mask = mask.expand(mb, nwin, n, lq, lk).reshape(mb, nwin * n, lq, lk)
    out = F.scaled_dot_product_attention(
        qw.reshape(b, nwin * n, lq, dqk), kw.reshape(b, nwin * n, lk, dqk), vw.reshape(b, nwin * n, lk, dv),
        attn_mask=mask, scale=scale)
    out = _merge(out.view(b, nwin, n, lq, dv), grid, window)
    if shifted:
        out = torch.roll(out, shifts=(shift[0], shift[1]), dims=(1, 2))
    return out
