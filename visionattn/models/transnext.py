"""TransNeXt: Robust Foveal Visual Perception for Vision Transformers (Dai Shi, CVPR 2024).

Paper: https://arxiv.org/abs/2311.17132 -- official code: https://github.com/DaiShiResearch/TransNeXt (Apache-2.0).

Four stages of overlapping patch embeddings, blocks of (attention, convolutional GLU) and a per-stage
LayerNorm. The first three stages use *aggregated attention* (``visionattn.layers.AggregatedAttention``: a
query's 3x3 neighbourhood and the tokens of a pooled copy of the map in one softmax, length-scaled cosine
attention with a continuous position bias, and the post-softmax learnable-token term), the last stage full
attention with the same scaling and bias (``visionattn.layers.ScaledCosineAttention``).

Any input size. Two position-bias modes, as the official dense backbones have them:

- ``pos_bias_mode='extrapolate'`` (default; the official ``is_extrapolation=True``): position coordinates, pool
  sizes and masks are built for the actual map of each stage, with the coordinates scaled by the pre-training
  size (``pretrain_size``, 224 for every official release). At the default 224 x 224 this is exactly the
  official classification model.
- ``pos_bias_mode='interpolate'`` with ``pos_bias_size=S`` (the official ``is_extrapolation=False`` with
  ``img_size=S``; every official detection / segmentation release was trained so, S = 800 for detection and 512
  for segmentation): each stage computes its continuous position bias for an S x S image (a (S / stride)^2 x
  (S / stride / sr_ratio)^2 table), then resizes it bilinearly (``align_corners=False``) to the actual map, first
  over the pooled keys, then over the queries. Pool sizes, masks and length scales still come from the actual
  map. On an S x S image the two modes are the same function.

Parameter names inside the blocks are the official ones; the official layout (``patch_embed{i}``,
``block{i}.{j}``, ``norm{i}``) is converted by ``checkpoint_filter_fn``. No weight depends on the mode.
"""
import functools
import math
import re

import torch
from torch import nn
from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD
from timm.layers import ClassifierHead, DropPath, calculate_drop_path_rates, to_2tuple
from timm.models import generate_default_cfgs, register_model

from visionattn.checkpoint import unwrap_checkpoint
from visionattn.layers import AggregatedAttention, DWConv, ScaledCosineAttention
from visionattn.layers.aggregated_attention import min_map_size

from ._base import PyramidMixin, build, classifier_to_head_fc, init_linear, run_checkpointed

__all__ = ["TransNeXt", "checkpoint_filter_fn"]

POS_BIAS_MODES = ("extrapolate", "interpolate")


class ConvolutionalGLU(nn.Module):
    """fc1 -> (gate: 3x3 depthwise conv, GELU) * value -> fc2; hidden width 2/3 of the nominal one."""

    def __init__(self, in_features, hidden_features=None, out_features=None, act_layer=nn.GELU, drop=0.):
        super().__init__()
        out_features = out_features or in_features
        hidden_features = int(2 * (hidden_features or in_features) / 3)
        self.fc1 = nn.Linear(in_features, hidden_features * 2)
        self.dwconv = DWConv(hidden_features)
        self.act = act_layer()
        self.fc2 = nn.Linear(hidden_features, out_features)
        self.drop = nn.Dropout(drop)

    def forward(self, x):
        x, v = self.fc1(x).chunk(2, dim=-1)
        x = self.drop(self.act(self.dwconv(x)) * v)
        return self.drop(self.fc2(x))


class Block(nn.Module):
    def __init__(self, dim, num_heads, window_size=3, sr_ratio=1, mlp_ratio=4., qkv_bias=True, proj_drop=0.,
                 attn_drop=0., drop_path=0., act_layer=nn.GELU, norm_layer=nn.LayerNorm, pretrain_size=None,
                 fixed_pool_size=None, pos_bias_size=None):
        super().__init__()
        self.norm1 = norm_layer(dim)
        common = dict(qkv_bias=qkv_bias, attn_drop=attn_drop, proj_drop=proj_drop, pretrain_size=pretrain_size,
                      table_size=pos_bias_size)
        if sr_ratio == 1:
            self.attn = ScaledCosineAttention(dim, num_heads, **common)
        else:
            self.attn = AggregatedAttention(dim, num_heads, window_size=window_size, sr_ratio=sr_ratio,
                                            fixed_pool_size=fixed_pool_size, **common)
        self.norm2 = norm_layer(dim)
        self.mlp = ConvolutionalGLU(dim, int(dim * mlp_ratio), act_layer=act_layer, drop=proj_drop)
        self.drop_path = DropPath(drop_path) if drop_path > 0. else nn.Identity()

    def forward(self, x):
        x = x + self.drop_path(self.attn(self.norm1(x)))
        x = x + self.drop_path(self.mlp(self.norm2(x)))
        return x


class OverlapPatchEmbed(nn.Module):
    """Strided convolution with overlapping kernels, then LayerNorm; (B, C, H, W) -> (B, H', W', C')."""

    def __init__(self, patch_size=7, stride=4, in_chans=3, embed_dim=768):
        super().__init__()
        patch_size = to_2tuple(patch_size)
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=stride,
                              padding=(patch_size[0] // 2, patch_size[1] // 2))
        self.norm = nn.LayerNorm(embed_dim)

    def forward(self, x):
        return self.norm(self.proj(x).permute(0, 2, 3, 1))


class TransNeXtStage(nn.Module):
    """Overlapping patch embedding (stride 2; none in the first stage), blocks, stage LayerNorm. ``pretrain_size``:
    the pre-training map size of this stage (scales the position offsets); ``pos_bias_size``: the map size of
    this stage's fixed position-bias table ("interpolation" mode), None: the bias is built for the actual map."""

    def __init__(self, dim_in, dim, depth, num_heads, window_size, sr_ratio, mlp_ratio, pretrain_size,
                 fixed_pool_size=None, downsample=True, qkv_bias=True, proj_drop=0., attn_drop=0., drop_path=(),
                 norm_layer=nn.LayerNorm, pos_bias_size=None):
        super().__init__()
        self.grad_checkpointing = False
        self.downsample = OverlapPatchEmbed(3, 2, dim_in, dim) if downsample else nn.Identity()
        self.blocks = nn.ModuleList([
            Block(dim, num_heads, window_size=window_size, sr_ratio=sr_ratio, mlp_ratio=mlp_ratio,
                  qkv_bias=qkv_bias, proj_drop=proj_drop, attn_drop=attn_drop, drop_path=drop_path[j],
                  norm_layer=norm_layer, pretrain_size=pretrain_size, fixed_pool_size=fixed_pool_size,
                  pos_bias_size=pos_bias_size)
            for j in range(depth)])
        self.norm = norm_layer(dim)

    def forward(self, x):
        if not isinstance(self.downsample, nn.Identity):
            x = self.downsample(x.permute(0, 3, 1, 2))
        for blk in self.blocks:
            x = run_checkpointed(blk, self.grad_checkpointing, x)
        return self.norm(x)


# ----------------------------------------------------------------------------------------------------------
# model

class TransNeXt(PyramidMixin, nn.Module):
    """TransNeXt. ``pretrain_size``: the image size of the ImageNet pre-training (224 for every official
    release, also the 384 fine-tunes); it scales the position-bias offsets so the cpb MLP extrapolates to other
    sizes. ``fixed_pool_size``: the official "linear inference mode" (pool every aggregated-attention stage to
    this size instead of H / sr_ratio).

    ``pos_bias_mode``: how the continuous position bias meets the actual map (see the module docstring).
    ``'extrapolate'`` (default; the official ``is_extrapolation=True``): computed for the actual map.
    ``'interpolate'`` (the official ``is_extrapolation=False``, how every official detection / segmentation release
    was trained and evaluated): computed for a ``pos_bias_size`` image (the official ``img_size``: an int or
    (h, w); 800 for the official detection releases, 512 for segmentation) and resized bilinearly to the actual
    map. The weights are the same in both modes."""

    def __init__(self, in_chans=3, num_classes=1000, global_pool="avg", depths=(2, 2, 15, 2),
                 embed_dims=(48, 96, 192, 384), num_heads=(2, 4, 8, 16), mlp_ratios=(8, 8, 4, 4),
                 sr_ratios=(8, 4, 2, 1), window_size=(3, 3, 3, None), patch_size=4, qkv_bias=True,
                 pretrain_size=224, fixed_pool_size=None, drop_rate=0., proj_drop_rate=0., attn_drop_rate=0.,
                 drop_path_rate=0., norm_layer=None, pos_bias_mode="extrapolate", pos_bias_size=None):
        super().__init__()
        pos_bias_size = self._check_pos_bias(pos_bias_mode, pos_bias_size, fixed_pool_size, patch_size,
                                             len(depths), sr_ratios)
        norm_layer = norm_layer or functools.partial(nn.LayerNorm, eps=1e-6)
        num_stages = len(depths)
        self.num_classes, self.in_chans, self.global_pool = num_classes, in_chans, global_pool
        self.output_fmt = "NHWC"
        self.depths, self.sr_ratios, self.fixed_pool_size = tuple(depths), tuple(sr_ratios), fixed_pool_size
        self.pretrain_size = to_2tuple(pretrain_size)
        self.pos_bias_mode, self.pos_bias_size = pos_bias_mode, pos_bias_size

        self.patch_embed = OverlapPatchEmbed(patch_size * 2 - 1, patch_size, in_chans, embed_dims[0])
        dpr = calculate_drop_path_rates(drop_path_rate, list(depths), stagewise=True)
        self.feature_info = []
        stages = []
        for i in range(num_stages):
            reduction = patch_size * 2 ** i
            stages.append(TransNeXtStage(
                embed_dims[i - 1] if i else embed_dims[0], embed_dims[i], depths[i], num_heads[i], window_size[i],
                sr_ratios[i], mlp_ratios[i], tuple(p // reduction for p in self.pretrain_size),
                fixed_pool_size=fixed_pool_size, downsample=i > 0, qkv_bias=qkv_bias, proj_drop=proj_drop_rate,
                attn_drop=attn_drop_rate, drop_path=dpr[i], norm_layer=norm_layer,
                pos_bias_size=None if pos_bias_size is None else tuple(s // reduction for s in pos_bias_size)))
            self.feature_info.append(dict(num_chs=embed_dims[i], reduction=reduction, module=f"stages.{i}"))
        self.stages = nn.Sequential(*stages)
        self.min_size = self._min_input_size(patch_size)

        self.num_features = self.head_hidden_size = embed_dims[-1]
        self.norm = nn.Identity()   # every stage ends in its own norm
        self.head = ClassifierHead(self.num_features, num_classes, pool_type=global_pool, drop_rate=drop_rate,
                                   input_fmt=self.output_fmt)

        for m in self.modules():
            self._init_weights(m)

    @staticmethod
    def _init_weights(m):
        init_linear(m)
        if isinstance(m, nn.Conv2d):   # the official init: normal(0, sqrt(2 / fan_out))
            fan_out = m.kernel_size[0] * m.kernel_size[1] * m.out_channels // m.groups
            nn.init.normal_(m.weight, 0, math.sqrt(2.0 / fan_out))
            if m.bias is not None:
                nn.init.zeros_(m.bias)

    @staticmethod
    def _check_pos_bias(mode, size, fixed_pool_size, patch_size, num_stages, sr_ratios):
        """The (h, w) image size of the fixed position-bias tables ('interpolate'), or None ('extrapolate')."""
        if mode not in POS_BIAS_MODES:
            raise ValueError(f"TransNeXt: pos_bias_mode must be one of {POS_BIAS_MODES}, got {mode!r}")
        if mode == "extrapolate":
            if size is not None:
                raise ValueError("TransNeXt: pos_bias_size is the image size of pos_bias_mode='interpolate'; "
                                 f"pos_bias_mode='extrapolate' takes none (got {size!r})")
            return None
        if size is None:
            raise ValueError("TransNeXt: pos_bias_mode='interpolate' needs pos_bias_size, the image size the "
                             "position bias is computed for (the official img_size: 800 detection, 512 segmentation)")
        if fixed_pool_size is not None:
            raise ValueError("TransNeXt: pos_bias_mode='interpolate' and fixed_pool_size (linear inference mode) "
                             "do not go together (no official model has both)")
        size = to_2tuple(size)
        need = max(patch_size * 2 ** i * sr for i, sr in enumerate(sr_ratios[:num_stages]))
        if min(size) < need:
            raise ValueError(f"TransNeXt: pos_bias_size {size} is too small: every stage's table needs a pooled "
                             f"map of at least 1 x 1 (at least {need})")
        return tuple(int(s) for s in size)

    def _min_input_size(self, patch_size):
        """The smallest square image every stage accepts (``min_map_size`` of each aggregated-attention stage)."""
        for size in range(1, 1 << 14):
            s, ok = -(-size // patch_size), True
            for i, sr in enumerate(self.sr_ratios):
                if i:
                    s = -(-s // 2)
                if sr > 1:
                    ok &= s >= min_map_size(sr, self.fixed_pool_size)
            if ok:
                return size
        raise ValueError("no input size fits this configuration")

    @torch.jit.ignore
    def no_weight_decay(self):
        """The official no_weight_decay_keywords, as parameter names."""
        keywords = ("query_embedding", "relative_pos_bias_local", "cpb", "temperature")
        return {n for n, _ in self.named_parameters() if any(k in n for k in keywords)}

    @torch.jit.ignore
    def group_matcher(self, coarse=False):
        return dict(
            stem=r"^patch_embed",
            blocks=r"^stages\.(\d+)" if coarse else [
                (r"^stages\.(\d+)\.downsample", (0,)),
                (r"^stages\.(\d+)\.blocks\.(\d+)", None),
                (r"^stages\.(\d+)\.norm", (99999,)),
            ],
        )

    def stem(self, x):   # PyramidMixin: the stages follow
        return self.patch_embed(x)


# ----------------------------------------------------------------------------------------------------------
# checkpoints

_BUFFERS = re.compile(r"(^relative_pos_index\d|^relative_coords_table\d|seq_length_scale$|padding_mask$)")


def checkpoint_filter_fn(state_dict, model):
    """Official checkpoints (``{"model": ...}`` or bare) -> this layout; this layout passes unchanged.

    ``patch_embed1`` -> ``patch_embed``, ``patch_embed{i}`` -> ``stages.{i-1}.downsample``,
    ``block{i}.{j}`` -> ``stages.{i-1}.blocks.{j}``, ``norm{i}`` -> ``stages.{i-1}.norm``; the size-dependent
    buffers the official model may carry (position indices and coordinates, masks, length scales) are dropped:
    they are rebuilt for each input size. No parameter depends on the image size, so nothing is resized.
    """
    state_dict = classifier_to_head_fc(unwrap_checkpoint(state_dict))
    out = {}
    for k, v in state_dict.items():
        if _BUFFERS.search(k):
            continue
        k = re.sub(r"^patch_embed1\.", "patch_embed.", k)
        k = re.sub(r"^patch_embed(\d+)\.", lambda m: f"stages.{int(m[1]) - 1}.downsample.", k)
        k = re.sub(r"^block(\d+)\.", lambda m: f"stages.{int(m[1]) - 1}.blocks.", k)
        k = re.sub(r"^norm(\d+)\.", lambda m: f"stages.{int(m[1]) - 1}.norm.", k)
        out[k] = v
    return out


# ----------------------------------------------------------------------------------------------------------
# registration

def _cfg(repo, filename, **kwargs):
    return {
        "hf_hub_id": f"DaiShiResearch/{repo}",
        "hf_hub_filename": filename,
        "url": f"https://huggingface.co/DaiShiResearch/{repo}/resolve/main/{filename}?download=true",
        "num_classes": 1000, "input_size": (3, 224, 224), "pool_size": (7, 7),
        "crop_pct": 0.875, "interpolation": "bicubic", "fixed_input_size": False,
        "mean": IMAGENET_DEFAULT_MEAN, "std": IMAGENET_DEFAULT_STD,
        "first_conv": "patch_embed.proj", "classifier": "head.fc",
        "license": "apache-2.0", "paper_ids": "arXiv:2311.17132",
        "origin_url": "https://github.com/DaiShiResearch/TransNeXt", **kwargs,
    }


_384 = dict(input_size=(3, 384, 384), pool_size=(12, 12), crop_pct=1.0, crop_mode="squash")

default_cfgs = generate_default_cfgs({
    "transnext_micro.in1k": _cfg("transnext-micro-224-1k", "transnext_micro_224_1k.pth"),
    "transnext_tiny.in1k": _cfg("transnext-tiny-224-1k", "transnext_tiny_224_1k.pth"),
    "transnext_small.in1k": _cfg("transnext-small-224-1k", "transnext_small_224_1k.pth"),
    "transnext_small.in1k_384": _cfg("transnext-small-384-1k-ft-1k", "transnext_small_384_1k_ft_1k.pth", **_384),
    "transnext_base.in1k": _cfg("transnext-base-224-1k", "transnext_base_224_1k.pth"),
    "transnext_base.in1k_384": _cfg("transnext-base-384-1k-ft-1k", "transnext_base_384_1k_ft_1k.pth", **_384),
})


def _create(variant, pretrained=False, **kwargs):
    return build(TransNeXt, variant, pretrained, filter_fn=checkpoint_filter_fn, **kwargs)


@register_model
def transnext_micro(pretrained=False, **kwargs) -> TransNeXt:
    args = dict(depths=(2, 2, 15, 2), embed_dims=(48, 96, 192, 384), num_heads=(2, 4, 8, 16))
    return _create("transnext_micro", pretrained, **dict(args, **kwargs))


@register_model
def transnext_tiny(pretrained=False, **kwargs) -> TransNeXt:
    args = dict(depths=(2, 2, 15, 2), embed_dims=(72, 144, 288, 576), num_heads=(3, 6, 12, 24))
    return _create("transnext_tiny", pretrained, **dict(args, **kwargs))


@register_model
def transnext_small(pretrained=False, **kwargs) -> TransNeXt:
    args = dict(depths=(5, 5, 22, 5), embed_dims=(72, 144, 288, 576), num_heads=(3, 6, 12, 24))
    return _create("transnext_small", pretrained, **dict(args, **kwargs))


@register_model
def transnext_base(pretrained=False, **kwargs) -> TransNeXt:
    args = dict(depths=(5, 5, 23, 5), embed_dims=(96, 192, 384, 768), num_heads=(4, 8, 16, 32))
    return _create("transnext_base", pretrained, **dict(args, **kwargs))
