"""BiFormer's bi-level routing attention (BRA) on (B, H, W, C) maps, through
``visionattn.ops.routed_attention``.

Zhu et al., BiFormer: Vision Transformer with Bi-Level Routing Attention, CVPR 2023; official code
https://github.com/rayleizhu/BiFormer (the legacy ``ops/bra_legacy.py`` its released checkpoints use).
Parameter names are the official ones (``qkv.qkv``, ``lepe``, ``wo``), so BiFormer checkpoints load unchanged.
"""
from typing import Optional, Tuple

import torch
from timm.layers import register_notrace_module
from torch import nn

from visionattn import ops

from .helpers import check_layout, pad_to_multiple, size_shortcuts


class QKVLinear(nn.Module):
    """One Linear giving q (qk_dim), k (qk_dim) and v (dim); the official module, kept for its key names
    (``attn.qkv.qkv.weight``)."""

    def __init__(self, dim: int, qk_dim: int, bias: bool = True):
        super().__init__()
        self.dim, self.qk_dim = dim, qk_dim
        self.qkv = nn.Linear(dim, 2 * qk_dim + dim, bias=bias)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        q, k, v = self.qkv(x).split([self.qk_dim, self.qk_dim, self.dim], dim=-1)
        return q, k, v


@register_notrace_module
class BiLevelRoutingAttention(nn.Module):
    """Bi-level routing attention on (B, H, W, C) maps of any size.

    1. q, k, v = one Linear of the map (q and k with ``qk_dim`` channels);
    2. region-level routing: the map is cut into ``n_win`` x ``n_win`` regions; region means of q and k give
       scores scale * q_r . k_r, and each query region keeps its ``topk`` best key regions (no gradient through
       the routing, routing weights not applied: the released ``diff_routing=False, soft_routing=False``);
    3. token-to-token attention of each region's queries over the tokens of its routed regions
       (``ops.routed_attention``), heads = ``num_heads``, scale ``qk_dim ** -0.5`` (of the whole qk dim, the
       official quirk, kept so the released weights compute what they were trained as);
    4. + LePE (a ``side_dwconv`` depthwise conv of v), then the output Linear ``wo``.

    Padding: the input is zero-padded at the bottom / right to a multiple of ``n_win`` before the projections
    (the official ``auto_pad=True``: padded tokens are projected, take part in the region means and are
    attended to) and the output cropped back. ``topk`` is clamped to the region count.
    """

    def __init__(self, dim: int, num_heads: int = 8, n_win: int = 7, qk_dim: Optional[int] = None,
                 qk_scale: Optional[float] = None, topk: int = 4, side_dwconv: int = 5):
        super().__init__()
        self.dim = dim
        self.qk_dim = qk_dim or dim
        self.num_heads = num_heads
        if self.qk_dim % num_heads or dim % num_heads:
            raise ValueError(f"BiLevelRoutingAttention: qk_dim {self.qk_dim} and dim {dim} must be divisible by "
                             f"num_heads {num_heads}")
        if n_win < 1 or topk < 1:
            raise ValueError(f"BiLevelRoutingAttention: n_win and topk must be positive, got {n_win}, {topk}")
        self.n_win = n_win
        self.topk = topk
        # official: qk_scale or qk_dim ** -0.5, for the routing and for the token attention alike
        self.scale = qk_scale or self.qk_dim ** -0.5
        self.lepe = nn.Conv2d(dim, dim, side_dwconv, padding=side_dwconv // 2, groups=dim)
        self.qkv = QKVLinear(dim, self.qk_dim)
        self.wo = nn.Linear(dim, dim)

    def route(self, q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        """Region-level routing: (B, H, W, Cqk) maps -> (B, n_win ** 2, topk) key regions per query region
        (regions numbered row-major), the top-k of scale * mean(q) . mean(k)."""
        b, h, w, c = q.shape
        s = self.n_win
        count = (h // s) * (w // s)   # region means as two single-axis sums (3x faster than one 2-axis mean)
        q_r = q.detach().reshape(b, s, h // s, s, w // s, c).sum(2).sum(3).reshape(b, s * s, c) / count
        k_r = k.detach().reshape(b, s, h // s, s, w // s, c).sum(2).sum(3).reshape(b, s * s, c) / count
        logits = (q_r * self.scale) @ k_r.transpose(-2, -1)
        return torch.topk(logits, k=min(self.topk, s * s), dim=-1).indices

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_layout(x, self.dim, "BiLevelRoutingAttention", "NHWC")
        h_in, w_in = x.shape[1], x.shape[2]
        x = pad_to_multiple(x, (self.n_win, self.n_win))
        b, h, w, _ = x.shape
        q, k, v = self.qkv(x)
        lepe = self.lepe(v.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
        index = self.route(q, k)
        heads = self.num_heads
        out = ops.routed_attention(q.unflatten(-1, (heads, -1)), k.unflatten(-1, (heads, -1)),
                                   v.unflatten(-1, (heads, -1)), index, (self.n_win, self.n_win), scale=self.scale)
        out = self.wo(out.reshape(b, h, w, self.dim) + lepe)
        if not size_shortcuts() or h != h_in or w != w_in:
            out = out[:, :h_in, :w_in].contiguous()
        return out
