"""ConViT: Improving Vision Transformers with Soft Convolutional Inductive Biases (d'Ascoli et al., ICML 2021).

Paper: https://arxiv.org/abs/2103.10697 -- official code: https://github.com/facebookresearch/convit

The project's ConViT, registered as ``va_convit_tiny`` / ``va_convit_small`` / ``va_convit_base`` next to timm's
own ``convit_*`` (never replacing them). Parameter names are the official ones, which timm's are too
(``patch_embed.proj``, ``cls_token``, ``pos_embed``, ``blocks.<i>.attn.{qk,v,pos_proj,gating_param,proj}`` for
the gated positional self-attention (GPSA) blocks, ``blocks.<i>.attn.qkv`` for the plain ones, ``norm``,
``head``): the official releases (bare state dicts) and timm's hub copies load the same way.

Attention: the first ``local_up_to_layer`` blocks are gated positional self-attention
(``visionattn.layers.GPSA``: content and positional attention mixed per head by a learned gate, the relative
positions computed for the actual token grid, which need not be square), the others plain multi-head
attention (``visionattn.layers.Attention``); both through ``visionattn.ops.attention``. The position embedding
is resampled (bicubic) to the token grid.

Dense prediction (``features_only=True`` / ``forward_intermediates``): ConViT is a plain ViT at stride 16.
The image is zero-padded at the bottom / right to a multiple of 16; four levels come from four evenly spaced
blocks (blocks 2, 5, 8, 11 of 12; class token dropped), reshaped to NCHW and resampled without parameters:
bilinear x4 (stride 4), bilinear x2 (stride 8), identity (stride 16), 2x2 max-pool with ceil mode
(stride 32); each level is then cropped to ceil(H / stride) x ceil(W / stride) (the crop removes only the
padding's rows / columns).
"""
import math
from typing import Any, Dict, Tuple, Union

import torch
import torch.nn as nn
from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD
from timm.layers import (DropPath, Mlp, PatchEmbed, calculate_drop_path_rates, resample_abs_pos_embed,
                         trunc_normal_)
from timm.models import generate_default_cfgs, register_model

from visionattn.checkpoint import unwrap_checkpoint
from visionattn.layers import GPSA, Attention
from visionattn.layers.helpers import ceil_div, resample_pos_embed, vit_level_reductions

from ._base import VitLevelsMixin, build, init_linear, run_checkpointed

__all__ = ["ConVit", "checkpoint_filter_fn"]
# size-dependent helpers are single nodes when torch.fx traces the model (timm's leaf functions)
torch.fx.wrap("resample_pos_embed")


class Block(nn.Module):
    use_gpsa: torch.jit.Final[bool]

    def __init__(self, dim, num_heads, mlp_ratio=4.0, qkv_bias=False, proj_drop=0.0, attn_drop=0.0, drop_path=0.0,
                 use_gpsa=True, locality_strength=1.0):
        super().__init__()
        self.use_gpsa = use_gpsa
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        if use_gpsa:
            self.attn = GPSA(dim, num_heads, qkv_bias, attn_drop, proj_drop, locality_strength)
        else:
            self.attn = Attention(dim, num_heads, qkv_bias, attn_drop, proj_drop)
        self.drop_path = DropPath(drop_path) if drop_path > 0.0 else nn.Identity()
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), act_layer=nn.GELU, drop=proj_drop)

    def forward(self, x, grid: Tuple[int, int]):
        y = self.norm1(x)
        x = x + self.drop_path(self.attn(y, grid) if self.use_gpsa else self.attn(y))
        return x + self.drop_path(self.mlp(self.norm2(x)))


class ConVit(VitLevelsMixin, nn.Module):
    """ConViT: GPSA blocks up to ``local_up_to_layer``, then the class token joins and plain MHSA blocks follow.
    ``embed_dim`` is per head, as in the official code and timm (width = embed_dim * num_heads)."""

    def __init__(
            self,
            img_size: Union[int, Tuple[int, int]] = 224,
            patch_size: int = 16,
            in_chans: int = 3,
            num_classes: int = 1000,
            global_pool: str = "token",
            embed_dim: int = 48,
            depth: int = 12,
            num_heads: int = 12,
            mlp_ratio: float = 4.0,
            qkv_bias: bool = False,
            drop_rate: float = 0.0,
            pos_drop_rate: float = 0.0,
            proj_drop_rate: float = 0.0,
            attn_drop_rate: float = 0.0,
            drop_path_rate: float = 0.0,
            local_up_to_layer: int = 10,
            locality_strength: float = 1.0,
            use_pos_embed: bool = True,
    ):
        super().__init__()
        if global_pool not in ("", "avg", "token"):
            raise ValueError(f"global_pool must be '', 'avg' or 'token', got {global_pool!r}")
        if depth < 4:
            raise ValueError(f"ConViT needs at least 4 blocks for its 4 feature levels, got depth={depth}")
        embed_dim *= num_heads
        self.num_classes = num_classes
        self.in_chans = in_chans
        self.global_pool = global_pool
        self.local_up_to_layer = local_up_to_layer
        self.num_features = self.head_hidden_size = self.embed_dim = embed_dim
        self.grad_checkpointing = False
        self.min_size = self.patch_size = patch_size

        self.patch_embed = PatchEmbed(img_size, patch_size, in_chans, embed_dim, strict_img_size=False,
                                      dynamic_img_pad=True)
        self.num_patches = self.patch_embed.num_patches
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.num_prefix_tokens = 1
        self.pos_drop = nn.Dropout(pos_drop_rate)
        if use_pos_embed:
            self.pos_embed = nn.Parameter(torch.zeros(1, self.num_patches, embed_dim))
            trunc_normal_(self.pos_embed, std=0.02)
        else:
            self.pos_embed = None
        dpr = calculate_drop_path_rates(drop_path_rate, depth)
        self.blocks = nn.ModuleList([
            Block(embed_dim, num_heads, mlp_ratio, qkv_bias, proj_drop_rate, attn_drop_rate, dpr[i],
                  use_gpsa=i < local_up_to_layer, locality_strength=locality_strength)
            for i in range(depth)])
        self.norm = nn.LayerNorm(embed_dim, eps=1e-6)

        # four evenly spaced blocks give the four dense levels (strides patch/4, patch/2, patch, 2 * patch)
        self.feature_blocks = [(i + 1) * depth // 4 - 1 for i in range(4)]
        self.feature_info = [dict(num_chs=embed_dim, reduction=r, module=f"blocks.{b}")
                             for b, r in zip(self.feature_blocks, vit_level_reductions(patch_size))]

        self.head_drop = nn.Dropout(drop_rate)
        self.head = nn.Linear(embed_dim, num_classes) if num_classes > 0 else nn.Identity()

        trunc_normal_(self.cls_token, std=0.02)
        self.apply(init_linear)
        for m in self.modules():
            if isinstance(m, GPSA):
                m.local_init()

    @torch.jit.ignore
    def no_weight_decay(self):
        return {"pos_embed", "cls_token"}

    @torch.jit.ignore
    def group_matcher(self, coarse=False):
        return dict(stem=r"^cls_token|pos_embed|patch_embed",
                    blocks=[(r"^blocks\.(\d+)", None), (r"^norm", (99999,))])

    # VitLevelsMixin hooks
    def embed(self, x: torch.Tensor) -> Tuple[torch.Tensor, Tuple[int, int]]:
        """Patch tokens (the image zero-padded at the bottom / right to whole patches) + the position embedding
        resampled to the token grid; returns the tokens and the grid. The class token joins later."""
        grid = (ceil_div(x.shape[-2], self.patch_size), ceil_div(x.shape[-1], self.patch_size))
        x = self.patch_embed(x)
        if self.pos_embed is not None:
            x = x + resample_pos_embed(self.pos_embed, grid, self.patch_embed.grid_size)
        return self.pos_drop(x), grid

    def run_block(self, i, x, grid):
        if i == self.local_up_to_layer and self.cls_token is not None:
            x = torch.cat((self.cls_token.expand(x.shape[0], -1, -1), x), dim=1)
        return run_checkpointed(self.blocks[i], self.grad_checkpointing, x, grid)

    def patch_tokens(self, i, x):
        return x[:, 1:] if i >= self.local_up_to_layer and self.cls_token is not None else x

    @torch.jit.ignore
    def prune_intermediate_layers(self, indices=1, prune_norm=False, prune_head=True):
        kept = super().prune_intermediate_layers(indices, prune_norm, prune_head)
        if len(self.blocks) <= self.local_up_to_layer:
            # the class token joins after the kept blocks: unused, and a token-pooled head goes with it
            self.cls_token = None
            self.num_prefix_tokens = 0
            if self.global_pool == "token":
                self.reset_classifier(0, "")
        return kept

    def forward_features(self, x):
        if not torch.jit.is_scripting():
            x = self.check_input(x)
        x, grid = self.embed(x)
        for i, blk in enumerate(self.blocks):
            if i == self.local_up_to_layer and self.cls_token is not None:
                x = torch.cat((self.cls_token.expand(x.shape[0], -1, -1), x), dim=1)
            if self.grad_checkpointing and not torch.jit.is_scripting():
                x = torch.utils.checkpoint.checkpoint(blk, x, grid, use_reentrant=False)
            else:
                x = blk(x, grid)
        return self.norm(x)


# ----------------------------------------------------------------------------------------------------------
# checkpoints

def checkpoint_filter_fn(state_dict: Dict[str, Any], model: ConVit) -> Dict[str, torch.Tensor]:
    """The official releases (bare state dicts) and timm's copies share the parameter names of this model.
    Accepts ``{"model": ...}`` containers and ``module.`` prefixes too, drops the relative-position buffers
    the model recomputes (``rel_indices``) and resamples the position embedding (bicubic) when the model's
    configured grid differs from the checkpoint's."""
    state_dict = unwrap_checkpoint(state_dict)
    out = {}
    for k, v in state_dict.items():
        if k.endswith("rel_indices"):
            continue
        if k == "pos_embed" and getattr(model, "pos_embed", None) is not None and v.shape != model.pos_embed.shape:
            old = int(math.isqrt(v.shape[1]))
            if old * old != v.shape[1]:
                raise ValueError(f"pos_embed of the checkpoint has {v.shape[1]} positions, not a square grid")
            v = resample_abs_pos_embed(v, new_size=list(model.patch_embed.grid_size), old_size=[old, old],
                                       num_prefix_tokens=0)
        out[k] = v
    return out


def _cfg(url="", **kwargs):
    return {
        "url": url, "num_classes": 1000, "input_size": (3, 224, 224), "pool_size": None,
        "crop_pct": 0.875, "interpolation": "bicubic", "mean": IMAGENET_DEFAULT_MEAN, "std": IMAGENET_DEFAULT_STD,
        "first_conv": "patch_embed.proj", "classifier": "head", "license": "apache-2.0",
        "paper_ids": "arXiv:2103.10697",
        "paper_name": "ConViT: Improving Vision Transformers with Soft Convolutional Inductive Biases",
        "origin_url": "https://github.com/facebookresearch/convit",
        **kwargs,
    }


_RELEASE = "https://dl.fbaipublicfiles.com/convit/"

# the first tag of each entry is timm's hub copy; the second the official release (bare state dict); the
# same weights, the same parameter names
default_cfgs = generate_default_cfgs({
    "va_convit_tiny.fb_in1k": _cfg(hf_hub_id="timm/convit_tiny.fb_in1k"),
    "va_convit_tiny.fb_orig_in1k": _cfg(url=_RELEASE + "convit_tiny.pth"),
    "va_convit_small.fb_in1k": _cfg(hf_hub_id="timm/convit_small.fb_in1k"),
    "va_convit_small.fb_orig_in1k": _cfg(url=_RELEASE + "convit_small.pth"),
    "va_convit_base.fb_in1k": _cfg(hf_hub_id="timm/convit_base.fb_in1k"),
    "va_convit_base.fb_orig_in1k": _cfg(url=_RELEASE + "convit_base.pth"),
})


def _create(variant, pretrained=False, **kwargs):
    return build(ConVit, variant, pretrained, filter_fn=checkpoint_filter_fn, **kwargs)


@register_model
def va_convit_tiny(pretrained=False, **kwargs) -> ConVit:
    args = dict(local_up_to_layer=10, locality_strength=1.0, embed_dim=48, num_heads=4)
    return _create("va_convit_tiny", pretrained, **dict(args, **kwargs))


@register_model
def va_convit_small(pretrained=False, **kwargs) -> ConVit:
    args = dict(local_up_to_layer=10, locality_strength=1.0, embed_dim=48, num_heads=9)
    return _create("va_convit_small", pretrained, **dict(args, **kwargs))


@register_model
def va_convit_base(pretrained=False, **kwargs) -> ConVit:
    args = dict(local_up_to_layer=10, locality_strength=1.0, embed_dim=48, num_heads=16)
    return _create("va_convit_base", pretrained, **dict(args, **kwargs))
