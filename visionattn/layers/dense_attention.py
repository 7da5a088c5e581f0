"""Global multi-head attention layers, through ``visionattn.ops.attention``:

- ``Attention``: plain multi-head self-attention on token sequences (ConViT's MHSA blocks, Agent-DeiT's
  softmax blocks; timm's / the official ``qkv`` and ``proj`` names);
- ``AttentionLePE``: BiFormer's last-stage attention on (B, H, W, C) maps, plus a locally-enhanced positional
  encoding (a depthwise conv of the attention's input);
- ``SpatialReductionAttention``: PVT's attention (Agent-PVT's "B" blocks) on (B, H, W, C) maps, keys and values
  from a strided-conv reduced map.
"""
from typing import Optional

import torch
from timm.layers import register_notrace_module
from torch import nn

from visionattn import ops

from .helpers import check_layout, merge_heads, split_heads


@register_notrace_module
class Attention(nn.Module):
    """Multi-head self-attention on tokens (B, N, C) (any N: the tokens may include a class token).

    Args: dim, num_heads, qkv_bias, attn_drop (dropout on the attention probabilities while training),
    proj_drop, qk_scale (override of head_dim ** -0.5)."""

    def __init__(self, dim: int, num_heads: int = 8, qkv_bias: bool = False, attn_drop: float = 0.0,
                 proj_drop: float = 0.0, qk_scale: Optional[float] = None):
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"Attention: dim {dim} must be divisible by num_heads {num_heads}")
        self.num_heads = num_heads
        self.scale = qk_scale or (dim // num_heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.attn_drop = nn.Dropout(attn_drop)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_layout(x, self.qkv.in_features, "Attention", "NLC")
        b, n, c = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.num_heads, c // self.num_heads).permute(2, 0, 3, 1, 4).unbind(0)
        out = ops.attention(q, k, v, scale=self.scale, dropout_p=self.attn_drop.p if self.training else 0.0)
        return self.proj_drop(self.proj(merge_heads(out)))


@register_notrace_module
class AttentionLePE(nn.Module):
    """Global multi-head attention + LePE on (B, H, W, C) maps of any size (BiFormer's last stage, the
    official ``_common.AttentionLePE``): the LePE conv reads the attention's input, not v."""

    def __init__(self, dim: int, num_heads: int = 8, qkv_bias: bool = False, qk_scale: Optional[float] = None,
                 side_dwconv: int = 5):
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"AttentionLePE: dim {dim} must be divisible by num_heads {num_heads}")
        self.num_heads = num_heads
        self.scale = qk_scale or (dim // num_heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)
        self.lepe = nn.Conv2d(dim, dim, side_dwconv, padding=side_dwconv // 2, groups=dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_layout(x, self.qkv.in_features, "AttentionLePE", "NHWC")
        b, h, w, c = x.shape
        q, k, v = self.qkv(x).reshape(b, h * w, 3, self.num_heads, c // self.num_heads).permute(2, 0, 3, 1, 4)
        out = merge_heads(ops.attention(q, k, v, scale=self.scale)).reshape(b, h, w, c)
        out = out + self.lepe(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
        return self.proj(out)


@register_notrace_module
class SpatialReductionAttention(nn.Module):
    """PVT's spatial-reduction attention on (B, H, W, C) maps of any size: queries from every token, keys and
    values from the map reduced by a ``sr_ratio`` x ``sr_ratio`` strided convolution and LayerNorm (no
    padding: the reduced map is floor(H / sr_ratio) x floor(W / sr_ratio), as in PVT). Official names
    (``q``, ``kv``, ``sr``, ``norm``, ``proj``)."""

    def __init__(self, dim: int, num_heads: int, sr_ratio: int = 1, qkv_bias: bool = True, attn_drop: float = 0.0,
                 proj_drop: float = 0.0):
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"SpatialReductionAttention: dim {dim} must be divisible by num_heads {num_heads}")
        self.num_heads, self.head_dim = num_heads, dim // num_heads
        self.scale = self.head_dim ** -0.5
        self.q = nn.Linear(dim, dim, bias=qkv_bias)
        self.kv = nn.Linear(dim, dim * 2, bias=qkv_bias)
        self.attn_drop = attn_drop
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)
        self.sr_ratio = sr_ratio
        if sr_ratio > 1:
            self.sr = nn.Conv2d(dim, dim, kernel_size=sr_ratio, stride=sr_ratio)
            self.norm = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_layout(x, self.q.in_features, "SpatialReductionAttention", "NHWC")
        b, h, w, c = x.shape
        q = split_heads(self.q(x).reshape(b, h * w, c), self.num_heads)
        if self.sr_ratio > 1:
            xs = self.norm(self.sr(x.permute(0, 3, 1, 2)).flatten(2).transpose(1, 2))
        else:
            xs = x.reshape(b, h * w, c)
        k, v = self.kv(xs).reshape(b, -1, 2, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4).unbind(0)
        out = ops.attention(q, k, v, scale=self.scale, dropout_p=self.attn_drop if self.training else 0.0)
        return self.proj_drop(self.proj(merge_heads(out).reshape(b, h, w, c)))
