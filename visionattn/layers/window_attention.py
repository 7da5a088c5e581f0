"""Swin's window multi-head self-attention (W-MSA / SW-MSA) on (B, H, W, C) maps, through
``visionattn.ops.window_attention`` (the shift and its region mask happen inside the op).

Parameter names follow timm and the official Swin (``qkv``, ``proj``, ``relative_position_bias_table``),
so their checkpoints load unchanged; ``relative_position_index`` is a buffer, persistent where the
official checkpoints carry it (Microsoft's Swin, Agent-Swin) and not where timm drops it.
"""
import torch
import torch.nn.functional as F
from torch import nn
from timm.layers import trunc_normal_

from visionattn import ops


def relative_position_index(window):
    """(L, L) index into the (2wh - 1) * (2ww - 1) bias table, as the official Swin builds it."""
    wh, ww = window
    coords = torch.stack(torch.meshgrid(torch.arange(wh), torch.arange(ww), indexing="ij")).flatten(1)
    rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0)
    rel[:, :, 0] += wh - 1
    rel[:, :, 1] += ww - 1
    rel[:, :, 0] *= 2 * ww - 1
    return rel.sum(-1)


def window_and_shift(size, window, shift):
    """Swin's rule: a map no larger than the window is one window and is not shifted."""
    win = tuple(min(s, w) for s, w in zip(size, window))
    sh = tuple(0 if s <= w else sft for s, w, sft in zip(size, window, shift))
    return win, sh


def pad_to_multiple(x, window):
    """Zero-pad a (B, H, W, C) map at the bottom / right to a multiple of the window (mmdet's Swin)."""
    h, w = x.shape[1:3]
    ph, pw = (-h) % window[0], (-w) % window[1]
    if ph or pw:
        x = F.pad(x, (0, 0, 0, pw, 0, ph))
    return x


class WindowAttention(nn.Module):
    def __init__(self, dim, num_heads, window_size, qkv_bias=True, qk_scale=None, proj_drop=0.0,
                 persistent_index=False):
        super().__init__()
        self.dim, self.num_heads = dim, num_heads
        self.window_size = tuple(window_size)
        self.scale = qk_scale or (dim // num_heads) ** -0.5
        wh, ww = self.window_size
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * wh - 1) * (2 * ww - 1), num_heads))
        self.register_buffer("relative_position_index", relative_position_index(self.window_size),
                             persistent=persistent_index)
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)
        trunc_normal_(self.relative_position_bias_table, std=0.02)

    def relative_position_bias(self):
        """(heads, 1, L, L): the table read through the index."""
        l = self.window_size[0] * self.window_size[1]
        bias = self.relative_position_bias_table[self.relative_position_index.reshape(-1)].view(l, l, -1)
        return bias.permute(2, 0, 1).unsqueeze(1)

    def forward(self, x, shift=(0, 0)):
        """x: (B, H, W, C), H and W multiples of the window (see ``pad_to_multiple``); returns (B, H, W, C)."""
        b, h, w, c = x.shape
        qkv = self.qkv(x).view(b, h, w, 3, self.num_heads, c // self.num_heads)
        q, k, v = qkv.unbind(3)
        out = ops.window_attention(q, k, v, self.window_size, shift_size=shift, bias=self.relative_position_bias(),
                                   scale=self.scale)
        return self.proj_drop(self.proj(out.reshape(b, h, w, c)))
