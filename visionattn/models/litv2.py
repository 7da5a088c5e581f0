""" LITv2: Fast Vision Transformers with HiLo Attention

Paper: `Fast Vision Transformers with HiLo Attention` - https://arxiv.org/abs/2205.13213
Official code (Apache-2.0): https://github.com/ziplab/LITv2

@inproceedings{pan2022hilo,
  title={Fast Vision Transformers with HiLo Attention},
  author={Pan, Zizheng and Cai, Jianfei and Zhuang, Bohan},
  booktitle={NeurIPS},
  year={2022}
}

Architecture (as the official classification model):

- patch embedding: 4x4 / stride 4 convolution + LayerNorm;
- four stages; stages without attention (``local_ws`` 0, the first two) are stacks of convolutional FFN
  blocks (``x + FFN(norm2(x))``, FFN = fc1 -> 3x3 depthwise conv -> GELU -> fc2); the others add HiLo attention
  before the FFN (``x + HiLo(norm1(x))``);
- HiLo (``visionattn.layers.HiLo``) splits the heads: ``int(num_heads * alpha)`` Lo-Fi heads, whose queries attend
  to keys / values of the ``ws x ws`` average-pooled map (``visionattn.ops.attention``), and the rest Hi-Fi
  heads, attention inside non-overlapping ``ws x ws`` windows without bias (``visionattn.ops.window_attention``);
  outputs are concatenated [Hi-Fi, Lo-Fi], each group with its own output projection. ``ws == 1`` means every
  head is Lo-Fi without pooling (plain global attention);
- Deformable Token Merging (DTM) at the end of every stage but the last: a 2x2 / stride 2 deformable
  convolution (offsets from a 2x2 / stride 2 convolution, (dy, dx) pairs per kernel point, no modulation mask;
  ``torchvision.ops.deform_conv2d``) + BatchNorm + GELU;
- final LayerNorm, global average pool, linear head (timm's ``ClassifierHead``: ``head.fc``; the official ``head.*``
  keys are renamed on load).

Dense prediction at any size follows the official detection / segmentation backbone: the image is zero-padded
at the bottom / right to a multiple of the patch size; HiLo zero-pads its (normalised) input map at the bottom /
right to a multiple of the window, runs both head groups on the padded map (the padded tokens take part as
keys of the border windows and in the pooled keys) and crops the output back; DTM uses no padding, so an odd
map loses its last row / column (floor(H / 2)). At the default 224 x 224 nothing is padded.

Parameter names are the official ones, so official checkpoints load unchanged (``{"model": ...}`` or bare).

Written for visionattn; the semantics reference is the official repository.
"""
from typing import Tuple

import torch
import torch.nn as nn
from torchvision.ops import deform_conv2d
from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD
from timm.layers import ClassifierHead, DropPath, PatchEmbed, calculate_drop_path_rates, register_notrace_module
from timm.models import generate_default_cfgs, register_model

from visionattn.checkpoint import unwrap_checkpoint
from visionattn.layers import DWConv, HiLo

from ._base import PyramidMixin, build, classifier_to_head_fc, init_linear, run_checkpointed

__all__ = ['LITv2', 'DTM', 'checkpoint_filter_fn']

MIN_SIZE = 29  # ceil(29 / 4) = 8 -> 4 -> 2 -> 1 tokens at the last stage; 28 leaves none


class ConvFFN(nn.Module):
    """LITv2's FFN (official ``DWMlp``): fc1 -> depthwise 3x3 conv -> GELU -> fc2, on (B, H, W, C)."""

    def __init__(self, in_features, hidden_features=None, out_features=None, act_layer=nn.GELU, drop=0.0):
        super().__init__()
        out_features = out_features or in_features
        hidden_features = hidden_features or in_features
        self.fc1 = nn.Linear(in_features, hidden_features)
        self.dwconv = DWConv(hidden_features)
        self.act = act_layer()
        self.fc2 = nn.Linear(hidden_features, out_features)
        self.drop = nn.Dropout(drop)

    def forward(self, x):
        x = self.act(self.dwconv(self.fc1(x)))
        x = self.drop(x)
        return self.drop(self.fc2(x))


class Block(nn.Module):
    """HiLo attention + convolutional FFN, pre-norm residuals."""

    def __init__(self, dim, num_heads, mlp_ratio=4.0, qkv_bias=True, qk_scale=None, proj_drop=0.0, attn_drop=0.0,
                 drop_path=0.0, act_layer=nn.GELU, norm_layer=nn.LayerNorm, local_ws=2, alpha=0.5):
        super().__init__()
        self.norm1 = norm_layer(dim)
        self.attn = HiLo(dim, num_heads=num_heads, qkv_bias=qkv_bias, qk_scale=qk_scale, attn_drop=attn_drop,
                         proj_drop=proj_drop, window_size=local_ws, alpha=alpha)
        self.drop_path = DropPath(drop_path) if drop_path > 0.0 else nn.Identity()
        self.norm2 = norm_layer(dim)
        self.mlp = ConvFFN(dim, int(dim * mlp_ratio), act_layer=act_layer, drop=proj_drop)

    def forward(self, x):
        x = x + self.drop_path(self.attn(self.norm1(x)))
        return x + self.drop_path(self.mlp(self.norm2(x)))


class ConvFFNBlock(nn.Module):
    """Convolutional FFN only (the stages without attention)."""

    def __init__(self, dim, num_heads=None, mlp_ratio=4.0, qkv_bias=True, qk_scale=None, proj_drop=0.0,
                 attn_drop=0.0, drop_path=0.0, act_layer=nn.GELU, norm_layer=nn.LayerNorm, local_ws=0, alpha=0.5):
        super().__init__()
        self.drop_path = DropPath(drop_path) if drop_path > 0.0 else nn.Identity()
        self.norm2 = norm_layer(dim)
        self.mlp = ConvFFN(dim, int(dim * mlp_ratio), act_layer=act_layer, drop=proj_drop)

    def forward(self, x):
        return x + self.drop_path(self.mlp(self.norm2(x)))


@register_notrace_module
class DeformConv2dPack(nn.Module):
    """Deformable convolution (DCNv1, no modulation mask) whose offsets come from its own ``conv_offset``;
    offset channels are (dy, dx) pairs per kernel point, row-major (``torchvision.ops.deform_conv2d``'s layout,
    the same as the official CUDA extension). Parameter names follow the official ``DeformConv2dPack``."""

    def __init__(self, in_channels, out_channels, kernel_size=2, stride=2, padding=0):
        super().__init__()
        self.stride, self.padding = stride, padding
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.empty(out_channels))
        self.conv_offset = nn.Conv2d(in_channels, 2 * kernel_size * kernel_size, kernel_size=kernel_size,
                                     stride=stride, padding=padding, bias=True)
        self.reset_parameters()

    def reset_parameters(self):
        nn.init.kaiming_uniform_(self.weight, a=5 ** 0.5)
        bound = 1 / (self.weight[0].numel() ** 0.5)
        nn.init.uniform_(self.bias, -bound, bound)
        nn.init.zeros_(self.conv_offset.weight)   # offsets start at zero: a plain strided convolution
        nn.init.zeros_(self.conv_offset.bias)

    def forward(self, x):
        offset = self.conv_offset(x)
        if x.device.type == "cpu" and x.dtype in (torch.float16, torch.bfloat16):
            # torchvision's CPU kernel has no half types (e.g. under bf16 autocast): compute in fp32 and return
            # the input's dtype, as torchvision's own CUDA autocast wrapper does
            out = deform_conv2d(x.float(), offset.float(), self.weight.float(), self.bias.float(),
                                stride=self.stride, padding=self.padding)
            return out.to(x.dtype)
        return deform_conv2d(x, offset, self.weight, self.bias, stride=self.stride, padding=self.padding)


class DTM(nn.Module):
    """Deformable Token Merging: 2x2 / stride 2 deformable conv -> BatchNorm -> GELU, doubling the channels.
    (B, H, W, C) -> (B, floor(H / 2), floor(W / 2), 2C)."""
    conv_norm_pairs = (("dconv", "norm_layer"),)   # visionattn.deploy.fuse folds the BatchNorm into the conv

    def __init__(self, dim, out_dim=None):
        super().__init__()
        out_dim = out_dim or 2 * dim
        self.dconv = DeformConv2dPack(dim, out_dim, kernel_size=2, stride=2, padding=0)
        self.norm_layer = nn.BatchNorm2d(out_dim)
        self.act_layer = nn.GELU()

    def forward(self, x):
        x = self.act_layer(self.norm_layer(self.dconv(x.permute(0, 3, 1, 2).contiguous())))
        return x.permute(0, 2, 3, 1)


class LITLayer(nn.Module):
    """One stage: blocks, then (except the last stage) DTM. Returns (stage output, downsampled output)."""

    def __init__(self, dim, depth, num_heads, mlp_ratio=4.0, qkv_bias=True, qk_scale=None, proj_drop=0.0,
                 attn_drop=0.0, drop_path=0.0, norm_layer=nn.LayerNorm, downsample=True, has_msa=True, local_ws=2,
                 alpha=0.5):
        super().__init__()
        self.dim = dim
        self.grad_checkpointing = False
        block = Block if has_msa else ConvFFNBlock
        self.blocks = nn.ModuleList([
            block(dim, num_heads=num_heads, mlp_ratio=mlp_ratio, qkv_bias=qkv_bias, qk_scale=qk_scale,
                  proj_drop=proj_drop, attn_drop=attn_drop,
                  drop_path=drop_path[i] if isinstance(drop_path, (list, tuple)) else drop_path,
                  norm_layer=norm_layer, local_ws=local_ws, alpha=alpha)
            for i in range(depth)])
        self.downsample = DTM(dim) if downsample else nn.Identity()

    def forward(self, x) -> Tuple[torch.Tensor, torch.Tensor]:
        for blk in self.blocks:
            x = run_checkpointed(blk, self.grad_checkpointing, x)
        return x, self.downsample(x)


class LITv2(PyramidMixin, nn.Module):
    """LITv2 (HiLo attention) for classification and as a dense-prediction backbone at any input size."""

    def __init__(
            self,
            img_size=224,
            patch_size=4,
            in_chans=3,
            num_classes=1000,
            global_pool='avg',
            embed_dim=96,
            depths=(2, 2, 6, 2),
            num_heads=(3, 6, 12, 24),
            mlp_ratio=4.0,
            qkv_bias=True,
            qk_scale=None,
            drop_rate=0.0,
            proj_drop_rate=0.0,
            attn_drop_rate=0.0,
            drop_path_rate=0.0,
            norm_layer=nn.LayerNorm,
            patch_norm=True,
            has_msa=(0, 0, 1, 1),
            alpha=0.9,
            local_ws=(0, 0, 2, 1),
    ):
        """img_size only records the pretraining size: the model runs at any size >= 29."""
        super().__init__()
        num_stages = len(depths)
        if not (len(num_heads) == len(has_msa) == len(local_ws) == num_stages):
            raise ValueError("LITv2: depths, num_heads, has_msa and local_ws need one entry per stage")
        self.num_classes = num_classes
        self.global_pool = global_pool
        self.in_chans = in_chans
        self.output_fmt = 'NHWC'
        self.num_layers = num_stages
        self.embed_dim = embed_dim
        self.num_features = self.head_hidden_size = int(embed_dim * 2 ** (num_stages - 1))
        self.min_size = MIN_SIZE

        # the image zero-padded at the bottom / right to whole patches (the official dense backbone)
        self.patch_embed = PatchEmbed(None, patch_size, in_chans, embed_dim, norm_layer=norm_layer if patch_norm else None,
                                      output_fmt='NHWC', strict_img_size=False, dynamic_img_pad=True)
        self.pos_drop = nn.Dropout(p=drop_rate)

        dpr = calculate_drop_path_rates(drop_path_rate, sum(depths))
        self.layers = nn.ModuleList()
        self.feature_info = []
        for i in range(num_stages):
            dim = int(embed_dim * 2 ** i)
            self.layers.append(LITLayer(
                dim, depth=depths[i], num_heads=num_heads[i], mlp_ratio=mlp_ratio, qkv_bias=qkv_bias,
                qk_scale=qk_scale, proj_drop=proj_drop_rate, attn_drop=attn_drop_rate,
                drop_path=dpr[sum(depths[:i]):sum(depths[:i + 1])], norm_layer=norm_layer,
                downsample=i < num_stages - 1, has_msa=has_msa[i] == 1, local_ws=local_ws[i], alpha=alpha))
            self.feature_info.append(dict(num_chs=dim, reduction=patch_size * 2 ** i, module=f'layers.{i}'))

        self.norm = norm_layer(self.num_features)
        self.head = ClassifierHead(self.num_features, num_classes, pool_type=global_pool, drop_rate=drop_rate,
                                   input_fmt=self.output_fmt)
        self.apply(self._init_weights)

    @staticmethod
    def _init_weights(m):
        init_linear(m)
        if isinstance(m, DWConv):  # the official DWMlp init: normal(0, sqrt(2 / fan_out))
            conv = m.dwconv
            fan_out = conv.kernel_size[0] * conv.kernel_size[1] * conv.out_channels // conv.groups
            nn.init.normal_(conv.weight, 0, (2.0 / fan_out) ** 0.5)
            nn.init.zeros_(conv.bias)

    @torch.jit.ignore
    def no_weight_decay(self):
        return set()

    @torch.jit.ignore
    def group_matcher(self, coarse=False):
        return dict(
            stem=r'^patch_embed',
            blocks=r'^layers\.(\d+)' if coarse else [
                (r'^layers\.(\d+)\.blocks\.(\d+)', None),
                (r'^layers\.(\d+)\.downsample', (99999,)),   # with the last block of its stage
                (r'^norm', (99999,)),
            ],
        )

    # PyramidMixin hooks: a stage's features are its blocks' output, before the DTM
    stage_attr = 'layers'

    def stem(self, x):
        return self.pos_drop(self.patch_embed(x))

    def run_stage(self, i, x):
        return self.layers[i](x)

    def keep_stages(self, n):
        self.layers = self.layers[:n]
        self.layers[-1].downsample = nn.Identity()


# ----------------------------------------------------------------------------------------------------------
# checkpoints

def checkpoint_filter_fn(state_dict, model):
    """Official LITv2 checkpoints (``{"model": ...}`` as released, or bare) -> this model.

    The official classification names are kept, so the conversion only unwraps the container, strips a
    ``module.`` (DDP) prefix and, for weights taken from the official mmdet / mmseg backbones (``backbone.``
    prefix), keeps the backbone and drops the per-level output norms (``norm1``..``norm3``) that the
    classification model does not have. No position tables exist, so any input size loads unchanged.
    """
    state_dict = unwrap_checkpoint(state_dict)
    if any(k.startswith('backbone.') for k in state_dict):
        state_dict = {k[len('backbone.'):]: v for k, v in state_dict.items() if k.startswith('backbone.')}
    # the dense backbones' per-level norms (norm0..norm3) are not part of the classification model
    return classifier_to_head_fc({k: v for k, v in state_dict.items() if not (k[:4] == 'norm' and k[4:5].isdigit())})


def _create_litv2(variant, pretrained=False, **kwargs):
    return build(LITv2, variant, pretrained, filter_fn=checkpoint_filter_fn, **kwargs)


def _cfg(url='', **kwargs):
    return {
        'url': url, 'num_classes': 1000, 'input_size': (3, 224, 224), 'pool_size': (7, 7),
        'min_input_size': (3, MIN_SIZE, MIN_SIZE),
        'crop_pct': 0.875, 'interpolation': 'bicubic', 'fixed_input_size': False,
        'mean': IMAGENET_DEFAULT_MEAN, 'std': IMAGENET_DEFAULT_STD,
        'first_conv': 'patch_embed.proj', 'classifier': 'head.fc',
        'license': 'apache-2.0', 'origin_url': 'https://github.com/ziplab/LITv2',
        'paper_ids': 'arXiv:2205.13213', 'paper_name': 'Fast Vision Transformers with HiLo Attention',
        **kwargs,
    }


_RELEASE = 'https://github.com/ziplab/LITv2/releases/download/v1.0/'

default_cfgs = generate_default_cfgs({
    'litv2_s.in1k': _cfg(url=_RELEASE + 'litv2_s.pth', notes=('official file: litv2_s.pth', 'top-1 82.0')),
    'litv2_m.in1k': _cfg(url=_RELEASE + 'litv2_m.pth', notes=('official file: litv2_m.pth', 'top-1 83.3')),
    'litv2_b.in1k': _cfg(url=_RELEASE + 'litv2_b.pth', notes=('official file: litv2_b.pth', 'top-1 83.6')),
    'litv2_b.in1k_384': _cfg(
        url=_RELEASE + 'litv2_b_384.pth', input_size=(3, 384, 384), pool_size=(12, 12), crop_pct=1.0,
        crop_mode='squash', notes=('official file: litv2_b_384.pth', 'top-1 84.7', 'fine-tuned at 384')),
})


@register_model
def litv2_s(pretrained=False, **kwargs) -> LITv2:
    """LITv2-S: 28M params, 3.7 GFLOPs at 224."""
    model_args = dict(embed_dim=96, depths=(2, 2, 6, 2), num_heads=(3, 6, 12, 24), alpha=0.9,
                      local_ws=(0, 0, 2, 1))
    return _create_litv2('litv2_s', pretrained=pretrained, **dict(model_args, **kwargs))


@register_model
def litv2_m(pretrained=False, **kwargs) -> LITv2:
    """LITv2-M: 49M params, 7.5 GFLOPs at 224."""
    model_args = dict(embed_dim=96, depths=(2, 2, 18, 2), num_heads=(3, 6, 12, 24), alpha=0.9,
                      local_ws=(0, 0, 2, 1))
    return _create_litv2('litv2_m', pretrained=pretrained, **dict(model_args, **kwargs))


@register_model
def litv2_b(pretrained=False, **kwargs) -> LITv2:
    """LITv2-B: 87M params, 13.2 GFLOPs at 224 (and a 384 fine-tune)."""
    model_args = dict(embed_dim=128, depths=(2, 2, 18, 2), num_heads=(4, 8, 16, 32), alpha=0.9,
                      local_ws=(0, 0, 2, 1))
    return _create_litv2('litv2_b', pretrained=pretrained, **dict(model_args, **kwargs))
