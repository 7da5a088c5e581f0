"""Swin's window multi-head self-attention (W-MSA, and SW-MSA with ``shifted=True``) on (B, H, W, C) maps,
through ``visionattn.ops.window_attention`` (the cyclic shift and its region mask happen inside the op).

Used by Swin (``va_swin_*``) and Agent-Swin's window blocks. Parameter names follow timm and the official
Swin (``qkv``, ``proj``, ``relative_position_bias_table``), so their checkpoints load unchanged;
``relative_position_index`` is a buffer, persistent where the official checkpoints carry it (Microsoft's
Swin, Agent-Swin) and not where timm drops it.
"""
from typing import Optional, Tuple

import torch
from timm.layers import register_notrace_module, to_2tuple, trunc_normal_
from torch import nn

from visionattn import ops

from .helpers import check_layout, pad_to_multiple, size_shortcuts, swin_shift


def relative_position_index(window: Tuple[int, int]) -> torch.Tensor:
    """(L, L) index into the (2wh - 1) * (2ww - 1) bias table, as the official Swin builds it."""
    wh, ww = window
    coords = torch.stack(torch.meshgrid(torch.arange(wh), torch.arange(ww), indexing="ij")).flatten(1)
    rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0)
    rel[:, :, 0] += wh - 1
    rel[:, :, 1] += ww - 1
    rel[:, :, 0] *= 2 * ww - 1
    return rel.sum(-1)


@register_notrace_module
class WindowAttention(nn.Module):
    """Window attention with a learned relative position bias, on (B, H, W, C) maps of any size.

    The map is zero-padded at the bottom / right to a multiple of ``window_size`` (as mmdet's Swin backbone
    does; the padded tokens take part as keys) and the output cropped back. ``shifted=True`` is SW-MSA: the
    map is rolled by half a window along every axis longer than the window (an axis no longer than the
    window is one window and is not shifted, as in timm and the official code) and tokens from different
    regions of the rolled map are masked apart.

    Args:
        dim: channels (in and out). num_heads: heads (dim must be divisible by it).
        window_size: int or (h, w). shifted: SW-MSA instead of W-MSA.
        qkv_bias: bias of the qkv projection. qk_scale: override of head_dim ** -0.5.
        proj_drop: dropout after the output projection.
        persistent_index: keep ``relative_position_index`` in the state dict (official Swin / Agent-Swin files).
    """

    def __init__(self, dim: int, num_heads: int, window_size=7, shifted: bool = False, qkv_bias: bool = True,
                 qk_scale: Optional[float] = None, proj_drop: float = 0.0, persistent_index: bool = False):
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"WindowAttention: dim {dim} must be divisible by num_heads {num_heads}")
        self.dim, self.num_heads = dim, num_heads
        self.window_size: Tuple[int, int] = to_2tuple(window_size)
        self.shifted = shifted
        self.scale = qk_scale or (dim // num_heads) ** -0.5
        wh, ww = self.window_size
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * wh - 1) * (2 * ww - 1), num_heads))
        self.register_buffer("relative_position_index", relative_position_index(self.window_size),
                             persistent=persistent_index)
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)
        trunc_normal_(self.relative_position_bias_table, std=0.02)

    def relative_position_bias(self) -> torch.Tensor:
        """(heads, 1, L, L): the table read through the index."""
        n = self.window_size[0] * self.window_size[1]
        bias = self.relative_position_bias_table[self.relative_position_index.reshape(-1)].view(n, n, -1)
        return bias.permute(2, 0, 1).unsqueeze(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, H, W, C) -> (B, H, W, C)."""
        check_layout(x, self.dim, "WindowAttention", "NHWC")
        h, w = x.shape[1], x.shape[2]
        shift = swin_shift((h, w), self.window_size, self.shifted)
        x = pad_to_multiple(x, self.window_size)
        b, hp, wp, c = x.shape
        q, k, v = self.qkv(x).view(b, hp, wp, 3, self.num_heads, c // self.num_heads).unbind(3)
        out = ops.window_attention(q, k, v, self.window_size, shift_size=shift, bias=self.relative_position_bias(),
                                   scale=self.scale)
        out = self.proj_drop(self.proj(out.reshape(b, hp, wp, c)))
        return out[:, :h, :w] if not size_shortcuts() or hp != h or wp != w else out
