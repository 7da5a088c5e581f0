"""Agent Attention backbones: Agent-Swin, Agent-PVT and Agent-DeiT (``agent_swin_*``, ``agent_pvt_*``,
``agent_deit_*``); Agent-CSwin is ``agent_cswin.py``, which shares this file's block, cfgs and checkpoint helpers.

Agent Attention: On the Integration of Softmax and Linear Attention, Han et al., ECCV 2024
(https://arxiv.org/abs/2312.08874); official code and weights: https://github.com/LeapLabTHU/Agent-Attention.

Agent attention, as in the official modules (parameter names kept, so the official checkpoints load as saved):

- agent tokens are the queries average-pooled to a p x p grid (p * p = ``agent_num``);
- agent step: the agents attend to the keys / values, softmax(scale * A K^T + B_ak) V, with the bias B_ak =
  ``an_bias`` (a 7 x 7 table per agent, resampled bilinearly to the key map) + ``ah_bias`` + ``aw_bias`` (one row
  and one column table per agent);
- broadcast step: the queries attend to the agents, softmax(scale * Q A^T + B_qa) (agent values), with B_qa =
  ``na_bias`` (7 x 7, resampled to the query map) + ``ha_bias`` + ``wa_bias``; Agent-DeiT adds ``ac_bias`` /
  ``ca_bias`` for its class token (as key of the agent step, as query of the broadcast step);
- a 3 x 3 depthwise convolution of the values (``dwc``) is added to the output before ``proj``.

The attention modules are ``visionattn.layers``' ``SwinAgentAttention``, ``PvtAgentAttention`` and
``DeitAgentAttention`` (both steps dense attention through ``visionattn.ops.attention``, the official scale
head_dim ** -0.5); Agent-Swin's window blocks ("B", and the B part of "M<n>" stages) are Swin's W-MSA / SW-MSA
(``visionattn.layers.WindowAttention``).

Any input size (dense prediction), following the official detection backbones (``downstream/detection/mmdet/
models/backbones/agent_{swin,pvt}.py``):

- agent blocks attend over the whole map; the agent biases are resampled bilinearly from their trained size to
  the actual map size (an identity at the trained size, so classification at the default size is the official
  function exactly). ``agent_shapes`` optionally changes the agent grid per stage as the official detection
  configs do (``downstream_agent_shapes``): the biases are then also resampled over the agent grid;
- Agent-Swin pads the image to a multiple of the patch size, its window blocks pad the map to a multiple of the
  window (window max(7, window_size // 8), as in the official code), and shift the odd blocks by half a window
  along every axis longer than the window (a map no longer than the window is one unshifted window, as the
  official classification code does);
- Agent-PVT floors the map sizes (strided convolutions without padding) and resamples its position embeddings
  bilinearly to the map, as the official detection backbone;
- Agent-DeiT (a plain ViT with one stride-16 map) pads the image to a multiple of 16, resamples its position
  embedding to the grid (``timm.layers.resample_abs_pos_embed``) and gives four levels taken from four evenly
  spaced blocks, resampled without parameters to strides 4, 8, 16, 32 (bilinear x4, x2, identity, 2 x 2 max-pool).
"""
import math
import re
from functools import partial

import torch
import torch.nn.functional as F
from torch import nn
from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD
from timm.layers import (ClassifierHead, DropPath, Mlp, PatchEmbed, calculate_drop_path_rates,
                         resample_abs_pos_embed, to_2tuple, trunc_normal_)
from timm.models import generate_default_cfgs, register_model
from timm.models.swin_transformer import PatchMerging

from visionattn.checkpoint import unwrap_checkpoint
from visionattn.layers import (Attention, DeitAgentAttention, PvtAgentAttention, SpatialReductionAttention,
                               SwinAgentAttention, WindowAttention)
from visionattn.layers.helpers import ceil_div, resample_pos_embed, resize_bilinear

from ._base import PyramidMixin, VitLevelsMixin, build, classifier_to_head_fc, init_linear, run_checkpointed

__all__ = ["AgentSwinTransformer", "AgentPyramidVisionTransformer", "AgentDeiT", "checkpoint_filter_fn"]

_AGENT_BIAS_KEYS = ("ah_bias", "aw_bias", "ha_bias", "wa_bias")
# size-dependent helpers are single nodes when torch.fx traces the model (timm's leaf functions)
torch.fx.wrap("resample_pos_embed")


class _Block(nn.Module):
    """Pre-norm attention and MLP residuals, one drop path for both (the official blocks)."""

    def __init__(self, dim, attn, mlp_ratio=4.0, drop=0.0, drop_path=0.0, norm_layer=nn.LayerNorm):
        super().__init__()
        self.norm1 = norm_layer(dim)
        self.attn = attn
        self.drop_path = DropPath(drop_path) if drop_path > 0.0 else nn.Identity()
        self.norm2 = norm_layer(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), drop=drop)

    def forward(self, x, *attn_args):
        x = x + self.drop_path(self.attn(self.norm1(x), *attn_args))
        return x + self.drop_path(self.mlp(self.norm2(x)))


# ----------------------------------------------------------------------------------------------------------
# Agent-Swin

def _swin_attention(attn_type, dim, num_heads, bias_grid, window_size, shifted, agent_num, agent_shape, qkv_bias,
                    drop, attn_drop):
    if attn_type == "A":
        return SwinAgentAttention(dim, num_heads, bias_grid, agent_num, agent_shape, qkv_bias=qkv_bias,
                                  attn_drop=attn_drop, proj_drop=drop)
    if attn_type == "B":
        if attn_drop:
            raise ValueError("attention dropout is not supported by the window-attention op (attn_drop_rate=0)")
        return WindowAttention(dim, num_heads, window_size, shifted=shifted, qkv_bias=qkv_bias, proj_drop=drop,
                               persistent_index=True)
    raise ValueError(f"unknown Agent-Swin attention type {attn_type!r} (expected 'A' or 'B')")


class AgentSwinStage(nn.Module):
    """Blocks, then the patch merging (official layout: ``layers.i.downsample`` ends stage i)."""

    def __init__(self, dim, depth, num_heads, attn_types, bias_grid, window_size, agent_num, agent_shape, downsample,
                 drop_path, mlp_ratio=4.0, qkv_bias=True, drop=0.0, attn_drop=0.0, norm_layer=nn.LayerNorm):
        super().__init__()
        self.grad_checkpointing = False
        self.blocks = nn.ModuleList([
            _Block(dim, _swin_attention(attn_types[i], dim, num_heads, bias_grid, window_size, i % 2 == 1, agent_num,
                                        agent_shape, qkv_bias, drop, attn_drop),
                   mlp_ratio, drop, drop_path[i], norm_layer)
            for i in range(depth)])
        self.downsample = PatchMerging(dim, 2 * dim, norm_layer=norm_layer) if downsample else nn.Identity()

    def forward_blocks(self, x):
        for blk in self.blocks:
            x = run_checkpointed(blk, self.grad_checkpointing, x)
        return x

    def forward(self, x):
        return self.downsample(self.forward_blocks(x))


def _stage_attn_types(attn_type, num_stages, depths):
    """Official attn_type strings: one letter per stage, "M" = agent blocks for the first n blocks of the stage
    and window blocks after, n given after the stage letters (e.g. "AAMB2")."""
    types = []
    for i in range(num_stages):
        t = attn_type[i]
        if t == "M":
            n = int(attn_type[num_stages:])
            types.append(["A" if j < n else "B" for j in range(depths[i])])
        else:
            types.append([t] * depths[i])
    return types


class AgentSwinTransformer(PyramidMixin, nn.Module):
    """Agent-Swin: Swin Transformer with agent attention in the "A" blocks (official ``AgentSwinTransformer``)."""

    def __init__(self, img_size=224, patch_size=4, in_chans=3, num_classes=1000, global_pool="avg", embed_dim=96,
                 depths=(2, 2, 6, 2), num_heads=(3, 6, 12, 24), window_size=None, mlp_ratio=4.0, qkv_bias=True,
                 drop_rate=0.0, attn_drop_rate=0.0, drop_path_rate=0.0, norm_layer=nn.LayerNorm,
                 agent_num=(9, 16, 49, 49), attn_type="AAAB", agent_shapes=None):
        super().__init__()
        img_size = to_2tuple(img_size)
        self.num_classes, self.global_pool, self.in_chans = num_classes, global_pool, in_chans
        self.output_fmt = "NHWC"
        self.num_layers = len(depths)
        self.embed_dim = embed_dim
        self.num_features = self.head_hidden_size = int(embed_dim * 2 ** (self.num_layers - 1))
        self.min_size = patch_size * 2 ** (self.num_layers - 1)
        grid = (img_size[0] // patch_size, img_size[1] // patch_size)
        # official configs: window = the stage-1 map (56 at 224, 72 at 288, 96 at 384)
        self.window_size = window_size = window_size or min(grid)
        self.patch_embed = PatchEmbed(img_size, patch_size, in_chans, embed_dim, norm_layer=norm_layer,
                                      flatten=False, output_fmt="NHWC", strict_img_size=False, dynamic_img_pad=True)
        self.pos_drop = nn.Dropout(drop_rate)
        dpr = calculate_drop_path_rates(drop_path_rate, list(depths), stagewise=True)
        types = _stage_attn_types(attn_type, self.num_layers, depths)
        agent_shapes = agent_shapes or [None] * self.num_layers
        self.layers = nn.ModuleList()
        self.feature_info = []
        for i in range(self.num_layers):
            dim = int(embed_dim * 2 ** i)
            res = (grid[0] // 2 ** i, grid[1] // 2 ** i)
            self.layers.append(AgentSwinStage(
                dim, depths[i], num_heads[i], types[i], bias_grid=tuple(min(r, window_size) for r in res),
                window_size=max(7, window_size // 8), agent_num=int(agent_num[i]),
                agent_shape=to_2tuple(agent_shapes[i]) if agent_shapes[i] else None,
                downsample=i < self.num_layers - 1, drop_path=dpr[i], mlp_ratio=mlp_ratio, qkv_bias=qkv_bias,
                drop=drop_rate, attn_drop=attn_drop_rate, norm_layer=norm_layer))
            self.feature_info.append(dict(num_chs=dim, reduction=patch_size * 2 ** i, module=f"layers.{i}"))
        self.norm = norm_layer(self.num_features)
        self.head = ClassifierHead(self.num_features, num_classes, pool_type=global_pool, drop_rate=drop_rate,
                                   input_fmt=self.output_fmt)
        self.apply(init_linear)

    @torch.jit.ignore
    def no_weight_decay(self):
        return {n for n, _ in self.named_parameters() if "relative_position_bias_table" in n}

    @torch.jit.ignore
    def group_matcher(self, coarse=False):
        return dict(
            stem=r"^patch_embed",
            blocks=r"^layers\.(\d+)" if coarse else [
                (r"^layers\.(\d+)\.blocks\.(\d+)", None),
                (r"^layers\.(\d+)\.downsample", (99998,)),
                (r"^norm", (99999,)),
            ])

    # PyramidMixin hooks: a stage's features are its blocks' output, before the patch merging
    stage_attr = "layers"

    def stem(self, x):
        return self.pos_drop(self.patch_embed(x))

    def run_stage(self, i, x):
        feat = self.layers[i].forward_blocks(x)
        return feat, self.layers[i].downsample(feat)

    def keep_stages(self, n):
        self.layers = self.layers[:n]
        self.layers[-1].downsample = nn.Identity()


# ----------------------------------------------------------------------------------------------------------
# Agent-PVT

def _add_pos_embed(x, pos, grid):
    """(B, H, W, C) map + a position embedding trained on ``grid``, resampled bilinearly to the map when its
    size differs (the official detection backbone)."""
    pos = pos.reshape(1, grid[0], grid[1], -1).permute(0, 3, 1, 2)
    return x + resize_bilinear(pos, (x.shape[1], x.shape[2])).permute(0, 2, 3, 1)


torch.fx.wrap("_add_pos_embed")


class NumberedStagesMixin(PyramidMixin):
    """PyramidMixin hooks for stages kept in numbered attributes, as the official files name them (Agent-PVT's
    ``patch_embed1`` .. / ``block1`` .., Agent-CSwin's ``merge1`` .. / ``stage1`` ..): the model sets
    ``stage_count`` and ``grad_checkpointing`` and names stage i's attributes in ``stage_modules(i)``;
    ``run_blocks`` runs a stage's blocks (checkpointed when enabled) and returns the map as the stage's features
    and the next stage's input."""

    def run_blocks(self, blocks, x):
        for blk in blocks:
            x = run_checkpointed(blk, self.grad_checkpointing, x)
        return x, x

    def num_stages(self):
        return self.stage_count

    def keep_stages(self, n):
        for i in range(n, self.stage_count):
            for name in self.stage_modules(i):
                delattr(self, name)
        self.stage_count = n


class AgentPyramidVisionTransformer(NumberedStagesMixin, nn.Module):
    """Agent-PVT: PVT (v1) with agent attention (official ``PyramidVisionTransformer`` of ``agent_pvt.py``; it has
    no final norm: the head reads the mean of the last stage's tokens)."""

    def __init__(self, img_size=224, patch_size=4, in_chans=3, num_classes=1000, global_pool="avg",
                 embed_dims=(64, 128, 320, 512), num_heads=(1, 2, 5, 8), mlp_ratios=(8, 8, 4, 4), qkv_bias=True,
                 drop_rate=0.0, attn_drop_rate=0.0, drop_path_rate=0.0, norm_layer=partial(nn.LayerNorm, eps=1e-6),
                 depths=(2, 2, 2, 2), sr_ratios=(8, 4, 2, 1), agent_sr_ratios="1111", agent_num=(9, 16, 49, 49),
                 attn_type="AAAA", agent_shapes=None):
        super().__init__()
        img_size = to_2tuple(img_size)
        self.num_classes, self.global_pool, self.in_chans = num_classes, global_pool, in_chans
        self.output_fmt = "NHWC"
        self.stage_count = len(depths)
        self.num_features = self.head_hidden_size = embed_dims[-1]
        self.grad_checkpointing = False
        self.min_size = patch_size * 2 ** (self.stage_count - 1)
        dpr = calculate_drop_path_rates(drop_path_rate, list(depths), stagewise=True)
        agent_shapes = agent_shapes or [None] * self.stage_count
        self.grids, self.feature_info = [], []
        grid = (img_size[0] // patch_size, img_size[1] // patch_size)
        for i in range(self.stage_count):
            if i > 0:
                grid = (grid[0] // 2, grid[1] // 2)
            self.grids.append(grid)
            dim = embed_dims[i]
            # strided conv + LayerNorm, no padding (PVT floors the map sizes)
            setattr(self, f"patch_embed{i + 1}", PatchEmbed(None, patch_size if i == 0 else 2,
                                                            in_chans if i == 0 else embed_dims[i - 1], dim,
                                                            norm_layer=nn.LayerNorm, output_fmt="NHWC",
                                                            strict_img_size=False))
            pos_embed = nn.Parameter(torch.zeros(1, grid[0] * grid[1], dim))
            trunc_normal_(pos_embed, std=0.02)
            setattr(self, f"pos_embed{i + 1}", pos_embed)
            setattr(self, f"pos_drop{i + 1}", nn.Dropout(drop_rate))
            if attn_type[i] not in "AB":
                raise ValueError(f"unknown Agent-PVT attention type {attn_type[i]!r} (expected 'A' or 'B')")
            blocks = []
            for j in range(depths[i]):
                if attn_type[i] == "A":
                    attn = PvtAgentAttention(dim, num_heads[i], grid, int(agent_num[i]), int(agent_sr_ratios[i]),
                                             to_2tuple(agent_shapes[i]) if agent_shapes[i] else None,
                                             qkv_bias=qkv_bias, attn_drop=attn_drop_rate, proj_drop=drop_rate)
                else:
                    attn = SpatialReductionAttention(dim, num_heads[i], sr_ratios[i], qkv_bias=qkv_bias,
                                                     attn_drop=attn_drop_rate, proj_drop=drop_rate)
                blocks.append(_Block(dim, attn, mlp_ratios[i], drop_rate, dpr[i][j], norm_layer))
            setattr(self, f"block{i + 1}", nn.ModuleList(blocks))
            self.feature_info.append(dict(num_chs=dim, reduction=patch_size * 2 ** i, module=f"block{i + 1}"))
        self.norm = nn.Identity()
        self.head = ClassifierHead(self.num_features, num_classes, pool_type=global_pool, drop_rate=drop_rate,
                                   input_fmt=self.output_fmt)
        self.apply(init_linear)

    @torch.jit.ignore
    def no_weight_decay(self):
        return set()  # the official recipe decays the position embeddings (its list names only a cls_token)

    @torch.jit.ignore
    def group_matcher(self, coarse=False):
        return dict(
            stem=r"^patch_embed1|^pos_embed1",
            blocks=r"^(?:block|patch_embed|pos_embed)(\d+)" if coarse else [
                (r"^(?:patch_embed|pos_embed)(\d+)", (0,)),
                (r"^block(\d+)\.(\d+)", None),
            ])

    # PyramidMixin hooks
    def run_stage(self, i, x):
        """Stage i on an NCHW (i = 0) or NHWC map; returns NHWC twice (no downsampling between stages: the
        next stage's patch embedding does it)."""
        x = getattr(self, f"patch_embed{i + 1}")(x if i == 0 else x.permute(0, 3, 1, 2))
        x = getattr(self, f"pos_drop{i + 1}")(_add_pos_embed(x, getattr(self, f"pos_embed{i + 1}"), self.grids[i]))
        return self.run_blocks(getattr(self, f"block{i + 1}"), x)

    def stage_modules(self, i):
        return (f"patch_embed{i + 1}", f"pos_embed{i + 1}", f"pos_drop{i + 1}", f"block{i + 1}")

    def keep_stages(self, n):
        super().keep_stages(n)
        self.grids = self.grids[:n]


# ----------------------------------------------------------------------------------------------------------
# Agent-DeiT

class AgentDeiT(VitLevelsMixin, nn.Module):
    """Agent-DeiT: DeiT with agent attention in its first ``agent_layer`` blocks (official ``agent_deit.py``)."""

    def __init__(self, img_size=224, patch_size=16, in_chans=3, num_classes=1000, global_pool="token",
                 embed_dim=768, depth=12, num_heads=12, mlp_ratio=4.0, qkv_bias=True, drop_rate=0.0,
                 attn_drop_rate=0.0, drop_path_rate=0.0, agent_num=(49, 49, 49, 49), agent_layer=-1,
                 feature_blocks=None):
        super().__init__()
        if global_pool not in ("", "avg", "token"):
            raise ValueError(f"global_pool must be '', 'avg' or 'token', got {global_pool!r}")
        norm_layer = partial(nn.LayerNorm, eps=1e-6)
        self.num_classes, self.global_pool, self.in_chans = num_classes, global_pool, in_chans
        self.num_features = self.head_hidden_size = self.embed_dim = embed_dim
        self.num_prefix_tokens = 1
        self.grad_checkpointing = False
        self.min_size = self.patch_size = patch_size
        self.patch_embed = PatchEmbed(img_size, patch_size, in_chans, embed_dim, strict_img_size=False,
                                      dynamic_img_pad=True)
        grid = self.patch_embed.grid_size
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, grid[0] * grid[1] + 1, embed_dim))
        self.pos_drop = nn.Dropout(drop_rate)
        agent_layer = agent_layer if agent_layer > 0 else depth
        stage_of = {0: 0, 1: 1, 2: 2, 3: 2, 4: 2, 5: 3}  # official agent-number index of block pair i // 2
        dpr = calculate_drop_path_rates(drop_path_rate, depth)

        def attention(i):
            if i < agent_layer:
                return DeitAgentAttention(embed_dim, num_heads, grid, int(agent_num[stage_of.get(i // 2, 3)]),
                                          qkv_bias=qkv_bias, attn_drop=attn_drop_rate, proj_drop=drop_rate)
            return Attention(embed_dim, num_heads, qkv_bias=qkv_bias, attn_drop=attn_drop_rate, proj_drop=drop_rate)

        self.blocks = nn.Sequential(*[_Block(embed_dim, attention(i), mlp_ratio, drop_rate, dpr[i], norm_layer)
                                      for i in range(depth)])
        self.agent_layer = agent_layer
        self.norm = norm_layer(embed_dim)
        self.head_drop = nn.Dropout(drop_rate)
        self.head = nn.Linear(embed_dim, num_classes) if num_classes > 0 else nn.Identity()
        # dense features: four evenly spaced blocks, resampled to strides 4, 8, 16, 32
        self.feature_blocks = list(feature_blocks or [(i + 1) * depth // 4 - 1 for i in range(4)])
        self.feature_info = [dict(num_chs=embed_dim, reduction=r, module=f"blocks.{b}")
                             for b, r in zip(self.feature_blocks, (patch_size // 4, patch_size // 2, patch_size,
                                                                   patch_size * 2))]
        trunc_normal_(self.pos_embed, std=0.02)
        trunc_normal_(self.cls_token, std=0.02)
        self.apply(init_linear)

    @torch.jit.ignore
    def no_weight_decay(self):
        return {"pos_embed", "cls_token"}

    @torch.jit.ignore
    def group_matcher(self, coarse=False):
        return dict(stem=r"^cls_token|pos_embed|patch_embed", blocks=[(r"^blocks\.(\d+)", None), (r"^norm", (99999,))])

    # VitLevelsMixin hooks
    def embed(self, x):
        """Patch embedding (image padded to whole patches), class token and position embedding (resampled to
        the grid when it differs from the trained one); returns tokens and the (h, w) grid."""
        ph, pw = self.patch_embed.patch_size
        grid = (ceil_div(x.shape[-2], ph), ceil_div(x.shape[-1], pw))
        x = self.patch_embed(x)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1)
        return self.pos_drop(x + resample_pos_embed(self.pos_embed, grid, self.patch_embed.grid_size, 1)), grid

    def run_block(self, i, x, grid):
        blk = self.blocks[i]
        if i < self.agent_layer:
            return run_checkpointed(blk, self.grad_checkpointing, x, grid)
        return run_checkpointed(blk, self.grad_checkpointing, x)

    def patch_tokens(self, i, x):
        return x[:, self.num_prefix_tokens:]

    def forward_features(self, x):
        x = self.check_input(x)
        x, grid = self.embed(x)
        for i in range(len(self.blocks)):
            x = self.run_block(i, x, grid)
        return self.norm(x)


# ----------------------------------------------------------------------------------------------------------
# checkpoints

def _resize_axis(v, shape):
    """Linear resampling of the one axis whose size differs (the official loader's rule for ah / aw / ha / wa)."""
    axes = [i for i, (a, b) in enumerate(zip(v.shape, shape)) if a != b]
    if len(v.shape) != len(shape) or len(axes) != 1:
        raise ValueError(f"cannot resize an agent bias of shape {tuple(v.shape)} to {tuple(shape)}")
    ax = axes[0]
    moved = v.movedim(ax, -1)
    flat = moved.reshape(-1, 1, moved.shape[-1]).float()
    flat = F.interpolate(flat, size=shape[ax], mode="linear", align_corners=False)
    return flat.reshape(*moved.shape[:-1], shape[ax]).movedim(-1, ax).to(v.dtype)


def _resize_rel_table(v, shape):
    """Bicubic resampling of a square (2w - 1)^2 x heads table (the official loader's rule)."""
    (l1, heads), (l2, _) = v.shape, shape
    s1, s2 = math.isqrt(l1), math.isqrt(l2)
    t = v.float().permute(1, 0).reshape(1, heads, s1, s1)
    t = F.interpolate(t, size=(s2, s2), mode="bicubic", align_corners=False)
    return t.reshape(heads, l2).permute(1, 0).to(v.dtype)


def checkpoint_filter_fn(state_dict, model):
    """Official Agent-Attention checkpoints ({"model": ...} or bare) -> this model's state dict.

    Parameter names are the official ones. Swin's SW-MSA ``attn_mask`` buffers are dropped (the window op
    builds the mask) and ``relative_position_index`` is the model's own; when the model's configured size
    differs from the checkpoint's, the ah / aw / ha / wa biases are resampled linearly, relative position
    tables bicubically and position embeddings bicubically (as the official fine-tuning loader does)."""
    state_dict = unwrap_checkpoint(state_dict)
    if not isinstance(model, AgentDeiT):   # Agent-Swin / PVT: timm's ClassifierHead
        state_dict = classifier_to_head_fc(state_dict)
    own = model.state_dict()
    out = {}
    for k, v in state_dict.items():
        if k.endswith("attn_mask"):
            continue
        target = own.get(k)
        if target is None:
            out[k] = v
            continue
        if k.endswith("relative_position_index"):
            v = target.clone()
        elif v.shape != target.shape:
            if k.split(".")[-1] in _AGENT_BIAS_KEYS:
                v = _resize_axis(v, target.shape)
            elif k.endswith("relative_position_bias_table"):
                v = _resize_rel_table(v, target.shape)
            elif k == "pos_embed" and isinstance(model, AgentDeiT):
                v = resample_abs_pos_embed(v, list(model.patch_embed.grid_size), num_prefix_tokens=1,
                                           antialias=False)
            elif re.fullmatch(r"pos_embed\d", k) and isinstance(model, AgentPyramidVisionTransformer):
                grid = model.grids[int(k[-1]) - 1]
                v = resample_abs_pos_embed(v, list(grid), num_prefix_tokens=0, antialias=False)
        out[k] = v
    return out



# ----------------------------------------------------------------------------------------------------------
# registration

_TSINGHUA = "https://cloud.tsinghua.edu.cn/f/{}/?dl=1"


def _cfg(link, file_name, first_conv, classifier="head.fc", **kwargs):
    # Official files live on Tsinghua Cloud behind share links whose path names no file, and they are training
    # checkpoints (yacs config inside): timm's custom_load path downloads them under an explicit file name and
    # calls the model's load_pretrained (read without yacs, converted by checkpoint_filter_fn).
    return {
        "url": (_TSINGHUA.format(link), file_name), "custom_load": True,
        "num_classes": 1000, "input_size": (3, 224, 224), "pool_size": None, "fixed_input_size": True,
        "crop_pct": 0.875, "interpolation": "bicubic", "mean": IMAGENET_DEFAULT_MEAN, "std": IMAGENET_DEFAULT_STD,
        "first_conv": first_conv, "classifier": classifier, "license": "unknown",
        "paper_ids": "arXiv:2312.08874", "paper_name": "Agent Attention: On the Integration of Softmax and Linear "
                                                     "Attention", "origin_url": "https://github.com/LeapLabTHU/Agent-Attention",
        **kwargs,
    }


_swin = partial(_cfg, first_conv="patch_embed.proj", pool_size=(7, 7))
_pvt = partial(_cfg, first_conv="patch_embed1.proj", pool_size=(7, 7))
_deit = partial(_cfg, first_conv="patch_embed.proj", classifier="head")

default_cfgs = generate_default_cfgs({
    "agent_swin_t.in1k": _swin("a2ddc1190c224f768a41", "agent_swin_t_max_acc.pth"),
    "agent_swin_s.in1k": _swin("f607172c9fea4d6e99bb", "agent_swin_s_max_acc.pth"),
    "agent_swin_s.in1k_288": _swin("09760394e93b4046a25e", "agent_swin_s_288_max_acc.pth", input_size=(3, 288, 288),
                                   pool_size=(9, 9), crop_pct=1.0),
    "agent_swin_b.in1k": _swin("4fcd2d0114bb490483c3", "agent_swin_b_max_acc.pth"),
    "agent_swin_b.in1k_384": _swin("bb84ee9058954706a557", "agent_swin_b_384_max_acc.pth", input_size=(3, 384, 384),
                                   pool_size=(12, 12), crop_pct=1.0),
    "agent_pvt_t.in1k": _pvt("13fdf0e0a7c5498c934f", "agent_pvt_t_max_acc.pth"),
    "agent_pvt_s.in1k": _pvt("36b8be9a8863456685a3", "agent_pvt_s_max_acc.pth"),
    "agent_pvt_m.in1k": _pvt("4d00ecacf18b45f9b88c", "agent_pvt_m_max_acc.pth"),
    "agent_pvt_m.in1k_256": _pvt("654df734121643b19c52", "agent_pvt_m_256_max_acc.pth", input_size=(3, 256, 256),
                                 pool_size=(8, 8)),
    "agent_pvt_l.in1k": _pvt("040cfe0cfbbe4762ad09", "agent_pvt_l_max_acc.pth"),
    "agent_deit_t.in1k": _deit("57e0904221824ee7b7af", "agent_deit_t_max_acc.pth"),
    "agent_deit_s.in1k": _deit("fdd43304372541db8ea7", "agent_deit_s_max_acc.pth"),
    "agent_deit_s.in1k_448": _deit("a228f86241c445f1969b", "agent_deit_s_448_max_acc.pth", input_size=(3, 448, 448)),
    "agent_deit_b.in1k": _deit("5115f15fdd7e4ab58fbc", "agent_deit_b_max_acc.pth"),
})


def _create(cls, variant, pretrained=False, **kwargs):
    return build(cls, variant, pretrained, filter_fn=checkpoint_filter_fn, **kwargs)


@register_model
def agent_swin_t(pretrained=False, **kwargs) -> AgentSwinTransformer:
    """Agent-Swin-T: window 56 (the stage-1 map), attn type AAAB, agents 9-16-49-49."""
    args = dict(embed_dim=96, depths=(2, 2, 6, 2), num_heads=(3, 6, 12, 24), attn_type="AAAB",
                agent_num=(9, 16, 49, 49))
    return _create(AgentSwinTransformer, "agent_swin_t", pretrained, **dict(args, **kwargs))


@register_model
def agent_swin_s(pretrained=False, **kwargs) -> AgentSwinTransformer:
    """Agent-Swin-S: attn type AABB, agents 9-16-49-49."""
    args = dict(embed_dim=96, depths=(2, 2, 18, 2), num_heads=(3, 6, 12, 24), attn_type="AABB",
                agent_num=(9, 16, 49, 49))
    return _create(AgentSwinTransformer, "agent_swin_s", pretrained, **dict(args, **kwargs))


@register_model
def agent_swin_b(pretrained=False, **kwargs) -> AgentSwinTransformer:
    """Agent-Swin-B: attn type AAMB2 (stage 3: two agent blocks, then window blocks), agents 9-16-49-49."""
    args = dict(embed_dim=128, depths=(2, 2, 18, 2), num_heads=(4, 8, 16, 32), attn_type="AAMB2",
                agent_num=(9, 16, 49, 49))
    return _create(AgentSwinTransformer, "agent_swin_b", pretrained, **dict(args, **kwargs))


def _pvt_args(depths, kwargs):
    args = dict(patch_size=4, embed_dims=(64, 128, 320, 512), num_heads=(1, 2, 5, 8), mlp_ratios=(8, 8, 4, 4),
                qkv_bias=True, depths=depths, sr_ratios=(8, 4, 2, 1), agent_sr_ratios="1111",
                agent_num=(9, 16, 49, 49), attn_type="AAAA")
    return dict(args, **kwargs)


@register_model
def agent_pvt_t(pretrained=False, **kwargs) -> AgentPyramidVisionTransformer:
    """Agent-PVT-T: attn type AAAA, agents 9-16-49-49, agent sr ratios 1111."""
    return _create(AgentPyramidVisionTransformer, "agent_pvt_t", pretrained, **_pvt_args((2, 2, 2, 2), kwargs))


@register_model
def agent_pvt_s(pretrained=False, **kwargs) -> AgentPyramidVisionTransformer:
    """Agent-PVT-S: attn type AAAA, agents 9-16-49-49, agent sr ratios 1111."""
    return _create(AgentPyramidVisionTransformer, "agent_pvt_s", pretrained, **_pvt_args((3, 4, 6, 3), kwargs))


@register_model
def agent_pvt_m(pretrained=False, **kwargs) -> AgentPyramidVisionTransformer:
    """Agent-PVT-M: attn type AAAA, agents 9-16-49-49, agent sr ratios 1111."""
    return _create(AgentPyramidVisionTransformer, "agent_pvt_m", pretrained, **_pvt_args((3, 4, 18, 3), kwargs))


@register_model
def agent_pvt_l(pretrained=False, **kwargs) -> AgentPyramidVisionTransformer:
    """Agent-PVT-L: attn type AAAA, agents 9-16-49-49, agent sr ratios 1111."""
    return _create(AgentPyramidVisionTransformer, "agent_pvt_l", pretrained, **_pvt_args((3, 8, 27, 3), kwargs))


@register_model
def agent_deit_t(pretrained=False, **kwargs) -> AgentDeiT:
    """Agent-DeiT-T: agent attention in all 12 blocks, 49 agents."""
    args = dict(patch_size=16, embed_dim=192, depth=12, num_heads=3, agent_num=(49, 49, 49, 49))
    return _create(AgentDeiT, "agent_deit_t", pretrained, **dict(args, **kwargs))


@register_model
def agent_deit_s(pretrained=False, **kwargs) -> AgentDeiT:
    """Agent-DeiT-S: agent attention in all 12 blocks, 49 agents."""
    args = dict(patch_size=16, embed_dim=384, depth=12, num_heads=6, agent_num=(49, 49, 49, 49))
    return _create(AgentDeiT, "agent_deit_s", pretrained, **dict(args, **kwargs))


@register_model
def agent_deit_b(pretrained=False, **kwargs) -> AgentDeiT:
    """Agent-DeiT-B: agent attention in the first 4 blocks (agent_layer 4), 49 agents (the released checkpoint's
    shapes; the repository's yaml lists 81)."""
    args = dict(patch_size=16, embed_dim=768, depth=12, num_heads=12, agent_num=(49, 49, 49, 49), agent_layer=4)
    return _create(AgentDeiT, "agent_deit_b", pretrained, **dict(args, **kwargs))
