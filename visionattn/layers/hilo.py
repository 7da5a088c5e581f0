"""HiLo attention (Pan et al., Fast Vision Transformers with HiLo Attention, NeurIPS 2022; official code
https://github.com/ziplab/LITv2) on (B, H, W, C) maps. Official parameter names (``h_qkv``, ``h_proj``, ``l_q``,
``l_kv``, ``l_proj``), so LITv2 checkpoints load unchanged."""
from typing import List, Optional

import torch
from timm.layers import register_notrace_module
from torch import nn

from visionattn import ops

from .helpers import check_layout, merge_heads, pad_to_multiple, size_shortcuts, split_heads


@register_notrace_module
class HiLo(nn.Module):
    """HiLo attention on (B, H, W, C) maps of any size.

    The heads are split: ``int(num_heads * alpha)`` Lo-Fi heads, whose queries attend to the keys / values of the
    ``window_size`` x ``window_size`` average-pooled map (dense attention), and the rest Hi-Fi heads, attention
    inside non-overlapping ``window_size`` x ``window_size`` windows without bias (window attention). Outputs
    are concatenated [Hi-Fi, Lo-Fi], each group with its own output projection. ``window_size == 1``: every
    head is Lo-Fi, without pooling (plain global attention).

    Padding: the map is zero-padded at the bottom / right to a multiple of the window (the official dense
    backbone: padded tokens take part as keys of the border windows and in the pooled keys) and the output
    cropped back. ``attn_drop`` / ``proj_drop`` are accepted for signature compatibility; the official HiLo
    applies neither.
    """

    def __init__(self, dim: int, num_heads: int = 8, qkv_bias: bool = False, qk_scale: Optional[float] = None,
                 attn_drop: float = 0.0, proj_drop: float = 0.0, window_size: int = 2, alpha: float = 0.5):
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"HiLo: dim {dim} must be divisible by num_heads {num_heads}")
        if window_size < 1:
            raise ValueError(f"HiLo: window_size must be >= 1, got {window_size}")
        head_dim = dim // num_heads
        self.dim = dim
        self.head_dim = head_dim
        self.ws = window_size
        self.l_heads = num_heads if window_size == 1 else int(num_heads * alpha)
        self.h_heads = num_heads - self.l_heads
        self.l_dim = self.l_heads * head_dim
        self.h_dim = self.h_heads * head_dim
        self.scale = qk_scale or head_dim ** -0.5
        if self.l_heads > 0:
            if self.ws != 1:
                self.sr = nn.AvgPool2d(kernel_size=window_size, stride=window_size)
            self.l_q = nn.Linear(dim, self.l_dim, bias=qkv_bias)
            self.l_kv = nn.Linear(dim, self.l_dim * 2, bias=qkv_bias)
            self.l_proj = nn.Linear(self.l_dim, self.l_dim)
        if self.h_heads > 0:
            self.h_qkv = nn.Linear(dim, self.h_dim * 3, bias=qkv_bias)
            self.h_proj = nn.Linear(self.h_dim, self.h_dim)

    def hifi(self, x: torch.Tensor) -> torch.Tensor:
        b, h, w, _ = x.shape
        q, k, v = self.h_qkv(x).view(b, h, w, 3, self.h_heads, self.head_dim).unbind(3)
        out = ops.window_attention(q, k, v, self.ws, scale=self.scale)       # (B, H, W, heads, D)
        return self.h_proj(out.reshape(b, h, w, self.h_dim))

    def lofi(self, x: torch.Tensor) -> torch.Tensor:
        b, h, w, c = x.shape
        q = split_heads(self.l_q(x).reshape(b, h * w, self.l_dim), self.l_heads)
        pooled = self.sr(x.permute(0, 3, 1, 2)).flatten(2).transpose(1, 2) if self.ws > 1 else x.reshape(b, h * w, c)
        k, v = self.l_kv(pooled).view(b, -1, 2, self.l_heads, self.head_dim).permute(2, 0, 3, 1, 4).unbind(0)
        out = ops.attention(q, k, v, scale=self.scale)                      # (B, heads, N, D)
        return self.l_proj(merge_heads(out).reshape(b, h, w, self.l_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_layout(x, self.dim, "HiLo", "NHWC")
        h, w = x.shape[1], x.shape[2]
        xp = pad_to_multiple(x, (self.ws, self.ws))
        outs: List[torch.Tensor] = []
        if self.h_heads > 0:
            outs.append(self.hifi(xp))
        if self.l_heads > 0:
            outs.append(self.lofi(xp))
        out = outs[0] if len(outs) == 1 else torch.cat(outs, dim=-1)
        if not size_shortcuts() or out.shape[1] != h or out.shape[2] != w:
            out = out[:, :h, :w, :].contiguous()
        return out
