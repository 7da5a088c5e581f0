"""ConViT: Improving Vision Transformers with Soft Convolutional Inductive Biases (d'Ascoli et al., ICML 2021).

Paper: https://arxiv.org/abs/2103.10697 -- official code: https://github.com/facebookresearch/convit

The project's ConViT, registered as ``va_convit_tiny`` / ``va_convit_small`` / ``va_convit_base`` next to timm's
own ``convit_*`` (never replacing them). Parameter names are the official ones, which timm's are too
(``patch_embed.proj``, ``cls_token``, ``pos_embed``, ``blocks.<i>.attn.{qk,v,pos_proj,gating_param,proj}`` for
the gated positional self-attention (GPSA) blocks, ``blocks.<i>.attn.qkv`` for the plain ones, ``norm``,
``head``): the official releases (bare state dicts) and timm's hub copies load the same way.

Attention:

- MHSA (the last ``depth - local_up_to_layer`` blocks) is ``scaled_dot_product_attention``;
- GPSA mixes two attention matrices after their softmaxes, per head h with gate g_h = sigmoid(gating_param):
  ``A = (1 - g_h) softmax(q k^T * scale) + g_h softmax(pos_proj(r))``, renormalised over keys, then ``A v``.
  The renormalisation divides by 1 (a convex mix of two distributions sums to 1), and ``A v`` is linear in A,
  so ``A v = (1 - g_h) SDPA(q, k, v) + g_h softmax(pos_proj(r)) v``: the content part goes through
  ``scaled_dot_product_attention`` without ever materialising its probabilities (SDPA does not return them,
  and they are not needed). The positional probabilities do not depend on the input: one (heads, N, N)
  softmax shared by the batch. Two cases take the explicit formulation instead (probabilities built,
  mixed, renormalised, exactly as the official code): the ``reference`` attention backend (the tests'
  ground truth) and training with ``attn_drop_rate > 0`` (the official dropout acts on the mixed matrix,
  one mask for both parts, which SDPA's internal dropout cannot reproduce).
- the relative positions r = (dx, dy, dx^2 + dy^2) (key minus query, in patches) are computed for the actual
  token grid, which need not be square; the position embedding is resampled (bicubic) to that grid.

Dense prediction (``features_only=True`` / ``forward_intermediates``): ConViT is a plain ViT at stride 16.
The image is zero-padded at the bottom / right to a multiple of 16; four levels come from four evenly spaced
blocks (blocks 2, 5, 8, 11 of 12; class token dropped), reshaped to NCHW and resampled without parameters:
bilinear x4 (stride 4), bilinear x2 (stride 8), identity (stride 16), 2x2 max-pool with ceil mode
(stride 32); each level is then cropped to ceil(H / stride) x ceil(W / stride) (the crop removes only the
padding's rows / columns).
"""
import math
from typing import Any, Dict, List, Optional, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.utils.checkpoint
from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD
from timm.layers import DropPath, Mlp, resample_abs_pos_embed, trunc_normal_
from timm.models import generate_default_cfgs, register_model
# _builder.feature_take_indices imports it from timm.layers, where timm 1.0.31 does not have it
from timm.models._features import feature_take_indices

from visionattn.models._builder import build, check_image, unwrap_checkpoint
from visionattn.ops import current_backend

__all__ = ["ConVit", "checkpoint_filter_fn"]

Grid = Tuple[int, int]


def _use_reference() -> bool:
    return current_backend() == "reference"


def relative_positions(grid: Grid, device=None, dtype=torch.float32) -> torch.Tensor:
    """(N, N, 3) for an H x W token grid in row-major order: (dx, dy, dx^2 + dy^2), key minus query (the
    official ``rel_indices`` for a square grid, here for any grid)."""
    h, w = grid
    ys = torch.arange(h, device=device).repeat_interleave(w)
    xs = torch.arange(w, device=device).repeat(h)
    dx = xs[None, :] - xs[:, None]
    dy = ys[None, :] - ys[:, None]
    return torch.stack([dx, dy, dx * dx + dy * dy], dim=-1).to(dtype)


class PatchEmbed(nn.Module):
    """Non-overlapping patches by a strided convolution; images whose sides are not multiples of the patch
    size are zero-padded at the bottom / right. Returns (B, N, C) tokens and the (H, W) grid."""

    def __init__(self, img_size=224, patch_size=16, in_chans=3, embed_dim=768):
        super().__init__()
        self.img_size = (img_size, img_size) if isinstance(img_size, int) else tuple(img_size)
        self.patch_size = (patch_size, patch_size)
        self.grid_size = (self.img_size[0] // patch_size, self.img_size[1] // patch_size)
        self.num_patches = self.grid_size[0] * self.grid_size[1]
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=patch_size)

    def forward(self, x):
        h, w = x.shape[-2:]
        ph, pw = (-h) % self.patch_size[0], (-w) % self.patch_size[1]
        if ph or pw:
            x = F.pad(x, (0, pw, 0, ph))
        x = self.proj(x)
        grid = (x.shape[-2], x.shape[-1])
        return x.flatten(2).transpose(1, 2), grid


EXPLICIT_MAX_TOKENS = 1024


class GPSA(nn.Module):
    """Gated positional self-attention (see the module docstring for how it runs)."""

    def __init__(self, dim, num_heads=8, qkv_bias=False, attn_drop=0.0, proj_drop=0.0, locality_strength=1.0):
        super().__init__()
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
        """The official initialisation: v = identity, each head's positional attention peaked at one offset
        of a sqrt(heads) x sqrt(heads) neighbourhood (a soft convolution), sharpened by locality_strength."""
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

    def positional_attention(self, grid: Grid) -> torch.Tensor:
        """(heads, N, N) positional attention probabilities for the grid (input independent)."""
        w = self.pos_proj.weight
        rel = relative_positions(grid, device=w.device, dtype=w.dtype)
        return self.pos_proj(rel).permute(2, 0, 1).softmax(dim=-1)

    def forward(self, x, grid: Grid):
        b, n, c = x.shape
        h = self.num_heads
        q, k = self.qk(x).reshape(b, n, 2, h, c // h).permute(2, 0, 3, 1, 4).unbind(0)
        v = self.v(x).reshape(b, n, h, c // h).transpose(1, 2)
        pos = self.positional_attention(grid).unsqueeze(0)
        gate = torch.sigmoid(self.gating_param).view(1, h, 1, 1)
        # one mixed attention matrix: up to EXPLICIT_MAX_TOKENS this is faster on CPU than SDPA + a second
        # (N, N) product for the positional part (tools/benchmark.py --suite cpu: ConViT-Ti 36 vs 29 img/s);
        # beyond, SDPA avoids a (B, heads, N, N) content matrix per layer
        if _use_reference() or n <= EXPLICIT_MAX_TOKENS or (self.training and self.attn_drop.p > 0):
            content = ((q @ k.transpose(-2, -1)) * self.scale).softmax(dim=-1)
            attn = (1.0 - gate) * content + gate * pos
            attn = attn / attn.sum(dim=-1, keepdim=True)
            out = self.attn_drop(attn) @ v
        else:
            out = (1.0 - gate) * F.scaled_dot_product_attention(q, k, v, scale=self.scale) + gate * (pos @ v)
        out = out.transpose(1, 2).reshape(b, n, c)
        return self.proj_drop(self.proj(out))


class MHSA(nn.Module):
    def __init__(self, dim, num_heads=8, qkv_bias=False, attn_drop=0.0, proj_drop=0.0):
        super().__init__()
        self.num_heads = num_heads
        self.scale = (dim // num_heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.attn_drop = nn.Dropout(attn_drop)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)

    def forward(self, x, grid: Optional[Grid] = None):
        b, n, c = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.num_heads, c // self.num_heads).permute(2, 0, 3, 1, 4).unbind(0)
        if _use_reference():
            attn = ((q @ k.transpose(-2, -1)) * self.scale).softmax(dim=-1)
            out = self.attn_drop(attn) @ v
        else:
            p = self.attn_drop.p if self.training else 0.0
            out = F.scaled_dot_product_attention(q, k, v, dropout_p=p, scale=self.scale)
        return self.proj_drop(self.proj(out.transpose(1, 2).reshape(b, n, c)))


class Block(nn.Module):
    def __init__(self, dim, num_heads, mlp_ratio=4.0, qkv_bias=False, proj_drop=0.0, attn_drop=0.0, drop_path=0.0,
                 use_gpsa=True, locality_strength=1.0):
        super().__init__()
        self.use_gpsa = use_gpsa
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        if use_gpsa:
            self.attn = GPSA(dim, num_heads, qkv_bias, attn_drop, proj_drop, locality_strength)
        else:
            self.attn = MHSA(dim, num_heads, qkv_bias, attn_drop, proj_drop)
        self.drop_path = DropPath(drop_path) if drop_path > 0.0 else nn.Identity()
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), act_layer=nn.GELU, drop=proj_drop)

    def forward(self, x, grid: Grid):
        x = x + self.drop_path(self.attn(self.norm1(x), grid))
        return x + self.drop_path(self.mlp(self.norm2(x)))


class ConVit(nn.Module):
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
        self.use_pos_embed = use_pos_embed
        self.grad_checkpointing = False
        self.min_size = patch_size

        self.patch_embed = PatchEmbed(img_size, patch_size, in_chans, embed_dim)
        self.num_patches = self.patch_embed.num_patches
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.num_prefix_tokens = 1
        self.pos_drop = nn.Dropout(pos_drop_rate)
        if use_pos_embed:
            self.pos_embed = nn.Parameter(torch.zeros(1, self.num_patches, embed_dim))
            trunc_normal_(self.pos_embed, std=0.02)
        else:
            self.pos_embed = None
        dpr = [float(r) for r in torch.linspace(0, drop_path_rate, depth)]
        self.blocks = nn.ModuleList([
            Block(embed_dim, num_heads, mlp_ratio, qkv_bias, proj_drop_rate, attn_drop_rate, dpr[i],
                  use_gpsa=i < local_up_to_layer, locality_strength=locality_strength)
            for i in range(depth)])
        self.norm = nn.LayerNorm(embed_dim, eps=1e-6)

        # four evenly spaced blocks give the four dense levels (strides patch/4, patch/2, patch, 2 * patch)
        self.feature_blocks = [(i + 1) * depth // 4 - 1 for i in range(4)]
        self.feature_reductions = [patch_size // 4, patch_size // 2, patch_size, patch_size * 2]
        self.feature_info = [dict(num_chs=embed_dim, reduction=r, module=f"blocks.{b}")
                             for b, r in zip(self.feature_blocks, self.feature_reductions)]

        self.head_drop = nn.Dropout(drop_rate)
        self.head = nn.Linear(embed_dim, num_classes) if num_classes > 0 else nn.Identity()

        trunc_normal_(self.cls_token, std=0.02)
        self.apply(self._init_weights)
        for m in self.modules():
            if isinstance(m, GPSA):
                m.local_init()

    @staticmethod
    def _init_weights(m):
        if isinstance(m, nn.Linear):
            trunc_normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.LayerNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)

    # -- timm contract -----------------------------------------------------------------------------------
    @torch.jit.ignore
    def no_weight_decay(self):
        return {"pos_embed", "cls_token"}

    @torch.jit.ignore
    def group_matcher(self, coarse=False):
        return dict(stem=r"^cls_token|pos_embed|patch_embed",
                    blocks=[(r"^blocks\.(\d+)", None), (r"^norm", (99999,))])

    @torch.jit.ignore
    def set_grad_checkpointing(self, enable=True):
        self.grad_checkpointing = enable

    @torch.jit.ignore
    def get_classifier(self):
        return self.head

    def reset_classifier(self, num_classes: int, global_pool: Optional[str] = None):
        self.num_classes = num_classes
        if global_pool is not None:
            if global_pool not in ("", "avg", "token"):
                raise ValueError(f"global_pool must be '', 'avg' or 'token', got {global_pool!r}")
            if global_pool == "token" and self.cls_token is None:
                raise ValueError("token pooling needs the class token, which pruning removed")
            self.global_pool = global_pool
        p = self.patch_embed.proj.weight
        self.head = nn.Linear(self.embed_dim, num_classes, device=p.device, dtype=p.dtype) \
            if num_classes > 0 else nn.Identity()
        self.head.train(self.training)

    # -- forward -----------------------------------------------------------------------------------------
    def _embed(self, x):
        x, grid = self.patch_embed(x)
        if self.pos_embed is not None:
            pos = self.pos_embed
            if grid != self.patch_embed.grid_size:
                pos = resample_abs_pos_embed(pos, new_size=list(grid), old_size=list(self.patch_embed.grid_size),
                                             num_prefix_tokens=0)
            x = x + pos
        return self.pos_drop(x), grid

    def _run_block(self, blk, x, grid):
        if self.grad_checkpointing and not torch.jit.is_scripting():
            return torch.utils.checkpoint.checkpoint(blk, x, grid, use_reentrant=False)
        return blk(x, grid)

    def _level(self, y, level, grid, image_hw):
        """Tokens (B, N, C) of one feature block -> the NCHW map of feature level ``level``."""
        b, _, c = y.shape
        y = y.transpose(1, 2).reshape(b, c, grid[0], grid[1])
        if level == 0:
            y = F.interpolate(y, scale_factor=4.0, mode="bilinear", align_corners=False)
        elif level == 1:
            y = F.interpolate(y, scale_factor=2.0, mode="bilinear", align_corners=False)
        elif level == 3:
            y = F.max_pool2d(y, kernel_size=2, stride=2, ceil_mode=True)
        r = self.feature_reductions[level]
        return y[:, :, :math.ceil(image_hw[0] / r), :math.ceil(image_hw[1] / r)].contiguous()

    def forward_intermediates(
            self,
            x: torch.Tensor,
            indices: Optional[Union[int, List[int]]] = None,
            norm: bool = False,
            stop_early: bool = False,
            output_fmt: str = "NCHW",
            intermediates_only: bool = False,
    ) -> Union[List[torch.Tensor], Tuple[torch.Tensor, List[torch.Tensor]]]:
        """The four dense levels (strides 4, 8, 16, 32 for 16-pixel patches), NCHW, at any input size.

        Args:
            x: images (B, C, H, W), H, W >= the patch size.
            indices: feature levels (0-3): the last n if int, all if None, the listed ones if a sequence.
            norm: apply the final norm to the tokens of each feature block first.
            stop_early: stop after the last feature block needed.
            output_fmt: 'NCHW' only.
            intermediates_only: return only the list of levels.
        Returns:
            (final tokens after the norm, levels), or the levels alone.
        """
        if output_fmt != "NCHW":
            raise ValueError(f"ConViT's feature levels are NCHW maps at several strides; got output_fmt={output_fmt!r}")
        check_image(x, self.in_chans, self.min_size, type(self).__name__)
        take_indices, max_index = feature_take_indices(len(self.feature_blocks), indices)
        take_blocks = {self.feature_blocks[i]: i for i in take_indices}
        image_hw = x.shape[-2:]
        b = x.shape[0]
        x, grid = self._embed(x)
        last = self.feature_blocks[max_index] if stop_early and not torch.jit.is_scripting() else len(self.blocks) - 1
        levels = {}
        for i, blk in enumerate(self.blocks):
            if i > last:
                break
            if i == self.local_up_to_layer and self.cls_token is not None:
                x = torch.cat((self.cls_token.expand(b, -1, -1), x), dim=1)
            x = self._run_block(blk, x, grid)
            if i in take_blocks:
                y = self.norm(x) if norm else x
                if i >= self.local_up_to_layer and self.cls_token is not None:
                    y = y[:, 1:]
                levels[take_blocks[i]] = self._level(y, take_blocks[i], grid, image_hw)
        intermediates = [levels[i] for i in take_indices]
        if intermediates_only:
            return intermediates
        return self.norm(x), intermediates

    def prune_intermediate_layers(self, indices: Union[int, List[int]] = 1, prune_norm: bool = False,
                                  prune_head: bool = True):
        take_indices, max_index = feature_take_indices(len(self.feature_blocks), indices)
        self.blocks = self.blocks[:self.feature_blocks[max_index] + 1]
        if self.feature_blocks[max_index] < self.local_up_to_layer:
            # the class token joins after the kept blocks: unused, and a token-pooled head goes with it
            self.cls_token = None
            self.num_prefix_tokens = 0
            prune_head = prune_head or self.global_pool == "token"
        if prune_norm:
            self.norm = nn.Identity()
        if prune_head:
            self.reset_classifier(0, "")
        return take_indices

    def forward_features(self, x):
        check_image(x, self.in_chans, self.min_size, type(self).__name__)
        b = x.shape[0]
        x, grid = self._embed(x)
        for i, blk in enumerate(self.blocks):
            if i == self.local_up_to_layer and self.cls_token is not None:
                x = torch.cat((self.cls_token.expand(b, -1, -1), x), dim=1)
            x = self._run_block(blk, x, grid)
        return self.norm(x)

    def forward_head(self, x, pre_logits: bool = False):
        if self.global_pool == "avg":
            x = x[:, self.num_prefix_tokens:].mean(dim=1)
        elif self.global_pool == "token":
            x = x[:, 0]
        x = self.head_drop(x)
        return x if pre_logits else self.head(x)

    def forward(self, x):
        return self.forward_head(self.forward_features(x))


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
        if k.startswith("module."):
            k = k[7:]
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
