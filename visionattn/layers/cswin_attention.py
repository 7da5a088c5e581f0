"""Cross-shaped window attention with agent or LePE branches: the attention of Agent-CSwin (Han et al., Agent
Attention: On the Integration of Softmax and Linear Attention, ECCV 2024; official code
https://github.com/LeapLabTHU/Agent-Attention, ``agent_transformer/models/agent_cswin.py``) on the CSWin
Transformer (Dong et al., CVPR 2022, https://github.com/microsoft/CSWin-Transformer).

One ``CSWinAttention`` is the attention part of an official ``CSWinBlock``: ``qkv``, the branches ``attns`` and
``proj`` (the official names, so the released blocks' weights load unchanged). With a ``split_size`` the heads
are split in two halves: the first half attends inside vertical stripes ``split_size`` columns wide (full
height), the second inside horizontal stripes ``split_size`` rows high (full width); without one a single
branch attends over the whole map with all heads. A branch is

- "A" (agent attention, ``AgentCore``): per stripe (or over the whole map), agent tokens are the stripe's
  queries average-pooled to a p x p grid, attend to the stripe's keys / values, and the queries attend to the
  agents, with the official agent biases (``an_bias`` ... ``wa_bias``) resampled bilinearly from the stripe
  size they were trained at (``bias_grid``) to the actual one;
- "B" (CSWin's LePE attention): softmax attention inside each stripe (``visionattn.ops.window_attention``).

Both add the locally-enhanced positional encoding ``get_v``, a 3 x 3 depthwise convolution of the values applied
inside each stripe (zero padding at the stripe borders, as the official code).

Any map size: a branch's stripes take the actual map's height (vertical) or width (horizontal); the projected
q, k, v are zero-padded along the split axis to a multiple of ``split_size``, split evenly before / after (the
official CSWin segmentation backbone's rule; the padded keys take part in the softmax, the padded queries in the
agent pooling), and the output is cropped back.
"""
from typing import Optional, Tuple

import torch
from timm.layers import register_notrace_module
from torch import nn

from visionattn import ops

from .agent_attention import AgentCore
from .helpers import check_layout, crop_centered, pad_to_multiple, window_merge, window_partition


def stripe(mode: int, split_size: int, size: Tuple[int, int]) -> Tuple[int, int]:
    """The window of a branch on an (h, w) map: the map (mode -1), (h, split) (0) or (split, w) (1); the modes
    are the official ``idx``."""
    if mode == -1:
        return (size[0], size[1])
    return (size[0], split_size) if mode == 0 else (split_size, size[1])


class _Branch(nn.Module):
    """One branch on (B, H, W, dim) q, k, v maps: pad to whole stripes, attend in each stripe (the subclass's
    ``attention(q, k, v, window)`` on the padded maps), add the per-stripe value convolution ``get_v``, crop."""

    def __init__(self, dim, mode, split_size):
        super().__init__()
        self.dim, self.mode, self.split_size = dim, mode, split_size
        self.get_v = nn.Conv2d(dim, dim, kernel_size=3, padding=1, groups=dim)

    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        size = (q.shape[1], q.shape[2])
        window = stripe(self.mode, self.split_size, size)
        q, k, v = (pad_to_multiple(t, window, centered=True) for t in (q, k, v))
        padded = (q.shape[1], q.shape[2])
        lepe = self.get_v(window_partition(v, window).permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
        out = self.attention(q, k, v, window) + window_merge(lepe, padded)
        return crop_centered(out, size)


class _LePEBranch(_Branch):
    """CSWin's ``LePEAttention``: softmax attention inside each stripe, scale head_dim ** -0.5."""

    def __init__(self, dim, num_heads, mode, split_size):
        super().__init__(dim, mode, split_size)
        self.num_heads = num_heads

    def attention(self, q, k, v, window):
        b, h, w, c = q.shape
        shape = (b, h, w, self.num_heads, c // self.num_heads)
        out = ops.window_attention(q.reshape(shape), k.reshape(shape), v.reshape(shape), window)
        return out.reshape(b, h, w, c)


class _AgentBranch(AgentCore, _Branch):
    """Agent-CSwin's ``AgentAttention``: agent attention inside each stripe, the agents pooled per stripe; the
    biases are shaped on ``bias_grid``, the stripe at the size the model is configured for."""

    def __init__(self, dim, num_heads, mode, split_size, bias_grid, agent_num, agent_shape, attn_drop):
        super().__init__(dim, mode, split_size)
        self.init_agent(dim, num_heads, agent_num, bias_grid, bias_grid, agent_shape, attn_drop)

    def attention(self, q, k, v, window):
        b, h, w, c = q.shape
        n = window[0] * window[1]
        ak, qa = self.agent_bias(window, window)
        q, k, v = (window_partition(t, window).reshape(-1, n, c) for t in (q, k, v))
        out = self.attend(q, k, v, window, ak[None], qa[None])
        return window_merge(out.reshape(-1, window[0], window[1], c), (h, w))


@register_notrace_module
class CSWinAttention(nn.Module):
    """Agent-CSwin's cross-shaped window attention (the attention of the official ``CSWinBlock``) on
    (B, H, W, C) maps of any size; see the module docstring.

    Padding rule: a stripe branch zero-pads the projected q, k, v along its split axis to a multiple of
    ``split_size`` (half before, the rest after, as the official CSWin segmentation backbone) and crops the
    output; a whole-map branch never pads.

    Args:
        dim: channels (in and out). num_heads: heads (dim divisible by it; even with ``split_size``).
        split_size: stripe width: two branches (vertical stripes on the first half of the heads, horizontal
            ones on the second); None: one branch over the whole map (the official last stage, or a stripe as
            wide as the map).
        attn_type: "A" agent attention or "B" LePE (CSWin) attention.
        bias_grid: "A": the (h, w) map the model is configured for (the biases of a stripe branch are shaped on
            its stripe of this map: (h, split) or (split, w)); at other sizes they are resampled bilinearly.
        agent_num: agents per stripe (a square, p x p). agent_shape: another agent grid, the biases resampled
            over it (the official detection backbones' ``downstream_agent_shape``).
        qkv_bias: bias of the qkv projection. attn_drop: dropout on the agent attention weights ("A" only).

    Parameters (official names): ``qkv``, ``proj``, ``attns.{0,1}.get_v`` and, for "A",
    ``attns.{0,1}.{an,na,ah,aw,ha,wa}_bias``. No output dropout (the official block creates one but never
    applies it).
    """

    def __init__(self, dim: int, num_heads: int, split_size: Optional[int] = None, attn_type: str = "A",
                 bias_grid: Optional[Tuple[int, int]] = None, agent_num: int = 49,
                 agent_shape: Optional[Tuple[int, int]] = None, qkv_bias: bool = True, attn_drop: float = 0.0):
        super().__init__()
        branches = 1 if split_size is None else 2
        if dim % num_heads:
            raise ValueError(f"CSWinAttention: dim {dim} must be divisible by num_heads {num_heads}")
        if num_heads % branches:
            raise ValueError(f"CSWinAttention: two stripe branches (split_size {split_size}) split the heads in "
                             f"halves: num_heads must be even, got {num_heads}")
        if split_size is not None and split_size < 1:
            raise ValueError(f"CSWinAttention: split_size must be a positive stripe width or None, got {split_size}")
        if attn_type not in ("A", "B"):
            raise ValueError(f"CSWinAttention: unknown attn_type {attn_type!r} (expected 'A' or 'B')")
        if attn_type == "A" and bias_grid is None:
            raise ValueError("CSWinAttention: agent attention (attn_type 'A') needs bias_grid, the map size the "
                             "biases are trained at")
        if attn_type == "B" and attn_drop:
            raise ValueError("attention dropout is not supported by the window-attention op (attn_drop_rate=0)")
        self.dim, self.num_heads, self.split_size, self.attn_type = dim, num_heads, split_size, attn_type
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)
        d, h = dim // branches, num_heads // branches
        modes = (-1,) if branches == 1 else (0, 1)
        if attn_type == "A":
            self.attns = nn.ModuleList([
                _AgentBranch(d, h, m, split_size, stripe(m, split_size, tuple(bias_grid)), agent_num, agent_shape,
                             attn_drop) for m in modes])
        else:
            self.attns = nn.ModuleList([_LePEBranch(d, h, m, split_size) for m in modes])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, H, W, C) -> (B, H, W, C)."""
        check_layout(x, self.dim, "CSWinAttention", "NHWC")
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        if len(self.attns) == 1:
            return self.proj(self.attns[0](q, k, v))
        half = self.dim // 2
        out = torch.cat([self.attns[0](q[..., :half], k[..., :half], v[..., :half]),
                         self.attns[1](q[..., half:], k[..., half:], v[..., half:])], dim=-1)
        return self.proj(out)
