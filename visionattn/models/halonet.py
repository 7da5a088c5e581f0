"""HaloNet: blocked local self-attention with halos, on timm's ByobNet

Paper: `Scaling Local Self-Attention for Parameter Efficient Visual Backbones`
    - https://arxiv.org/abs/2103.12731

There is no official HaloNet release; timm's ``byoanet.py`` (ByobNet configs + ``timm.layers.HaloAttn``)
is the reference implementation and the source of every released weight. The networks here are timm's own
ByobNet configurations with one layer replaced: the halo self-attention is ``visionattn.layers.HaloAttn``,
which runs through ``visionattn.ops.window_attention(..., halo_size=...)`` (so the reference / torch / triton
backends all run it) and keeps timm's parameter names (``q``, ``kv``, ``pos_embed.height_rel``,
``pos_embed.width_rel``), so timm's checkpoints load unchanged.

Registered as ``va_<timm name>`` (``va_halonet26t``, ...); timm's own names are never touched.

Differences from timm, none of which changes the result where timm runs:
  * any input size: where timm's HaloAttn asserts that the map is a multiple of the block size, the
    projected queries / keys / values are zero-padded at the bottom / right to the block grid (the padded
    keys are zeros, exactly like timm's own halo padding at the borders) and the output is cropped back;
  * clear errors for images with the wrong channel count, too small, or not (B, C, H, W);
  * ``features_only=True`` goes through ``forward_intermediates`` (timm's five ByobNet levels, strides
    2, 4, 8, 16, 32).

The mixed networks ``va_lamhalobotnet50ts_256`` / ``va_halo2botnet50ts_256`` keep timm's fixed input size:
their bottleneck-attention stage (timm's ``BottleneckAttn``, an absolute-size relative position table)
only runs at the ``img_size`` they were built for.
"""
from dataclasses import replace

import torch
from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD
from timm.layers import to_2tuple
from timm.models import generate_default_cfgs, register_model
from timm.models.byoanet import model_cfgs as _timm_byoa_cfgs
from timm.models._manipulate import checkpoint_seq
from timm.models.byobnet import ByoModelCfg, ByobNet

from visionattn.checkpoint import unwrap_checkpoint
from visionattn.layers import HaloAttn

from ._base import build, check_image, check_output_fmt, conv_layout, feature_take_indices, to_format

__all__ = ["HaloNet", "checkpoint_filter_fn"]

# Smallest image side: the networks' total stride. Smaller images would also run (the halo layers pad), but
# the last stage would then see less than one 32x32 patch per token.
MIN_SIZE = 32
# size-dependent helpers are single nodes when torch.fx traces the model (timm's leaf functions)
torch.fx.wrap("check_image")
torch.fx.wrap("conv_layout")
torch.fx.wrap("_check_fixed_size")


class HaloNet(ByobNet):
    """timm's ByobNet with input checks; a fixed ``img_size`` is enforced for configs that need it
    (bottleneck attention)."""

    def __init__(self, cfg: ByoModelCfg, img_size=None, **kwargs):
        super().__init__(cfg, img_size=img_size, **kwargs)
        self.min_size = MIN_SIZE
        needs_size = cfg.fixed_input_size or _has_layer(cfg, "bottleneck")
        self.fixed_input_size = to_2tuple(img_size) if needs_size and img_size is not None else None

    @torch.jit.ignore
    def no_weight_decay(self):
        """timm trains these networks with weight decay on every weight matrix, relative position tables
        included (its optimizer factory already skips 1-D biases and norm weights): nothing to exclude."""
        return set()

    @torch.jit.unused
    def _check(self, x):
        name = getattr(self, "pretrained_cfg", {}).get("architecture", type(self).__name__)
        x = check_image(x, self.in_chans, MIN_SIZE, name, next(self.parameters()).dtype)
        if self.fixed_input_size is not None:
            _check_fixed_size(x, self.fixed_input_size, name)
        return x

    def forward_features(self, x):
        if not torch.jit.is_scripting():
            x = self._check(x)
        x = self.stem(conv_layout(x))   # then ByobNet's forward_features (TorchScript has no super() calls)
        if self.grad_checkpointing and not torch.jit.is_scripting():
            x = checkpoint_seq(self.stages, x)
        else:
            x = self.stages(x)
        return self.final_conv(x)

    @torch.jit.ignore
    def forward_intermediates(self, x, indices=None, norm=False, stop_early=False, output_fmt="NCHW",
                              intermediates_only=False):
        """timm's ByobNet levels, NCHW or NHWC (like every family here)."""
        check_output_fmt(output_fmt)
        feature_take_indices(len(self.stage_ends), indices)   # indices out of range: a ValueError naming them
        x = self._check(x)
        out = super().forward_intermediates(conv_layout(x), indices, norm, stop_early, "NCHW", intermediates_only)
        if output_fmt == "NCHW":
            return out
        if intermediates_only:
            return [to_format(y, "NCHW", output_fmt) for y in out]
        return out[0], [to_format(y, "NCHW", output_fmt) for y in out[1]]

    @torch.jit.ignore
    def prune_intermediate_layers(self, indices=1, prune_norm=False, prune_head=True):
        feature_take_indices(len(self.stage_ends), indices)   # indices out of range: a ValueError naming them
        return super().prune_intermediate_layers(indices, prune_norm, prune_head)


def _check_fixed_size(x, size, name):
    if x.shape[-2] != size[0] or x.shape[-1] != size[1]:
        raise ValueError(f"{name} has bottleneck attention built for {size[0]}x{size[1]} inputs only, got "
                         f"{x.shape[-2]}x{x.shape[-1]}; create it with img_size=(H, W) for another size")


def _has_layer(cfg: ByoModelCfg, layer: str) -> bool:
    def walk(blocks):
        for blk in blocks:
            if isinstance(blk, (tuple, list)):
                yield from walk(blk)
            else:
                yield blk
    return cfg.self_attn_layer == layer or any(b.self_attn_layer == layer for b in walk(cfg.blocks))


def _use_va_halo(cfg: ByoModelCfg) -> ByoModelCfg:
    """timm's config with every 'halo' self-attention layer (model-level or block-level) replaced by ours."""
    def swap(blk):
        if isinstance(blk, (tuple, list)):
            return type(blk)(swap(b) for b in blk)
        return replace(blk, self_attn_layer=HaloAttn) if blk.self_attn_layer == "halo" else blk
    layer = HaloAttn if cfg.self_attn_layer == "halo" else cfg.self_attn_layer
    return replace(cfg, blocks=swap(cfg.blocks), self_attn_layer=layer)


model_cfgs = {name: _use_va_halo(_timm_byoa_cfgs[name]) for name in (
    "halonet_h1", "halonet26t", "sehalonet33ts", "halonet50ts", "eca_halonext26ts", "haloregnetz_b",
    "lamhalobotnet50ts", "halo2botnet50ts")}


def checkpoint_filter_fn(state_dict, model):
    """timm's checkpoints for the same names load as they are (bare, or in a {'model' / 'state_dict' /
    ...} container, or saved from DataParallel)."""
    return unwrap_checkpoint(state_dict)


def _create(variant, cfg_variant=None, pretrained=False, **kwargs):
    return build(HaloNet, variant, pretrained, filter_fn=checkpoint_filter_fn,
                 feature_cfg=dict(out_indices=(0, 1, 2, 3, 4)),
                 model_cfg=model_cfgs[cfg_variant or variant[len("va_"):]], **kwargs)


def _cfg(url="", **kwargs):
    return {
        "url": url, "num_classes": 1000, "input_size": (3, 224, 224), "pool_size": (7, 7),
        "crop_pct": 0.95, "interpolation": "bicubic", "mean": IMAGENET_DEFAULT_MEAN, "std": IMAGENET_DEFAULT_STD,
        "first_conv": "stem.conv1.conv", "classifier": "head.fc", "fixed_input_size": False,
        "min_input_size": (3, MIN_SIZE, MIN_SIZE), "license": "apache-2.0", **kwargs,
    }


_RELEASES = "https://github.com/rwightman/pytorch-image-models/releases/download/v0.1-attn-weights/"

# The same weights as timm's cfg for each name (timm's GitHub release file and its Hugging Face hub copy).
default_cfgs = generate_default_cfgs({
    "va_halonet_h1.untrained": _cfg(input_size=(3, 256, 256), pool_size=(8, 8)),
    "va_halonet26t.a1h_in1k": _cfg(
        url=_RELEASES + "halonet26t_a1h_256-3083328c.pth", hf_hub_id="timm/halonet26t.a1h_in1k",
        input_size=(3, 256, 256), pool_size=(8, 8)),
    "va_sehalonet33ts.ra2_in1k": _cfg(
        url=_RELEASES + "sehalonet33ts_256-87e053f9.pth", hf_hub_id="timm/sehalonet33ts.ra2_in1k",
        input_size=(3, 256, 256), pool_size=(8, 8), crop_pct=0.94),
    "va_halonet50ts.a1h_in1k": _cfg(
        url=_RELEASES + "halonet50ts_a1h2_256-f3a3daee.pth", hf_hub_id="timm/halonet50ts.a1h_in1k",
        input_size=(3, 256, 256), pool_size=(8, 8), crop_pct=0.94),
    "va_eca_halonext26ts.c1_in1k": _cfg(
        url=_RELEASES + "eca_halonext26ts_c_256-06906299.pth", hf_hub_id="timm/eca_halonext26ts.c1_in1k",
        input_size=(3, 256, 256), pool_size=(8, 8), crop_pct=0.94),
    "va_haloregnetz_b.ra3_in1k": _cfg(
        url=_RELEASES + "haloregnetz_c_raa_256-c8ad7616.pth", hf_hub_id="timm/haloregnetz_b.ra3_in1k",
        mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5), first_conv="stem.conv",
        input_size=(3, 224, 224), pool_size=(7, 7), crop_pct=0.94),
    "va_lamhalobotnet50ts_256.a1h_in1k": _cfg(
        url=_RELEASES + "lamhalobotnet50ts_a1h2_256-fe3d9445.pth", hf_hub_id="timm/lamhalobotnet50ts_256.a1h_in1k",
        fixed_input_size=True, input_size=(3, 256, 256), pool_size=(8, 8), min_input_size=(3, 256, 256)),
    "va_halo2botnet50ts_256.a1h_in1k": _cfg(
        url=_RELEASES + "halo2botnet50ts_a1h2_256-fd9c11a3.pth", hf_hub_id="timm/halo2botnet50ts_256.a1h_in1k",
        fixed_input_size=True, input_size=(3, 256, 256), pool_size=(8, 8), min_input_size=(3, 256, 256)),
})


@register_model
def va_halonet_h1(pretrained=False, **kwargs) -> HaloNet:
    """HaloNet-H1: halo attention in every stage, as in the paper (no released weights; slow)."""
    return _create("va_halonet_h1", pretrained=pretrained, **kwargs)


@register_model
def va_halonet26t(pretrained=False, **kwargs) -> HaloNet:
    """HaloNet on a ResNet26-t backbone: halo attention in the last two stages."""
    return _create("va_halonet26t", pretrained=pretrained, **kwargs)


@register_model
def va_sehalonet33ts(pretrained=False, **kwargs) -> HaloNet:
    """HaloNet on a ResNet33-t backbone, SE in the non-halo blocks, SiLU; 1-2 halo blocks in stages 2-4."""
    return _create("va_sehalonet33ts", pretrained=pretrained, **kwargs)


@register_model
def va_halonet50ts(pretrained=False, **kwargs) -> HaloNet:
    """HaloNet on a ResNet50-t backbone, SiLU: halo attention in the last two stages."""
    return _create("va_halonet50ts", pretrained=pretrained, **kwargs)


@register_model
def va_eca_halonext26ts(pretrained=False, **kwargs) -> HaloNet:
    """HaloNet on a ResNeXt26-t backbone with ECA, SiLU: halo attention in the last two stages."""
    return _create("va_eca_halonext26ts", pretrained=pretrained, **kwargs)


@register_model
def va_haloregnetz_b(pretrained=False, **kwargs) -> HaloNet:
    """Halo attention on a RegNetZ-B backbone (block 7, halo 2)."""
    return _create("va_haloregnetz_b", pretrained=pretrained, **kwargs)


@register_model
def va_lamhalobotnet50ts_256(pretrained=False, **kwargs) -> HaloNet:
    """Lambda (stage 2) + halo (stage 3) + bottleneck attention (stage 4, fixed 256x256 input)."""
    return _create("va_lamhalobotnet50ts_256", "lamhalobotnet50ts", pretrained=pretrained, **kwargs)


@register_model
def va_halo2botnet50ts_256(pretrained=False, **kwargs) -> HaloNet:
    """Halo (stages 2 and 3) + bottleneck attention (stage 4, fixed 256x256 input)."""
    return _create("va_halo2botnet50ts_256", "halo2botnet50ts", pretrained=pretrained, **kwargs)
