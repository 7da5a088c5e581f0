"""SHViT's single-head self-attention (Yun & Ro, SHViT: Single-Head Vision Transformer with Memory Efficient Macro
Design, CVPR 2024; official code https://github.com/ysj9909/SHViT) on NCHW maps, and its conv + BatchNorm unit.

timm's / the official parameter names (``pre_norm``, ``qkv.c``, ``qkv.bn``, ``proj.1.c``, ...), so SHViT
checkpoints load unchanged."""
import torch
from timm.layers import GroupNorm1, register_notrace_module
from torch import nn

from visionattn import ops

from .helpers import check_layout


class Conv2dNorm(nn.Sequential):
    """Bias-free convolution followed by BatchNorm (official ``Conv2d_BN``, timm ``Conv2dNorm``)."""

    def __init__(self, in_chs, out_chs, kernel_size=1, stride=1, padding=0, groups=1, bn_weight_init=1.0):
        super().__init__()
        self.add_module("c", nn.Conv2d(in_chs, out_chs, kernel_size, stride, padding, groups=groups, bias=False))
        self.add_module("bn", nn.BatchNorm2d(out_chs))
        nn.init.constant_(self.bn.weight, bn_weight_init)
        nn.init.zeros_(self.bn.bias)

    @torch.no_grad()
    def fuse(self) -> nn.Conv2d:
        """One convolution with bias computing conv -> BatchNorm (eval statistics)."""
        conv, bn = self.c, self.bn
        scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
        fused = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding,
                          conv.dilation, conv.groups, bias=True, device=conv.weight.device, dtype=conv.weight.dtype)
        fused.weight.copy_(conv.weight * scale[:, None, None, None])
        fused.bias.copy_(bn.bias - bn.running_mean * scale)
        return fused



@register_notrace_module
class SHSA(nn.Module):
    """Single-head self-attention on the first ``pdim`` channels of an NCHW map (any size; GroupNorm(1) first);
    the other channels pass through; both are projected together (ReLU, 1x1 conv + BatchNorm). One head of
    ``qk_dim`` query / key channels and ``pdim`` value channels, scale qk_dim ** -0.5."""

    def __init__(self, dim: int, qk_dim: int, pdim: int):
        super().__init__()
        if not 0 < pdim <= dim:
            raise ValueError(f"SHSA: pdim must lie in (0, dim = {dim}], got {pdim}")
        self.dim, self.qk_dim, self.pdim = dim, qk_dim, pdim
        self.scale = qk_dim ** -0.5
        self.pre_norm = GroupNorm1(pdim)
        self.qkv = Conv2dNorm(pdim, qk_dim * 2 + pdim)
        self.proj = nn.Sequential(nn.ReLU(), Conv2dNorm(dim, dim, bn_weight_init=0.0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_layout(x, self.dim, "SHSA", "NCHW")
        b, _, h, w = x.shape
        x1, x2 = torch.split(x, [self.pdim, self.dim - self.pdim], dim=1)
        qkv = self.qkv(self.pre_norm(x1)).flatten(2).transpose(1, 2)  # (B, N, 2 qk + pdim)
        q, k, v = torch.split(qkv, [self.qk_dim, self.qk_dim, self.pdim], dim=-1)
        x1 = ops.attention(q.unsqueeze(1), k.unsqueeze(1), v.unsqueeze(1), scale=self.scale).squeeze(1)
        x1 = x1.transpose(1, 2).reshape(b, self.pdim, h, w)
        return self.proj(torch.cat([x1, x2], dim=1))
