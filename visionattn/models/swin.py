"""Swin Transformer (v1) on the shared window-attention op: ``va_swin_*``.

Same architecture, parameter names and checkpoints as timm's ``swin_*`` (and, through timm's conversion,
Microsoft's original release); W-MSA and SW-MSA run through ``visionattn.ops.window_attention``, whose
kernels roll, partition and mask in index arithmetic (the flash window attention of the zoo).

Any input size: the patch embedding pads the image to a multiple of the patch size; each block pads its
map at the bottom / right to a multiple of the window and then shifts, as mmdet's Swin backbone does
(an axis no longer than the window is one window and is not shifted, as in timm and the official code).
As timm does, a stage whose map at the model's ``img_size`` is no larger than the window gets a window of
the map's size (e.g. window 12 at 192: the last 6x6 stage has 6x6 windows; timm's checkpoint filter
resizes its bias table). At the sizes where timm needs no padding the outputs equal timm's.
"""
import torch
from torch import nn
from timm.layers import ClassifierHead, DropPath, Mlp, PatchEmbed, calculate_drop_path_rates, to_2tuple
from timm.models import generate_default_cfgs, register_model
from timm.models._manipulate import checkpoint_seq
from timm.models._registry import get_arch_pretrained_cfgs
from timm.models.swin_transformer import PatchMerging
from timm.models.swin_transformer import checkpoint_filter_fn as timm_checkpoint_filter_fn

from visionattn.checkpoint import unwrap_checkpoint
from visionattn.layers import WindowAttention

from ._base import PyramidMixin, build, init_linear


class SwinBlock(nn.Module):
    def __init__(self, dim, num_heads, window_size, shifted, mlp_ratio=4.0, qkv_bias=True, proj_drop=0.0,
                 drop_path=0.0, norm_layer=nn.LayerNorm):
        super().__init__()
        self.norm1 = norm_layer(dim)
        self.attn = WindowAttention(dim, num_heads, window_size, shifted=shifted, qkv_bias=qkv_bias,
                                    proj_drop=proj_drop)
        self.drop_path1 = DropPath(drop_path) if drop_path > 0 else nn.Identity()
        self.norm2 = norm_layer(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), drop=proj_drop)
        self.drop_path2 = DropPath(drop_path) if drop_path > 0 else nn.Identity()

    def forward(self, x):
        x = x + self.drop_path1(self.attn(self.norm1(x)))
        return x + self.drop_path2(self.mlp(self.norm2(x)))


class SwinStage(nn.Module):
    def __init__(self, dim, out_dim, depth, downsample, num_heads, window_size, drop_path, **block_kwargs):
        super().__init__()
        self.grad_checkpointing = False
        self.downsample = PatchMerging(dim, out_dim) if downsample else nn.Identity()
        self.blocks = nn.Sequential(*[
            SwinBlock(out_dim, num_heads, window_size, shifted=i % 2 == 1, drop_path=drop_path[i], **block_kwargs)
            for i in range(depth)])

    def forward(self, x):
        x = self.downsample(x)
        if self.grad_checkpointing and not torch.jit.is_scripting():
            return checkpoint_seq(self.blocks, x)
        return self.blocks(x)


def _stage_window(grid, stage, window_size):
    """timm's rule: the window of a stage is clamped to the stage's map at the model's img_size."""
    return tuple(max(1, min(g // 2 ** stage, w)) for g, w in zip(grid, to_2tuple(window_size)))


class SwinTransformer(PyramidMixin, nn.Module):
    """timm's SwinTransformer interface (NHWC features, ``head.fc``) on visionattn's window attention."""

    def __init__(self, img_size=224, patch_size=4, in_chans=3, num_classes=1000, global_pool="avg", embed_dim=96,
                 depths=(2, 2, 6, 2), num_heads=(3, 6, 12, 24), window_size=7, mlp_ratio=4.0, qkv_bias=True,
                 drop_rate=0.0, proj_drop_rate=0.0, drop_path_rate=0.1, norm_layer=nn.LayerNorm, **kwargs):
        super().__init__()
        if kwargs.pop("attn_drop_rate", 0.0):
            raise ValueError("attention dropout is not supported by the window-attention op (attn_drop_rate=0)")
        if kwargs:   # timm's other options (head_dim, always_partition, ...) would silently change nothing
            raise TypeError(f"va_swin does not support {sorted(kwargs)}; it takes img_size, patch_size, in_chans, "
                            "num_classes, global_pool, embed_dim, depths, num_heads, window_size, mlp_ratio, "
                            "qkv_bias, drop_rate, proj_drop_rate, drop_path_rate, norm_layer")
        self.num_classes, self.global_pool, self.in_chans = num_classes, global_pool, in_chans
        self.output_fmt = "NHWC"
        self.num_layers = len(depths)
        self.embed_dim = embed_dim
        self.num_features = self.head_hidden_size = int(embed_dim * 2 ** (self.num_layers - 1))
        self.patch_size = patch_size
        self.min_size = patch_size * 2 ** (self.num_layers - 1)
        self.patch_embed = PatchEmbed(img_size, patch_size, in_chans, embed_dim, norm_layer=norm_layer,
                                      output_fmt="NHWC", strict_img_size=False, dynamic_img_pad=True)
        dpr = calculate_drop_path_rates(drop_path_rate, list(depths), stagewise=True)
        dims = [int(embed_dim * 2 ** i) for i in range(self.num_layers)]
        grid = [s // patch_size for s in to_2tuple(img_size)]
        self.feature_info = []
        layers, in_dim, reduction = [], dims[0], patch_size
        for i in range(self.num_layers):
            layers.append(SwinStage(in_dim, dims[i], depths[i], downsample=i > 0, num_heads=num_heads[i],
                                    window_size=_stage_window(grid, i, window_size), drop_path=dpr[i],
                                    mlp_ratio=mlp_ratio, qkv_bias=qkv_bias, proj_drop=proj_drop_rate,
                                    norm_layer=norm_layer))
            reduction = reduction * 2 if i > 0 else reduction
            self.feature_info.append(dict(num_chs=dims[i], reduction=reduction, module=f"layers.{i}"))
            in_dim = dims[i]
        self.layers = nn.Sequential(*layers)
        self.norm = norm_layer(self.num_features)
        self.head = ClassifierHead(self.num_features, num_classes, pool_type=global_pool, drop_rate=drop_rate,
                                   input_fmt=self.output_fmt)
        self.apply(init_linear)

    @torch.jit.ignore
    def no_weight_decay(self):
        return {n for n, _ in self.named_parameters() if "relative_position_bias_table" in n}

    @torch.jit.ignore
    def group_matcher(self, coarse=False):
        return dict(stem=r"^patch_embed",
                    blocks=r"^layers\.(\d+)" if coarse else [(r"^layers\.(\d+).downsample", (0,)),
                                                             (r"^layers\.(\d+)\.\w+\.(\d+)", None),
                                                             (r"^norm", (99999,))])

    stage_attr = "layers"   # PyramidMixin's stages

    def stem(self, x):
        return self.patch_embed(x)

    def forward_features(self, x):   # written out: TorchScript compiles it
        if not torch.jit.is_scripting():
            x = self.check_input(x)
        return self.norm(self.layers(self.patch_embed(x)))


def checkpoint_filter_fn(state_dict, model):
    """timm checkpoints load unchanged; Microsoft's original release is converted as timm converts it."""
    return timm_checkpoint_filter_fn(unwrap_checkpoint(state_dict), model)


# the timm models this file re-implements, and their architectures
ARCHS = {
    "swin_tiny_patch4_window7_224": dict(patch_size=4, window_size=7, embed_dim=96, depths=(2, 2, 6, 2),
                                         num_heads=(3, 6, 12, 24)),
    "swin_small_patch4_window7_224": dict(patch_size=4, window_size=7, embed_dim=96, depths=(2, 2, 18, 2),
                                          num_heads=(3, 6, 12, 24)),
    "swin_base_patch4_window7_224": dict(patch_size=4, window_size=7, embed_dim=128, depths=(2, 2, 18, 2),
                                         num_heads=(4, 8, 16, 32)),
    "swin_base_patch4_window12_384": dict(patch_size=4, window_size=12, embed_dim=128, depths=(2, 2, 18, 2),
                                          num_heads=(4, 8, 16, 32)),
    "swin_large_patch4_window7_224": dict(patch_size=4, window_size=7, embed_dim=192, depths=(2, 2, 18, 2),
                                          num_heads=(6, 12, 24, 48)),
    "swin_large_patch4_window12_384": dict(patch_size=4, window_size=12, embed_dim=192, depths=(2, 2, 18, 2),
                                           num_heads=(6, 12, 24, 48)),
}


def timm_pretrained_cfgs(timm_name, prefix="va_"):
    """timm's pretrained cfgs of `timm_name` in timm's order (its first tag stays the default), hub ids
    resolved to timm's own repositories, registered under our name."""
    cfgs = {}
    for tagged, cfg in get_arch_pretrained_cfgs(timm_name).items():
        cfg = cfg.to_dict()
        cfg.pop("architecture", None)
        cfg.pop("tag", None)
        cfgs[prefix + tagged] = cfg
    return cfgs


default_cfgs = generate_default_cfgs({k: v for name in ARCHS for k, v in timm_pretrained_cfgs(name).items()})


def _create(variant, pretrained=False, **kwargs):
    timm_name = variant[len("va_"):]
    args = dict(ARCHS[timm_name], img_size=int(timm_name.rsplit("_", 1)[-1]))
    return build(SwinTransformer, variant, pretrained, filter_fn=checkpoint_filter_fn, **dict(args, **kwargs))


@register_model
def va_swin_tiny_patch4_window7_224(pretrained=False, **kwargs):
    return _create("va_swin_tiny_patch4_window7_224", pretrained, **kwargs)


@register_model
def va_swin_small_patch4_window7_224(pretrained=False, **kwargs):
    return _create("va_swin_small_patch4_window7_224", pretrained, **kwargs)


@register_model
def va_swin_base_patch4_window7_224(pretrained=False, **kwargs):
    return _create("va_swin_base_patch4_window7_224", pretrained, **kwargs)


@register_model
def va_swin_base_patch4_window12_384(pretrained=False, **kwargs):
    return _create("va_swin_base_patch4_window12_384", pretrained, **kwargs)


@register_model
def va_swin_large_patch4_window7_224(pretrained=False, **kwargs):
    return _create("va_swin_large_patch4_window7_224", pretrained, **kwargs)


@register_model
def va_swin_large_patch4_window12_384(pretrained=False, **kwargs):
    return _create("va_swin_large_patch4_window12_384", pretrained, **kwargs)
