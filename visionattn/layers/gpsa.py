"""ConViT's gated positional self-attention (d'Ascoli et al., ConViT: Improving Vision Transformers with Soft
Convolutional Inductive Biases, ICML 2021; official code https://github.com/facebookresearch/convit).

Official (and timm's) parameter names: ``qk``, ``v``, ``pos_proj``, ``gating_param``, ``proj``."""
from typing import Optional, Tuple

import torch
from timm.layers import register_notrace_module
from torch import nn

from visionattn import ops

from .helpers import check_tokens


def relative_positions(grid: Tuple[int, int], device: Optional[torch.device] = None,
                       dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """(N, N, 3) for an H x W token grid in row-major order: (dx, dy, dx^2 + dy^2), key minus query (the
    official ``rel_indices`` for a square grid, here for any grid)."""
    h, w = grid
    # broadcast, not repeat / repeat_interleave: the ONNX exporter fixes their counts to the example's grid
    ys = torch.arange(h, device=device)[:, None].expand(h, w).reshape(-1)
    xs = torch.arange(w, device=device)[None, :].expand(h, w).reshape(-1)
    dx = xs[None, :] - xs[:, None]
    dy = ys[None, :] - ys[:, None]
    return torch.stack([dx, dy, dx * dx + dy * dy], dim=-1).to(dtype)


@register_notrace_module
class GPSA(nn.Module):
    """Gated positional self-attention on patch tokens (B, H * W, C) of an (H, W) grid (row-major, no class
    token), any grid: per head h with gate g_h = sigmoid(gating_param),
    ``A = (1 - g_h) softmax(q k^T * scale) + g_h softmax(pos_proj(r))``, renormalised over the keys, out = A v,
    where r = (dx, dy, dx^2 + dy^2) are the relative positions of the grid (``ops.attention`` with a mix: the
    positional probabilities do not depend on the input, one (heads, N, N) softmax shared by the batch).

    ``local_init()`` is the official initialisation (v = identity, each head's positional attention peaked at
    one offset of a sqrt(heads) x sqrt(heads) neighbourhood, sharpened by ``locality_strength``)."""

    def __init__(self, dim: int, num_heads: int = 8, qkv_bias: bool = False, attn_drop: float = 0.0,
                 proj_drop: float = 0.0, locality_strength: float = 1.0):
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"GPSA: dim {dim} must be divisible by num_heads {num_heads}")
        self.dim, self.num_heads = dim, num_heads
        self.scale = (dim // num_heads) ** -0.5
        self.locality_strength = locality_strength
        self.qk = nn.Linear(dim, dim * 2, bias=qkv_bias)
        self.v = nn.Linear(dim, dim, bias=qkv_bias)
        self.attn_drop = nn.Dropout(attn_drop)
        self.proj = nn.Linear(dim, dim)
        self.pos_proj = nn.Linear(3, num_heads)
        self.proj_drop = nn.Dropout(proj_drop)
        self.gating_param = nn.Parameter(torch.ones(num_heads))

    @torch.no_grad()
    def local_init(self):
        self.v.weight.copy_(torch.eye(self.dim))
        k = int(self.num_heads ** 0.5)
        center = (k - 1) / 2 if k % 2 == 0 else k // 2
        for h1 in range(k):
            for h2 in range(k):
                head = h1 + k * h2
                self.pos_proj.weight[head, 2] = -1
                self.pos_proj.weight[head, 1] = 2 * (h1 - center)
                self.pos_proj.weight[head, 0] = 2 * (h2 - center)
        self.pos_proj.weight.mul_(self.locality_strength)

    def positional_attention(self, grid: Tuple[int, int]) -> torch.Tensor:
        """(heads, N, N) positional attention probabilities for the grid (input independent)."""
        w = self.pos_proj.weight
        rel = relative_positions(grid, w.device, w.dtype)
        return self.pos_proj(rel).permute(2, 0, 1).softmax(dim=-1)

    def forward(self, x: torch.Tensor, grid: Tuple[int, int]) -> torch.Tensor:
        check_tokens(x, self.dim, "GPSA", grid, 0)
        b, n, c = x.shape
        h = self.num_heads
        q, k = self.qk(x).reshape(b, n, 2, h, c // h).permute(2, 0, 3, 1, 4).unbind(0)
        v = self.v(x).reshape(b, n, h, c // h).transpose(1, 2)
        gate = torch.sigmoid(self.gating_param).view(1, h, 1, 1)
        out = ops.attention(q, k, v, scale=self.scale, dropout_p=self.attn_drop.p if self.training else 0.0,
                            mix=self.positional_attention(grid).unsqueeze(0), mix_weight=gate)
        return self.proj_drop(self.proj(out.transpose(1, 2).reshape(b, n, c)))
