"""TransNeXt's attention (Dai Shi, TransNeXt: Robust Foveal Visual Perception for Vision Transformers, CVPR 2024;
official code https://github.com/DaiShiResearch/TransNeXt) on (B, H, W, C) maps:

- ``AggregatedAttention``: every query attends, in one softmax, to its 3x3 neighbourhood (pixel-focused part:
  keys outside the map masked, a learnable (heads, 3 x 3) relative position bias; ``ops.neighborhood_scores`` /
  ``ops.neighborhood_aggregate`` with ``border="mask"``) and to the tokens of an adaptively average-pooled copy
  of the map (``sr`` 1x1 conv, GELU, pool to (H // sr_ratio, W // sr_ratio), LayerNorm), shifted by a
  continuous position bias that an MLP (``cpb_fc1``, ``cpb_fc2``) computes from log-spaced query-key offsets.
  Queries and keys are L2-normalised; queries get a learnable ``query_embedding`` and are scaled by
  ``softplus(temperature) * log(number of keys the query sees)`` (length-scaled cosine attention). After the
  softmax, the local weights get the query-dependent term ``q_norm @ learnable_tokens + learnable_bias``;
- ``ScaledCosineAttention``: the last stage's full attention with the same cosine scaling and continuous
  position bias (``ops.attention``).

Any map size: position coordinates, pool sizes and masks are built for the actual map (the official dense
backbones' ``is_extrapolation`` mode), with the offsets measured in units of the map the layer was trained at
(``pretrain_size``: the stage's map at the pre-training image size, 56 x 56 for stage 1 at 224; ``None``: the
input map itself). Official parameter names, so the released checkpoints load unchanged.

``table_size`` selects the official "interpolation" mode (``is_extrapolation=False``, how every official
detection / segmentation backbone was trained): the continuous position bias is computed for a fixed
(Th, Tw) map and its (Th // sr_ratio, Tw // sr_ratio) pooled keys, then resized bilinearly
(``align_corners=False``) to the actual map, first over the pooled keys, then over the queries. Pool sizes,
masks and length scales still come from the actual map; on a Th x Tw map the two modes are one function.
"""
from typing import NamedTuple, Tuple

import torch
import torch.nn.functional as F
from timm.layers import register_notrace_module, to_2tuple, trunc_normal_
from torch import nn

from visionattn import ops
from visionattn.ops._checks import cached_tensors

from .helpers import adaptive_avg_pool2d, check_layout, exporting, merge_heads


class StageGeometry(NamedTuple):
    pool_size: Tuple[int, int]      # pooled key map (pool_h, pool_w); the map itself in full-attention stages
    coords: torch.Tensor            # (Th, Tw, 2) log-spaced (dy, dx) offsets: every distinct dy with every distinct dx
    index_h: torch.Tensor           # (H, pool_h) place of each (query row, key row) offset among the Th values
    index_w: torch.Tensor           # (W, pool_w) place of each (query col, key col) offset among the Tw values
    seq_scale: torch.Tensor         # (H, W, 1, 1) or (): log(number of keys each query sees)


def _axis_offsets(query_len, key_len, pretrain_len):
    """Distinct query-key offsets along one axis (sorted) and each pair's place among them. Keys sit at the
    centres of the adaptive-average-pooling bins; offsets are measured in units of (pretrain_len - 1) / 8.
    Derived from the lengths alone (no torch.unique, whose output size depends on values), so torch.compile
    and torch.export trace it with static shapes."""
    n, m = query_len, key_len
    # pooling bin j covers [floor(j n / m), ceil((j + 1) n / m)); twice its centre is an integer
    centre2 = [(j * n) // m + -(-(j + 1) * n // m) - 1 for j in range(m)]
    # twice the offsets, 2 i - centre2[j]: for the centres of one parity they fill one step-2 range without
    # holes (each centre's range spans 2 (n - 1), and all centres lie within [0, 2 (n - 1)])
    ranges = []
    for parity in (0, 1):
        same = [c for c in centre2 if c % 2 == parity]
        if same:
            ranges.append(torch.arange(-max(same), 2 * (n - 1) - min(same) + 1, 2))
    distinct2 = torch.cat(ranges).sort().values
    # place of each pair's offset among the distinct ones, read from a table over the whole offset range
    lo = -max(centre2)
    place = torch.zeros(2 * (n - 1) - min(centre2) - lo + 1, dtype=torch.int64)
    place[distinct2 - lo] = torch.arange(distinct2.numel())
    index = place[2 * torch.arange(n)[:, None] - torch.tensor(centre2)[None, :] - lo]
    # the same float32 arithmetic as on the pooled coordinates themselves (they are exact half-integers)
    values = distinct2.to(torch.float32) / 2 / (pretrain_len - 1) * 8
    return values, index


def _axis_pair_offsets(query_len, key_len, pretrain_len):
    """``_axis_offsets`` for symbolic lengths (torch.export with dynamic sizes): the offset of every query-key
    pair, not deduplicated (how many distinct offsets a size has is no tensor shape a program can express),
    and each pair's place among them; the same float32 values."""
    n, m = query_len, key_len
    j = torch.arange(m)
    centre2 = (j * n) // m - ((-(j + 1) * n) // m) - 1
    offsets2 = 2 * torch.arange(n)[:, None] - centre2[None, :]
    values = offsets2.flatten().to(torch.float32) / 2 / (pretrain_len - 1) * 8
    return values, torch.arange(n * m).view(n, m)


def _geometry(size, pool_size, pretrain_size, window, device):
    (h, w), (ph, pw) = size, pool_size
    axis_offsets = _axis_pair_offsets if exporting() else _axis_offsets
    vh, index_h = axis_offsets(h, ph, pretrain_size[0])
    vw, index_w = axis_offsets(w, pw, pretrain_size[1])
    # the distinct (dy, dx) offsets of a map are all pairs of a distinct dy and a distinct dx
    coords = torch.stack(torch.meshgrid(vh, vw, indexing="ij"), dim=-1)
    coords = torch.sign(coords) * torch.log2(coords.abs() + 1.0) / torch.log2(torch.tensor(8.0))
    num_pool = ph * pw
    if window:
        # keys each query sees: the in-image slots of its window plus every pooled token
        r = window // 2

        def in_image(n):
            i = torch.arange(n)[:, None] + torch.arange(-r, r + 1)[None, :]
            return ((i >= 0) & (i < n)).sum(1)

        local = (in_image(h)[:, None] * in_image(w)[None, :]).to(torch.float32)
        seq_scale = torch.log(local + num_pool)[:, :, None, None]
    else:
        seq_scale = torch.log(torch.full((), num_pool, dtype=torch.float32))
    return StageGeometry((ph, pw), coords.to(device), index_h.to(device), index_w.to(device), seq_scale.to(device))


_cached_geometry = cached_tensors(maxsize=128)(_geometry)


def stage_geometry(size, pool_size, pretrain_size, window, device):
    """The stage's geometry for a map of ``size``. Eagerly: built once per size on the CPU, then cached on
    ``device``. Under torch.compile / torch.export: traced into the graph from the static sizes (constants
    there; a cache filled while tracing would hold fake tensors)."""
    args = (tuple(size), tuple(pool_size), tuple(pretrain_size), window, device)
    if torch.compiler.is_compiling():
        return _geometry(*args)
    return _cached_geometry(*args)


def continuous_position_bias(fc1, act, fc2, geometry, num_heads):
    """(heads, H * W, pool_h * pool_w): the cpb MLP over the distinct offsets, read for every query-key pair."""
    table = fc2(act(fc1(geometry.coords.to(fc1.weight.dtype)))).permute(2, 0, 1)       # (heads, Th, Tw)
    bias = table[:, geometry.index_h[:, None, :, None], geometry.index_w[None, :, None, :]]  # (heads, H, W, ph, pw)
    h, w = geometry.index_h.shape[0], geometry.index_w.shape[0]
    return bias.reshape(num_heads, h * w, geometry.pool_size[0] * geometry.pool_size[1])


def interpolated_position_bias(fc1, act, fc2, table_geometry, size, pool_size, num_heads):
    """(heads, H * W, pool_h * pool_w): the continuous position bias of a fixed (Th, Tw) query map and its
    (Ph, Pw) pooled keys (``table_geometry``), resized bilinearly (``align_corners=False``) to the actual (H, W)
    map and its (pool_h, pool_w) pooled keys: the official ``is_extrapolation=False`` mode.

    The official code gathers the whole (heads, Th * Tw, Ph * Pw) bias, resizes the key axes, then the query
    axes. Bilinear resizing is separable (one weight per axis), so the same numbers come from resizing the row
    axes (query rows, key rows) of the small (rows x distinct column offsets) table first, then the column
    axes: no (Th * Tw) x (Ph * Pw) intermediate."""
    table = fc2(act(fc1(table_geometry.coords.to(fc1.weight.dtype))))           # (Ah, Aw, heads)
    (h, w), (ph, pw) = size, pool_size
    tw, tpw = table_geometry.index_w.shape
    rows = table[table_geometry.index_h].permute(3, 2, 0, 1)                      # (heads, Aw, Th, Ph)
    rows = F.interpolate(rows, size=(h, ph), mode="bilinear", align_corners=False)  # (heads, Aw, H, ph)
    cols = rows.permute(0, 2, 3, 1)[..., table_geometry.index_w]                  # (heads, H, ph, Tw, Pw)
    cols = F.interpolate(cols.reshape(num_heads, h * ph, tw, tpw), size=(w, pw), mode="bilinear",
                         align_corners=False)                                      # (heads, H * ph, W, pw)
    return cols.view(num_heads, h, ph, w, pw).permute(0, 1, 3, 2, 4).reshape(num_heads, h * w, ph * pw)


def _table_size(table_size, sr_ratio, name):
    if table_size is None:
        return None
    th, tw = to_2tuple(table_size)
    if min(th, tw) // sr_ratio < 1:
        raise ValueError(f"{name}: a position-bias table of {th}x{tw} is too small for sr_ratio {sr_ratio} "
                         f"(the pooled table needs at least 1 x 1: sides >= {sr_ratio})")
    return int(th), int(tw)


def _position_bias(attn, geometry, size, sr_ratio):
    """The pooled keys' continuous position bias of ``attn`` for a ``size`` map: built for the map itself, or
    (``attn.table_size`` set) for the fixed table and resized."""
    if attn.table_size is None:
        return continuous_position_bias(attn.cpb_fc1, attn.cpb_act, attn.cpb_fc2, geometry, attn.num_heads)
    th, tw = attn.table_size
    table = stage_geometry(attn.table_size, (th // sr_ratio, tw // sr_ratio), attn.pretrain_size or attn.table_size,
                           None, geometry.coords.device)
    return interpolated_position_bias(attn.cpb_fc1, attn.cpb_act, attn.cpb_fc2, table, size, geometry.pool_size,
                                      attn.num_heads)


def _temperature_init(num_heads):
    """softplus(temperature) starts at 1 / 0.24."""
    return torch.log(torch.expm1(torch.full((num_heads, 1, 1), 1 / 0.24)))


def min_map_size(sr_ratio, fixed_pool_size=None):
    """The smallest map side aggregated attention accepts: a pooled map of at least 1 x 1 (H // sr_ratio >= 1),
    or a map larger than ``fixed_pool_size``."""
    return fixed_pool_size + 1 if fixed_pool_size else sr_ratio


@register_notrace_module
class AggregatedAttention(nn.Module):
    """Pixel-focused neighbourhood + pooled tokens in one softmax, then the learnable-token term, on
    (B, H, W, C) maps with H, W >= ``sr_ratio`` (the pooled map needs a token).

    Args:
        dim, num_heads: channels and heads. window_size: the odd neighbourhood side (3 in TransNeXt).
        sr_ratio: the pooled map is (H // sr_ratio, W // sr_ratio). qkv_bias, attn_drop, proj_drop: as usual.
        pretrain_size: the (h, w) map the layer was trained at (scales the position offsets); None: the input map.
        fixed_pool_size: pool to this size instead (the official "linear inference mode"; maps must be larger).
        table_size: the (h, w) map the pooled keys' position bias is computed for, then resized to the actual
            map (the official "interpolation" mode, see the module docstring); None: computed for the actual map.
    """

    def __init__(self, dim, num_heads=8, window_size=3, sr_ratio=8, qkv_bias=True, attn_drop=0., proj_drop=0.,
                 pretrain_size=None, fixed_pool_size=None, table_size=None):
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"{type(self).__name__}: dim {dim} must be divisible by num_heads {num_heads}")
        if window_size % 2 == 0:
            raise ValueError(f"{type(self).__name__}: window_size must be odd, got {window_size}")
        if sr_ratio < 1:
            raise ValueError(f"{type(self).__name__}: sr_ratio must be >= 1, got {sr_ratio}")
        self.dim, self.num_heads, self.head_dim = dim, num_heads, dim // num_heads
        self.window_size, self.sr_ratio = window_size, sr_ratio
        self.pretrain_size = None if pretrain_size is None else to_2tuple(pretrain_size)
        self.fixed_pool_size = fixed_pool_size
        if table_size is not None and fixed_pool_size is not None:
            raise ValueError(f"{type(self).__name__}: table_size (interpolated position bias) and fixed_pool_size "
                             "(linear inference mode) do not go together")
        self.table_size = _table_size(table_size, sr_ratio, type(self).__name__)
        self.local_len = window_size ** 2

        self.temperature = nn.Parameter(_temperature_init(num_heads))
        self.q = nn.Linear(dim, dim, bias=qkv_bias)
        self.query_embedding = nn.Parameter(trunc_normal_(torch.empty(num_heads, 1, self.head_dim), std=0.02))
        self.kv = nn.Linear(dim, dim * 2, bias=qkv_bias)
        self.attn_drop = nn.Dropout(attn_drop)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)

        # pooled features
        self.sr = nn.Conv2d(dim, dim, kernel_size=1)
        self.norm = nn.LayerNorm(dim)
        self.act = nn.GELU()

        # continuous relative position bias of the pooled keys
        self.cpb_fc1 = nn.Linear(2, 512)
        self.cpb_act = nn.ReLU()
        self.cpb_fc2 = nn.Linear(512, num_heads)

        # relative position bias of the window slots; learnable tokens and bias of the post-softmax term
        self.relative_pos_bias_local = nn.Parameter(trunc_normal_(torch.empty(num_heads, self.local_len), std=4e-4))
        self.learnable_tokens = nn.Parameter(
            trunc_normal_(torch.empty(num_heads, self.head_dim, self.local_len), std=0.02))
        self.learnable_bias = nn.Parameter(torch.zeros(num_heads, 1, self.local_len))

    def local_bias_table(self):
        """The (heads, k * k) slot bias as the ops' (heads, 2k - 1, 2k - 1) offset table (only its centre is read)."""
        k, r = self.window_size, self.window_size // 2
        return F.pad(self.relative_pos_bias_local.view(self.num_heads, k, k), (r, r, r, r))

    def pool_size(self, h, w):
        if self.fixed_pool_size is not None:
            return self.fixed_pool_size, self.fixed_pool_size
        return h // self.sr_ratio, w // self.sr_ratio

    def geometry(self, h, w, device):
        ph, pw = self.pool_size(h, w)
        if min(ph, pw) < 1 or (self.fixed_pool_size is not None and min(h, w) <= self.fixed_pool_size):
            raise ValueError(f"AggregatedAttention: a {h}x{w} map is too small for sr_ratio {self.sr_ratio} / "
                             f"fixed_pool_size {self.fixed_pool_size}; maps need at least "
                             f"{min_map_size(self.sr_ratio, self.fixed_pool_size)} tokens per side")
        return stage_geometry((h, w), (ph, pw), self.pretrain_size or (h, w), self.window_size, device)

    def forward(self, x):
        check_layout(x, self.dim, "AggregatedAttention", "NHWC")
        b, h, w, c = x.shape
        nh, hd, n = self.num_heads, self.head_dim, h * w
        geometry = self.geometry(h, w, x.device)
        ph, pw = geometry.pool_size
        num_pool = ph * pw

        # cosine attention: L2-normalised queries (+ query embedding) scaled by temperature and log(keys seen)
        q_norm = F.normalize(self.q(x).view(b, h, w, nh, hd), dim=-1)
        q_scaled = ((q_norm + self.query_embedding.view(nh, hd)) * F.softplus(self.temperature).view(nh, 1)
                    * geometry.seq_scale.to(x.dtype))
        k, v = self.kv(x).view(b, h, w, 2, nh, hd).unbind(3)
        k = F.normalize(k, dim=-1)
        q_scaled = q_scaled.to(k.dtype)  # one dtype for the ops (the parameters may be wider under autocast)

        # local part: 3x3 window, out-of-image slots masked
        attn_local = ops.neighborhood_scores(q_scaled, k, self.window_size, border="mask",
                                             bias=self.local_bias_table(), scale=1.0)      # (B, H, W, nh, k*k)

        # pooled part
        x_ = self.act(self.sr(x.permute(0, 3, 1, 2)))
        x_ = self.norm(adaptive_avg_pool2d(x_, (ph, pw)).flatten(2).transpose(1, 2))   # (B, P, C)
        k_pool, v_pool = self.kv(x_).view(b, num_pool, 2, nh, hd).permute(2, 0, 3, 1, 4).unbind(0)  # (B, nh, P, hd)
        pool_bias = _position_bias(self, geometry, (h, w), self.sr_ratio)
        q_t = q_scaled.view(b, n, nh, hd).transpose(1, 2)                                 # (B, nh, N, hd)
        attn_pool = q_t @ F.normalize(k_pool, dim=-1).transpose(-2, -1) + pool_bias       # (B, nh, N, P)

        # one softmax over both parts
        attn_local = attn_local.view(b, n, nh, self.local_len).transpose(1, 2)
        attn = torch.cat([attn_local, attn_pool], dim=-1).softmax(dim=-1)
        attn = self.attn_drop(attn)
        attn_local, attn_pool = attn.split([self.local_len, num_pool], dim=-1)

        # post-softmax learnable-token term on the local weights, then the two aggregates
        q_norm_t = q_norm.view(b, n, nh, hd).transpose(1, 2)
        weights = q_norm_t @ self.learnable_tokens + self.learnable_bias + attn_local     # (B, nh, N, k*k)
        weights = weights.transpose(1, 2).reshape(b, h, w, nh, self.local_len).to(v.dtype)
        x_local = ops.neighborhood_aggregate(weights, v, self.window_size, border="mask")  # (B, H, W, nh, hd)
        x_pool = (attn_pool @ v_pool).transpose(1, 2).reshape(b, h, w, nh, hd)
        x = (x_local + x_pool).reshape(b, h, w, c)
        return self.proj_drop(self.proj(x))


@register_notrace_module
class ScaledCosineAttention(nn.Module):
    """Full attention of TransNeXt's last stage on (B, H, W, C) maps of any size: length-scaled cosine attention
    with the continuous position bias. ``pretrain_size``: the (h, w) map the layer was trained at (scales the
    position offsets); None: the input map. ``table_size``: the (h, w) map the position bias is computed for,
    then resized to the actual map (the official "interpolation" mode); None: computed for the actual map."""

    def __init__(self, dim, num_heads=8, qkv_bias=True, attn_drop=0., proj_drop=0., pretrain_size=None,
                 table_size=None):
        super().__init__()
        self.pretrain_size = None if pretrain_size is None else to_2tuple(pretrain_size)
        self.table_size = _table_size(table_size, 1, type(self).__name__)
        if dim % num_heads:
            raise ValueError(f"{type(self).__name__}: dim {dim} must be divisible by num_heads {num_heads}")
        self.dim, self.num_heads, self.head_dim = dim, num_heads, dim // num_heads
        self.temperature = nn.Parameter(_temperature_init(num_heads))
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.query_embedding = nn.Parameter(trunc_normal_(torch.empty(num_heads, 1, self.head_dim), std=0.02))
        self.attn_drop = attn_drop
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)
        self.cpb_fc1 = nn.Linear(2, 512)
        self.cpb_act = nn.ReLU()
        self.cpb_fc2 = nn.Linear(512, num_heads)

    def forward(self, x):
        check_layout(x, self.dim, "ScaledCosineAttention", "NHWC")
        b, h, w, c = x.shape
        nh, hd, n = self.num_heads, self.head_dim, h * w
        geometry = stage_geometry((h, w), (h, w), self.pretrain_size or (h, w), None, x.device)
        q, k, v = self.qkv(x).view(b, n, 3, nh, hd).permute(2, 0, 3, 1, 4).unbind(0)    # (B, nh, N, hd)
        q = ((F.normalize(q, dim=-1) + self.query_embedding) * F.softplus(self.temperature)
             * geometry.seq_scale.to(x.dtype))
        k = F.normalize(k, dim=-1)
        bias = _position_bias(self, geometry, (h, w), 1).to(q.dtype)
        x = ops.attention(q, k, v, bias=bias[None], scale=1.0, dropout_p=self.attn_drop if self.training else 0.0)
        x = merge_heads(x).reshape(b, h, w, c)
        return self.proj_drop(self.proj(x))


