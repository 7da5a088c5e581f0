"""SHViT: Single-Head Vision Transformer with Memory Efficient Macro Design (Yun & Ro, CVPR 2024).

Paper: https://arxiv.org/abs/2401.16456 -- official code: https://github.com/ysj9909/SHViT

The project's SHViT, registered as ``va_shvit_s1`` ... ``va_shvit_s4`` next to timm's own ``shvit_s*`` (never
replacing them). It has timm's module layout (``patch_embed``, ``stages.<i>.downsample`` /
``stages.<i>.blocks``, ``head.bn`` / ``head.l``), so timm's checkpoints load unchanged;
``checkpoint_filter_fn`` also converts the official GitHub releases (``blocks1`` / ``blocks2`` / ``blocks3``,
wrapped as ``{"model": ...}``).

What differs from timm's model:

- the single-head attention is ``visionattn.layers.SHSA`` (dense attention through ``visionattn.ops``, so the
  attention backends reach it);
- ``features_only=True`` / ``forward_intermediates`` give the three stage outputs at strides 16 / 32 / 64,
  the levels the official detection backbone (``downstream/shvit.py``) hands to its FPN, at any input size;
- ``fuse()`` folds every BatchNorm into the preceding convolution (and the head's BatchNorm1d into the
  linear layer), plus the identity shortcut of the depthwise residual convolutions into their kernels:
  the same function with fewer layers, for inference;
- inputs are checked (shape, channels, at least 16x16 pixels) with clear errors.
"""
import re
from typing import Any, Dict, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD
from timm.layers import SelectAdaptivePool2d, SqueezeExcite, get_device_dtype, trunc_normal_
from timm.models import generate_default_cfgs, register_model
from timm.models._manipulate import checkpoint_seq

from visionattn.checkpoint import unwrap_checkpoint
from visionattn.layers import SHSA, Conv2dNorm

from ._base import PyramidMixin, build, conv_layout

__all__ = ["SHViT", "checkpoint_filter_fn"]

MIN_SIZE = 16  # the stem is a stride-16 patchify: below one 16x16 patch there is nothing to embed
# size-dependent helpers are single nodes when torch.fx traces the model (timm's leaf functions)
torch.fx.wrap("conv_layout")


# ----------------------------------------------------------------------------------------------------------
# layers

class NormLinear(nn.Sequential):
    """BatchNorm1d followed by a linear layer (official ``BN_Linear``)."""

    def __init__(self, in_features, out_features, bias=True, std=0.02, device=None, dtype=None):
        super().__init__()
        self.add_module("bn", nn.BatchNorm1d(in_features, device=device, dtype=dtype))
        self.add_module("l", nn.Linear(in_features, out_features, bias=bias, device=device, dtype=dtype))
        trunc_normal_(self.l.weight, std=std)
        if bias:
            nn.init.zeros_(self.l.bias)

    @torch.no_grad()
    def fuse(self) -> nn.Linear:
        bn, lin = self.bn, self.l
        scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
        shift = bn.bias - bn.running_mean * scale
        fused = nn.Linear(lin.in_features, lin.out_features, bias=True, device=lin.weight.device,
                          dtype=lin.weight.dtype)
        fused.weight.copy_(lin.weight * scale[None, :])
        bias = lin.weight @ shift
        fused.bias.copy_(bias if lin.bias is None else bias + lin.bias)
        return fused


class Residual(nn.Module):
    """x + m(x)."""

    def __init__(self, m: nn.Module):
        super().__init__()
        self.m = m

    def forward(self, x):
        return x + self.m(x)

    @torch.no_grad()
    def fuse(self) -> nn.Module:
        """A depthwise Conv2dNorm residual becomes one depthwise convolution whose kernel holds the identity
        (a 1 at the centre tap); any other residual stays (its inner module is fused)."""
        if not isinstance(self.m, Conv2dNorm):
            return self
        conv = self.m.fuse()
        k = conv.kernel_size
        if conv.groups != conv.in_channels or conv.in_channels != conv.out_channels or k[0] % 2 == 0 \
                or k[1] % 2 == 0 or conv.stride != (1, 1) or conv.padding != (k[0] // 2, k[1] // 2):
            raise ValueError("only a same-size depthwise convolution residual can absorb its shortcut")
        conv.weight[:, 0, k[0] // 2, k[1] // 2] += 1.0
        return conv


class FFN(nn.Module):
    def __init__(self, dim, hidden_dim):
        super().__init__()
        self.pw1 = Conv2dNorm(dim, hidden_dim)
        self.act = nn.ReLU()
        self.pw2 = Conv2dNorm(hidden_dim, dim, bn_weight_init=0.0)

    def forward(self, x):
        return self.pw2(self.act(self.pw1(x)))


class PatchMerging(nn.Module):
    """Inverted-residual downsampling: 1x1 expand (x4), 3x3 depthwise stride 2, squeeze-excite, 1x1 project."""

    def __init__(self, dim, out_dim):
        super().__init__()
        hidden = dim * 4
        self.conv1 = Conv2dNorm(dim, hidden)
        self.act1 = nn.ReLU()
        self.conv2 = Conv2dNorm(hidden, hidden, 3, 2, 1, groups=hidden)
        self.act2 = nn.ReLU()
        self.se = SqueezeExcite(hidden, 0.25)
        self.conv3 = Conv2dNorm(hidden, out_dim)

    def forward(self, x):
        return self.conv3(self.se(self.act2(self.conv2(self.act1(self.conv1(x))))))


class BasicBlock(nn.Module):
    """Residual depthwise 3x3 conv, residual SHSA (type "s"; none for type "i"), residual FFN."""

    def __init__(self, dim, qk_dim, pdim, block_type):
        super().__init__()
        if block_type not in ("s", "i"):
            raise ValueError(f"SHViT block type must be 's' (attention) or 'i' (convolution only), got {block_type!r}")
        self.conv = Residual(Conv2dNorm(dim, dim, 3, 1, 1, groups=dim, bn_weight_init=0.0))
        self.mixer = Residual(SHSA(dim, qk_dim, pdim)) if block_type == "s" else nn.Identity()
        self.ffn = Residual(FFN(dim, dim * 2))

    def forward(self, x):
        return self.ffn(self.mixer(self.conv(x)))


class SHViTStage(nn.Module):
    def __init__(self, prev_dim, dim, qk_dim, pdim, block_type, depth):
        super().__init__()
        self.grad_checkpointing = False
        if prev_dim != dim:
            self.downsample = nn.Sequential(
                Residual(Conv2dNorm(prev_dim, prev_dim, 3, 1, 1, groups=prev_dim)),
                Residual(FFN(prev_dim, prev_dim * 2)),
                PatchMerging(prev_dim, dim),
                Residual(Conv2dNorm(dim, dim, 3, 1, 1, groups=dim)),
                Residual(FFN(dim, dim * 2)),
            )
        else:
            self.downsample = nn.Identity()
        self.blocks = nn.Sequential(*[BasicBlock(dim, qk_dim, pdim, block_type) for _ in range(depth)])

    def forward(self, x):
        x = self.downsample(x)
        if self.grad_checkpointing and not torch.jit.is_scripting():
            return checkpoint_seq(self.blocks, x)
        return self.blocks(x)


# ----------------------------------------------------------------------------------------------------------
# model

class SHViT(PyramidMixin, nn.Module):
    def __init__(
            self,
            in_chans: int = 3,
            num_classes: int = 1000,
            global_pool: str = "avg",
            embed_dim: Tuple[int, ...] = (128, 256, 384),
            partial_dim: Tuple[int, ...] = (32, 64, 96),
            qk_dim: Tuple[int, ...] = (16, 16, 16),
            depth: Tuple[int, ...] = (1, 2, 3),
            types: Tuple[str, ...] = ("s", "s", "s"),
            drop_rate: float = 0.0,
    ):
        super().__init__()
        if not (len(embed_dim) == len(partial_dim) == len(qk_dim) == len(depth) == len(types)):
            raise ValueError("embed_dim, partial_dim, qk_dim, depth and types need one entry per stage")
        if global_pool not in ("", "avg", "max", "avgmax"):
            raise ValueError(f"global_pool must be '', 'avg', 'max' or 'avgmax', got {global_pool!r}")
        self.num_classes = num_classes
        self.in_chans = in_chans
        self.min_size = MIN_SIZE
        self.drop_rate = drop_rate

        c0 = embed_dim[0]
        self.patch_embed = nn.Sequential(
            Conv2dNorm(in_chans, c0 // 8, 3, 2, 1), nn.ReLU(),
            Conv2dNorm(c0 // 8, c0 // 4, 3, 2, 1), nn.ReLU(),
            Conv2dNorm(c0 // 4, c0 // 2, 3, 2, 1), nn.ReLU(),
            Conv2dNorm(c0 // 2, c0, 3, 2, 1),
        )
        stages, self.feature_info = [], []
        prev = c0
        for i, (ed, kd, pd, dp, t) in enumerate(zip(embed_dim, qk_dim, partial_dim, depth, types)):
            stages.append(SHViTStage(prev, ed, kd, pd, t, dp))
            prev = ed
            self.feature_info.append(dict(num_chs=ed, reduction=2 ** (i + 4), module=f"stages.{i}"))
        self.stages = nn.Sequential(*stages)

        self.norm = nn.Identity()   # no final norm
        self.num_features = self.head_hidden_size = embed_dim[-1]
        self._make_head(num_classes, global_pool)

    def _make_head(self, num_classes, global_pool, **dd):
        self.global_pool = SelectAdaptivePool2d(pool_type=global_pool, flatten=bool(global_pool))
        if self.global_pool.feat_mult() != 1:
            raise ValueError("SHViT's BatchNorm head needs a pooling that keeps the width (avg or max)")
        self.head = NormLinear(self.num_features, num_classes, **dd) if num_classes > 0 else nn.Identity()

    @torch.jit.ignore
    def no_weight_decay(self):
        return set()

    @torch.jit.ignore
    def group_matcher(self, coarse=False):
        return dict(
            stem=r"^patch_embed",
            blocks=r"^stages\.(\d+)" if coarse else [
                (r"^stages\.(\d+)\.downsample", (0,)),
                (r"^stages\.(\d+)\.blocks\.(\d+)", None),
            ],
        )

    # timm's SHViT head: pooling, then BatchNorm1d + Linear (``head.bn``, ``head.l``)
    @torch.jit.ignore
    def get_classifier(self):
        return self.head.l if isinstance(self.head, NormLinear) else self.head

    @torch.jit.ignore
    def reset_classifier(self, num_classes: int, global_pool: Optional[str] = None):
        self.num_classes = num_classes
        if global_pool is None:
            global_pool = self.global_pool.pool_type
        self._make_head(num_classes, global_pool, **get_device_dtype(self))
        self.global_pool.train(self.training)
        self.head.train(self.training)

    def forward_head(self, x, pre_logits: bool = False):
        x = self.global_pool(x)
        if self.drop_rate > 0.0:
            x = F.dropout(x, p=self.drop_rate, training=self.training)
        return x if pre_logits else self.head(x)

    # PyramidMixin hooks: the stage outputs at strides 16, 32, 64 (the official detection backbone's levels)
    def stem(self, x):
        return self.patch_embed(conv_layout(x))

    def forward_features(self, x):   # written out: TorchScript compiles it
        if not torch.jit.is_scripting():
            x = self.check_input(x)
        return self.stages(self.patch_embed(conv_layout(x)))

    # -- inference fusion --------------------------------------------------------------------------------
    @torch.no_grad()
    def fuse(self):
        """Fold every BatchNorm into its convolution / linear layer (eval statistics) and the shortcut of
        each depthwise residual convolution into its kernel, in place; returns the model. Outputs in eval
        mode are unchanged; the fused model is for inference (its state dict has the fused layout)."""

        def fuse_children(module):
            for name, child in module.named_children():
                if hasattr(child, "fuse"):
                    fused = child.fuse()
                    setattr(module, name, fused)
                    if fused is child:  # a residual that kept its inner module: fuse inside it
                        fuse_children(child)
                else:
                    fuse_children(child)

        fuse_children(self)
        return self


# ----------------------------------------------------------------------------------------------------------
# checkpoints

def _official_to_timm(key: str) -> str:
    """Official ``blocks1/2/3`` names -> the stage layout (timm's). In the official ``blocks2`` / ``blocks3``
    the first three entries are the downsampling path: 0 = (dw residual, FFN residual), 1 = PatchMerging,
    2 = (dw residual, FFN residual); the blocks follow from index 3."""
    m = re.match(r"^blocks(\d)\.(\d+)\.(.*)$", key)
    if not m:
        return key
    stage, idx, rest = int(m.group(1)) - 1, int(m.group(2)), m.group(3)
    if stage == 0:
        return f"stages.0.blocks.{idx}.{rest}"
    if idx == 0 or idx == 2:
        sub, tail = rest.split(".", 1)
        return f"stages.{stage}.downsample.{int(sub) + (0 if idx == 0 else 3)}.{tail}"
    if idx == 1:
        return f"stages.{stage}.downsample.2.{rest}"
    return f"stages.{stage}.blocks.{idx - 3}.{rest}"


def checkpoint_filter_fn(state_dict: Dict[str, Any], model: nn.Module) -> Dict[str, torch.Tensor]:
    """timm's checkpoints (stage layout) pass unchanged; the official releases (``{"model": ...}`` or bare,
    ``blocks1`` / ``blocks2`` / ``blocks3``) are renamed to the stage layout. 1x1 convolution weights stored
    as 2-D matrices (as the official loader allows) get their two trailing unit dimensions back. A
    distillation head (``head_dist``) is not part of this model and is dropped."""
    state_dict = unwrap_checkpoint(state_dict)
    official = any(k.startswith("blocks1.") for k in state_dict)
    own = model.state_dict()
    out = {}
    for k, v in state_dict.items():
        if k.startswith("head_dist."):
            continue
        if official:
            k = _official_to_timm(k)
        ref = own.get(k)
        if ref is not None and v.dim() == 2 and ref.dim() == 4 and ref.shape[2:] == (1, 1):
            v = v[:, :, None, None]
        out[k] = v
    return out


def _cfg(url="", **kwargs):
    return {
        "url": url, "num_classes": 1000, "input_size": (3, 224, 224), "pool_size": (4, 4),
        "crop_pct": 0.875, "interpolation": "bicubic", "mean": IMAGENET_DEFAULT_MEAN, "std": IMAGENET_DEFAULT_STD,
        "first_conv": "patch_embed.0.c", "classifier": "head.l", "license": "mit",
        "paper_ids": "arXiv:2401.16456",
        "paper_name": "SHViT: Single-Head Vision Transformer with Memory Efficient Macro Design",
        "origin_url": "https://github.com/ysj9909/SHViT",
        **kwargs,
    }


_RELEASE = "https://github.com/ysj9909/SHViT/releases/download/v1.0/"

# the first tag of each entry is timm's own hub copy (stage layout); the second is the official GitHub
# release (blocks1/2/3 layout, {"model": ...}); both hold the same weights and load through checkpoint_filter_fn
default_cfgs = generate_default_cfgs({
    "va_shvit_s1.in1k": _cfg(hf_hub_id="timm/shvit_s1.in1k"),
    "va_shvit_s1.orig_in1k": _cfg(url=_RELEASE + "shvit_s1.pth"),
    "va_shvit_s2.in1k": _cfg(hf_hub_id="timm/shvit_s2.in1k"),
    "va_shvit_s2.orig_in1k": _cfg(url=_RELEASE + "shvit_s2.pth"),
    "va_shvit_s3.in1k": _cfg(hf_hub_id="timm/shvit_s3.in1k"),
    "va_shvit_s3.orig_in1k": _cfg(url=_RELEASE + "shvit_s3.pth"),
    "va_shvit_s4.in1k": _cfg(hf_hub_id="timm/shvit_s4.in1k", input_size=(3, 256, 256)),
    "va_shvit_s4.orig_in1k": _cfg(url=_RELEASE + "shvit_s4.pth",
                                  input_size=(3, 256, 256)),
})


def _create(variant, pretrained=False, **kwargs):
    return build(SHViT, variant, pretrained, filter_fn=checkpoint_filter_fn,
                 feature_cfg=dict(out_indices=(0, 1, 2)), **kwargs)


_VARIANTS = {
    "s1": dict(embed_dim=(128, 224, 320), depth=(2, 4, 5), partial_dim=(32, 48, 68), types=("i", "s", "s")),
    "s2": dict(embed_dim=(128, 308, 448), depth=(2, 4, 5), partial_dim=(32, 66, 96), types=("i", "s", "s")),
    "s3": dict(embed_dim=(192, 352, 448), depth=(3, 5, 5), partial_dim=(48, 75, 96), types=("i", "s", "s")),
    "s4": dict(embed_dim=(224, 336, 448), depth=(4, 7, 6), partial_dim=(48, 72, 96), types=("i", "s", "s")),
}


@register_model
def va_shvit_s1(pretrained=False, **kwargs) -> SHViT:
    return _create("va_shvit_s1", pretrained, **dict(_VARIANTS["s1"], **kwargs))


@register_model
def va_shvit_s2(pretrained=False, **kwargs) -> SHViT:
    return _create("va_shvit_s2", pretrained, **dict(_VARIANTS["s2"], **kwargs))


@register_model
def va_shvit_s3(pretrained=False, **kwargs) -> SHViT:
    return _create("va_shvit_s3", pretrained, **dict(_VARIANTS["s3"], **kwargs))


@register_model
def va_shvit_s4(pretrained=False, **kwargs) -> SHViT:
    return _create("va_shvit_s4", pretrained, **dict(_VARIANTS["s4"], **kwargs))
