"""HaloNet: blocked local self-attention with halos, on timm's ByobNet

Paper: `Scaling Local Self-Attention for Parameter Efficient Visual Backbones`
    - https://arxiv.org/abs/2103.12731

There is no official HaloNet release; timm's ``byoanet.py`` (ByobNet configs + ``timm.layers.HaloAttn``)
is the reference implementation and the source of every released weight. The networks here are timm's own
ByobNet configurations with one layer replaced: the halo self-attention is :class:`HaloAttn` below, which
runs through ``visionattn.ops.window_attention(..., halo_size=...)`` (so the reference / torch / triton
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
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import nn
from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD
from timm.layers import make_divisible, to_2tuple, trunc_normal_
from timm.models import generate_default_cfgs, register_model
from timm.models.byoanet import model_cfgs as _timm_byoa_cfgs
from timm.models.byobnet import ByoBlockCfg, ByoModelCfg, ByobNet

from visionattn import ops
from ._builder import build, check_image, conv_layout, unwrap_checkpoint

__all__ = ["HaloAttn", "HaloNet", "checkpoint_filter_fn"]

# Smallest image side: the networks' total stride. Smaller images would also run (the halo layers pad), but
# the last stage would then see less than one 32x32 patch per token.
MIN_SIZE = 32


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
        b, _, h, w = x.shape
        bs, ds, n = self.block_size, self.block_size_ds, self.num_heads
        nh, nw = -(-h // bs), -(-w // bs)                       # block grid of the (padded) key map
        # q and kv in NCHW memory before the head split: from channels-last maps (conv_layout) the whole-model
        # torch.compile graph (aot_eager, torch 2.14) gave wrong attention outputs (each block compiled alone,
        # and eager, are right); tests/test_export.py
        q = self.q(x).contiguous()                              # (B, heads * Dqk, Hq, Wq)
        kv = self.kv(x).contiguous()                            # (B, heads * (Dqk + Dv), H, W)
        hq, wq = q.shape[-2:]
        q = F.pad(q, (0, nw * ds - wq, 0, nh * ds - hq))
        kv = F.pad(kv, (0, nw * bs - w, 0, nh * bs - h))
        q = q.reshape(b, n, self.dim_head_qk, nh * ds, nw * ds).permute(0, 3, 4, 1, 2)
        kv = kv.reshape(b, n, self.dim_head_qk + self.dim_head_v, nh * bs, nw * bs).permute(0, 3, 4, 1, 2)
        k, v = kv.split([self.dim_head_qk, self.dim_head_v], dim=-1)
        bias = self.pos_embed(q)
        if self.scale_pos_embed:
            bias = bias * self.scale
        out = ops.window_attention(q, k, v, ds, halo_size=self.halo_size, bias=bias, scale=self.scale)
        out = out[:, :hq, :wq].permute(0, 3, 4, 1, 2).reshape(b, self.dim_out_v, hq, wq)
        return self.pool(out)


class HaloNet(ByobNet):
    """timm's ByobNet with input checks; a fixed ``img_size`` is enforced for configs that need it
    (bottleneck attention)."""

    def __init__(self, cfg: ByoModelCfg, img_size=None, **kwargs):
        super().__init__(cfg, img_size=img_size, **kwargs)
        needs_size = cfg.fixed_input_size or _has_layer(cfg, "bottleneck")
        self.fixed_input_size = to_2tuple(img_size) if needs_size and img_size is not None else None

    @torch.jit.ignore
    def no_weight_decay(self):
        """timm trains these networks with weight decay on every weight matrix, relative position tables
        included (its optimizer factory already skips 1-D biases and norm weights): nothing to exclude."""
        return set()

    def _check(self, x):
        name = getattr(self, "pretrained_cfg", {}).get("architecture", type(self).__name__)
        check_image(x, self.in_chans, MIN_SIZE, name)
        if self.fixed_input_size is not None and tuple(x.shape[-2:]) != self.fixed_input_size:
            fh, fw = self.fixed_input_size
            raise ValueError(f"{name} has bottleneck attention built for {fh}x{fw} inputs only, got "
                             f"{x.shape[-2]}x{x.shape[-1]}; create it with img_size=(H, W) for another size")

    def forward_features(self, x):
        self._check(x)
        return super().forward_features(conv_layout(x))

    def forward_intermediates(self, x, *args, **kwargs):
        self._check(x)
        return super().forward_intermediates(conv_layout(x), *args, **kwargs)


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
    state_dict = unwrap_checkpoint(state_dict)
    if all(k.startswith("module.") for k in state_dict):
        state_dict = {k[len("module."):]: v for k, v in state_dict.items()}
    return state_dict


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
