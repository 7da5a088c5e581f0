"""Halo attention (Vaswani et al., Scaling Local Self-Attention for Parameter Efficient Visual Backbones, CVPR
2021) on NCHW maps, through ``visionattn.ops.window_attention(..., halo_size=...)``, with timm's ``HaloAttn``
signature and parameter names (``q``, ``kv``, ``pos_embed.height_rel``, ``pos_embed.width_rel``), so timm's
HaloNet checkpoints load unchanged and timm's ByobNet configs can build it as their ``self_attn_layer``."""
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from timm.layers import make_divisible, register_notrace_module, trunc_normal_
from torch import nn

from visionattn import ops

from .helpers import ceil_div, check_layout


class HaloRelPosEmbed(nn.Module):
    """HaloNet's query-dependent relative position logits (Bello et al.'s Attention Augmented Convolution,
    as timm's ``PosEmbedRel``): for a query at (y, x) of its block and a key at (ky, kx) of its halo window,
    ``q . height_rel[ky - y + win - 1] + q . width_rel[kx - x + win - 1]``."""

    def __init__(self, block_size: int, win_size: int, dim_head: int, scale: float, device=None, dtype=None):
        super().__init__()
        self.block_size, self.win_size, self.dim_head, self.scale = block_size, win_size, dim_head, scale
        self.height_rel = nn.Parameter(torch.empty(win_size * 2 - 1, dim_head, device=device, dtype=dtype))
        self.width_rel = nn.Parameter(torch.empty(win_size * 2 - 1, dim_head, device=device, dtype=dtype))
        self.reset_parameters()

    def reset_parameters(self):
        nn.init.normal_(self.height_rel, std=self.scale)
        nn.init.normal_(self.width_rel, std=self.scale)

    def forward(self, q):
        """q: (B, Hq, Wq, heads, D), Hq and Wq multiples of the block -> bias (B, heads, blocks, bs * bs,
        win * win) for ``window_attention`` (blocks row-major, tokens row-major)."""
        b, hq, wq, n, d = q.shape
        bs, win = self.block_size, self.win_size
        nh, nw = hq // bs, wq // bs
        q = q.reshape(b, nh, bs, nw, bs, n, d).permute(0, 5, 1, 3, 2, 4, 6)      # (B, heads, nh, nw, y, x, D)
        offsets = torch.arange(win, device=q.device)[None, :] - torch.arange(bs, device=q.device)[:, None]
        index = offsets + (win - 1)                                               # (bs, win): key - query + win - 1
        logits_h = torch.einsum("bnijyxd,ykd->bnijyxk", q, self.height_rel[index])
        logits_w = torch.einsum("bnijyxd,xkd->bnijyxk", q, self.width_rel[index])
        bias = logits_h[..., :, None] + logits_w[..., None, :]                    # (..., y, x, ky, kx)
        return bias.reshape(b, n, nh * nw, bs * bs, win * win)


@register_notrace_module
class HaloAttn(nn.Module):
    """Halo attention (timm's ``HaloAttn`` signature and parameters) through ``ops.window_attention``.

    Each block of ``block_size`` x ``block_size`` queries attends to the block grown by ``halo_size`` keys on
    every side; keys outside the map are zeros in the softmax. With ``stride`` 2 the queries come from a
    strided 1x1 convolution (a query map half the key map: blocks of ``block_size // 2`` queries), or, when
    the block size is odd or ``avg_down``, attention runs at full resolution and is average-pooled.
    Maps that are not multiples of the block are zero-padded (queries, keys, values) and cropped back.
    """

    def __init__(
            self,
            dim: int,
            dim_out: Optional[int] = None,
            feat_size: Optional[Tuple[int, int]] = None,
            stride: int = 1,
            num_heads: int = 8,
            dim_head: Optional[int] = None,
            block_size: int = 8,
            halo_size: int = 3,
            qk_ratio: float = 1.0,
            qkv_bias: bool = False,
            avg_down: bool = False,
            scale_pos_embed: bool = False,
            device=None,
            dtype=None,
    ):
        super().__init__()
        dim_out = dim_out or dim
        if dim_out % num_heads:
            raise ValueError(f"HaloAttn: dim_out {dim_out} must be a multiple of num_heads {num_heads}")
        if stride not in (1, 2):
            raise ValueError(f"HaloAttn: stride must be 1 or 2, got {stride}")
        dd = dict(device=device, dtype=dtype)
        self.num_heads = num_heads
        self.dim_head_qk = dim_head or make_divisible(dim_out * qk_ratio, divisor=8) // num_heads
        self.dim_head_v = dim_out // num_heads
        self.dim_out_qk = num_heads * self.dim_head_qk
        self.dim_out_v = num_heads * self.dim_head_v
        self.scale = self.dim_head_qk ** -0.5
        self.scale_pos_embed = scale_pos_embed
        self.block_size = self.block_size_ds = block_size
        self.halo_size = halo_size
        self.win_size = block_size + halo_size * 2
        self.block_stride = 1
        use_avg_pool = False
        if stride > 1:
            use_avg_pool = avg_down or block_size % stride != 0
            self.block_stride = 1 if use_avg_pool else stride
            self.block_size_ds = block_size // self.block_stride

        self.q = nn.Conv2d(dim, self.dim_out_qk, 1, stride=self.block_stride, bias=qkv_bias, **dd)
        self.kv = nn.Conv2d(dim, self.dim_out_qk + self.dim_out_v, 1, bias=qkv_bias, **dd)
        self.pos_embed = HaloRelPosEmbed(self.block_size_ds, self.win_size, self.dim_head_qk, self.scale, **dd)
        self.pool = nn.AvgPool2d(2, 2) if use_avg_pool else nn.Identity()
        self.reset_parameters()

    def reset_parameters(self):
        std = self.q.weight.shape[1] ** -0.5  # fan-in, as timm
        trunc_normal_(self.q.weight, std=std)
        trunc_normal_(self.kv.weight, std=std)
        trunc_normal_(self.pos_embed.height_rel, std=self.scale)
        trunc_normal_(self.pos_embed.width_rel, std=self.scale)

    def forward(self, x):
        check_layout(x, self.q.in_channels, "HaloAttn", "NCHW")
        b, _, h, w = x.shape
        bs, ds, n = self.block_size, self.block_size_ds, self.num_heads
        nh, nw = ceil_div(h, bs), ceil_div(w, bs)                       # block grid of the (padded) key map
        # q and kv in NCHW memory before the head split: from channels-last maps (conv_layout) the whole-model
        # torch.compile graph (aot_eager, torch 2.14) gave wrong attention outputs (each block compiled alone,
        # and eager, are right); tests/test_export.py
        q = self.q(x).contiguous()                              # (B, heads * Dqk, Hq, Wq)
        kv = self.kv(x).contiguous()                            # (B, heads * (Dqk + Dv), H, W)
        hq, wq = q.shape[-2], q.shape[-1]
        q = F.pad(q, [0, nw * ds - wq, 0, nh * ds - hq])
        kv = F.pad(kv, [0, nw * bs - w, 0, nh * bs - h])
        q = q.reshape(b, n, self.dim_head_qk, nh * ds, nw * ds).permute(0, 3, 4, 1, 2)
        kv = kv.reshape(b, n, self.dim_head_qk + self.dim_head_v, nh * bs, nw * bs).permute(0, 3, 4, 1, 2)
        k, v = kv.split([self.dim_head_qk, self.dim_head_v], dim=-1)
        bias = self.pos_embed(q)
        if self.scale_pos_embed:
            bias = bias * self.scale
        out = ops.window_attention(q, k, v, ds, halo_size=self.halo_size, bias=bias, scale=self.scale)
        out = out[:, :hq, :wq].permute(0, 3, 4, 1, 2).reshape(b, self.dim_out_v, hq, wq)
        return self.pool(out)
