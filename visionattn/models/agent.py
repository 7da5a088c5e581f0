"""Agent Attention backbones: Agent-Swin, Agent-PVT and Agent-DeiT (``agent_swin_*``, ``agent_pvt_*``,
``agent_deit_*``).

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

Both dense steps run through ``torch.nn.functional.scaled_dot_product_attention`` with the bias as ``attn_mask``
and the official scale head_dim ** -0.5 for both. Agent-Swin's window blocks ("B", and the B part of "M<n>"
stages) are Swin's W-MSA / SW-MSA on ``visionattn.ops.window_attention``.

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
import collections
import math
import re
from functools import partial
from typing import List, Optional, Tuple, Union

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint
from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD
from timm.layers import DropPath, Mlp, PatchEmbed, resample_abs_pos_embed, to_2tuple, trunc_normal_
from timm.models import adapt_input_conv, generate_default_cfgs, register_model
from timm.models._features import feature_take_indices
from timm.models.swin_transformer import PatchMerging
from timm.models.vision_transformer import Block as VitBlock

from visionattn.layers.window_attention import WindowAttention, pad_to_multiple

from ._builder import build, check_image, unwrap_checkpoint

__all__ = ["AgentSwinTransformer", "AgentPyramidVisionTransformer", "AgentDeiT", "checkpoint_filter_fn"]

_AGENT_BIAS_KEYS = ("ah_bias", "aw_bias", "ha_bias", "wa_bias")


# ----------------------------------------------------------------------------------------------------------
# agent attention, shared by the three backbones

def _resize(x, size):
    """Bilinear resampling of the last two dims (align_corners=False, as the official code); identity when equal."""
    size = tuple(size)
    if tuple(x.shape[-2:]) == size:
        return x
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


def _resize_agents(bias, agent_shape):
    """(heads, p * p, h, w) bias of a p x p agent grid, resampled bilinearly over the agent grid to agent_shape
    (the official detection backbones' ``downstream_agent_shape``); returns (heads, A', h, w)."""
    heads, num_agents, h, w = bias.shape
    p = math.isqrt(num_agents)
    if (p, p) == tuple(agent_shape):
        return bias
    bias = bias.reshape(heads, p, p, h * w).permute(0, 3, 1, 2)
    bias = F.interpolate(bias, size=tuple(agent_shape), mode="bilinear", align_corners=False)
    return bias.flatten(2).transpose(1, 2).reshape(heads, -1, h, w)


def _pool_agents(q, size, agent_shape):
    """Agent tokens: (B, N, C) queries of an (h, w) map average-pooled to agent_shape, as (B, A, C)."""
    b, n, c = q.shape
    # a contiguous NCHW input: CPU adaptive pooling keeps a channels-last input's layout, which the strides
    # predicted when torch.compile traces the model do not (the SDPA reading the agents then gets garbage)
    grid = q.transpose(1, 2).reshape(b, c, size[0], size[1]).contiguous()
    return F.adaptive_avg_pool2d(grid, tuple(agent_shape)).flatten(2).transpose(1, 2)


def agent_attention(q, k, v, agent, bias_ak, bias_qa, scale, dropout_p=0.0):
    """The two softmax steps of agent attention on (B, heads, tokens, head_dim) tensors.

    agent values = softmax(scale * agent @ k^T + bias_ak) @ v; out = softmax(scale * q @ agent^T + bias_qa) @ agent
    values. ``bias_ak`` broadcasts to (B, heads, A, Nk), ``bias_qa`` to (B, heads, Nq, A)."""
    agent_v = F.scaled_dot_product_attention(agent, k, v, attn_mask=bias_ak.to(q.dtype), dropout_p=dropout_p,
                                             scale=scale)
    return F.scaled_dot_product_attention(q, agent, agent_v, attn_mask=bias_qa.to(q.dtype), dropout_p=dropout_p,
                                          scale=scale)


class _AgentBiasMixin(nn.Module):
    """The agent position biases of the official modules and their resampling to any map size."""

    def _init_agent_bias(self, num_heads, agent_num, kv_grid, q_grid):
        self.an_bias = nn.Parameter(torch.zeros(num_heads, agent_num, 7, 7))
        self.na_bias = nn.Parameter(torch.zeros(num_heads, agent_num, 7, 7))
        self.ah_bias = nn.Parameter(torch.zeros(1, num_heads, agent_num, kv_grid[0], 1))
        self.aw_bias = nn.Parameter(torch.zeros(1, num_heads, agent_num, 1, kv_grid[1]))
        self.ha_bias = nn.Parameter(torch.zeros(1, num_heads, q_grid[0], 1, agent_num))
        self.wa_bias = nn.Parameter(torch.zeros(1, num_heads, 1, q_grid[1], agent_num))
        for p in (self.an_bias, self.na_bias, self.ah_bias, self.aw_bias, self.ha_bias, self.wa_bias):
            trunc_normal_(p, std=0.02)

    def agent_bias(self, kv_size, q_size, agent_shape):
        """Biases of the agent step (heads, A, hk * wk) and of the broadcast step (heads, hq * wq, A)."""
        ak = _resize(self.an_bias, kv_size) + _resize((self.ah_bias + self.aw_bias).squeeze(0), kv_size)
        qa = _resize(self.na_bias, q_size) + _resize((self.ha_bias + self.wa_bias).squeeze(0).permute(0, 3, 1, 2),
                                                     q_size)
        ak = _resize_agents(ak, agent_shape).flatten(2)
        qa = _resize_agents(qa, agent_shape).flatten(2).transpose(1, 2)
        return ak, qa


class SwinAgentAttention(_AgentBiasMixin):
    """Agent attention of Agent-Swin's "A" blocks over a whole (B, H, W, C) map."""

    def __init__(self, dim, num_heads, bias_grid, agent_num=49, agent_shape=None, qkv_bias=True, attn_drop=0.0,
                 proj_drop=0.0):
        super().__init__()
        self.num_heads, self.head_dim = num_heads, dim // num_heads
        self.scale = self.head_dim ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.attn_drop = attn_drop
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)
        self.dwc = nn.Conv2d(dim, dim, kernel_size=3, padding=1, groups=dim)
        self._init_agent_bias(num_heads, agent_num, bias_grid, bias_grid)
        p = math.isqrt(agent_num)
        self.agent_shape = tuple(agent_shape or (p, p))

    def _heads(self, t):
        return t.reshape(t.shape[0], t.shape[1], self.num_heads, self.head_dim).transpose(1, 2)

    def forward(self, x):
        b, h, w, c = x.shape
        q, k, v = self.qkv(x).reshape(b, h * w, 3, c).unbind(2)
        agent = _pool_agents(q, (h, w), self.agent_shape)
        ak, qa = self.agent_bias((h, w), (h, w), self.agent_shape)
        out = agent_attention(self._heads(q), self._heads(k), self._heads(v), self._heads(agent), ak.unsqueeze(0),
                              qa.unsqueeze(0), self.scale, self.attn_drop if self.training else 0.0)
        out = out.transpose(1, 2).reshape(b, h, w, c)
        out = out + self.dwc(v.transpose(1, 2).reshape(b, c, h, w)).permute(0, 2, 3, 1)
        return self.proj_drop(self.proj(out))


class PvtAgentAttention(_AgentBiasMixin):
    """Agent attention of Agent-PVT (separate ``q`` / ``kv``, optional spatial reduction of keys / values)."""

    def __init__(self, dim, num_heads, grid, agent_num=49, sr_ratio=1, agent_shape=None, qkv_bias=True,
                 attn_drop=0.0, proj_drop=0.0):
        super().__init__()
        self.num_heads, self.head_dim = num_heads, dim // num_heads
        self.scale = self.head_dim ** -0.5
        self.q = nn.Linear(dim, dim, bias=qkv_bias)
        self.kv = nn.Linear(dim, dim * 2, bias=qkv_bias)
        self.attn_drop = attn_drop
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)
        self.sr_ratio = sr_ratio
        if sr_ratio > 1:
            self.sr = nn.Conv2d(dim, dim, kernel_size=sr_ratio, stride=sr_ratio)
            self.norm = nn.LayerNorm(dim)
        self.dwc = nn.Conv2d(dim, dim, kernel_size=3, padding=1, groups=dim)
        self._init_agent_bias(num_heads, agent_num, (grid[0] // sr_ratio, grid[1] // sr_ratio), grid)
        p = math.isqrt(agent_num)
        self.agent_shape = tuple(agent_shape or (p, p))

    def _heads(self, t):
        return t.reshape(t.shape[0], t.shape[1], self.num_heads, self.head_dim).transpose(1, 2)

    def forward(self, x):
        b, h, w, c = x.shape
        q = self.q(x).reshape(b, h * w, c)
        if self.sr_ratio > 1:
            xs = self.sr(x.permute(0, 3, 1, 2))
            kv_size = tuple(xs.shape[-2:])
            xs = self.norm(xs.flatten(2).transpose(1, 2))
        else:
            xs, kv_size = x.reshape(b, h * w, c), (h, w)
        k, v = self.kv(xs).reshape(b, -1, 2, c).unbind(2)
        agent = _pool_agents(q, (h, w), self.agent_shape)
        ak, qa = self.agent_bias(kv_size, (h, w), self.agent_shape)
        out = agent_attention(self._heads(q), self._heads(k), self._heads(v), self._heads(agent), ak.unsqueeze(0),
                              qa.unsqueeze(0), self.scale, self.attn_drop if self.training else 0.0)
        out = out.transpose(1, 2).reshape(b, h, w, c)
        v = v.transpose(1, 2).reshape(b, c, kv_size[0], kv_size[1])
        if self.sr_ratio > 1:
            v = F.interpolate(v, size=(h, w), mode="bilinear", align_corners=False)
        out = out + self.dwc(v).permute(0, 2, 3, 1)
        return self.proj_drop(self.proj(out))


class PvtAttention(nn.Module):
    """PVT's spatial-reduction attention (the official "B" attention type of Agent-PVT)."""

    def __init__(self, dim, num_heads, sr_ratio=1, qkv_bias=True, attn_drop=0.0, proj_drop=0.0):
        super().__init__()
        self.num_heads, self.head_dim = num_heads, dim // num_heads
        self.scale = self.head_dim ** -0.5
        self.q = nn.Linear(dim, dim, bias=qkv_bias)
        self.kv = nn.Linear(dim, dim * 2, bias=qkv_bias)
        self.attn_drop = attn_drop
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)
        self.sr_ratio = sr_ratio
        if sr_ratio > 1:
            self.sr = nn.Conv2d(dim, dim, kernel_size=sr_ratio, stride=sr_ratio)
            self.norm = nn.LayerNorm(dim)

    def forward(self, x):
        b, h, w, c = x.shape
        q = self.q(x).reshape(b, h * w, self.num_heads, self.head_dim).transpose(1, 2)
        if self.sr_ratio > 1:
            xs = self.norm(self.sr(x.permute(0, 3, 1, 2)).flatten(2).transpose(1, 2))
        else:
            xs = x.reshape(b, h * w, c)
        k, v = self.kv(xs).reshape(b, -1, 2, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4).unbind(0)
        out = F.scaled_dot_product_attention(q, k, v, dropout_p=self.attn_drop if self.training else 0.0,
                                             scale=self.scale)
        return self.proj_drop(self.proj(out.transpose(1, 2).reshape(b, h, w, c)))


class DeitAgentAttention(_AgentBiasMixin):
    """Agent attention of Agent-DeiT: a class token in front of an (h, w) grid of patch tokens."""

    def __init__(self, dim, num_heads, grid, agent_num=49, qkv_bias=True, attn_drop=0.0, proj_drop=0.0):
        super().__init__()
        self.num_heads, self.head_dim = num_heads, dim // num_heads
        self.scale = self.head_dim ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.attn_drop = attn_drop
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)
        self.dwc = nn.Conv2d(dim, dim, kernel_size=3, padding=1, groups=dim)
        self._init_agent_bias(num_heads, agent_num, grid, grid)
        self.ac_bias = nn.Parameter(torch.zeros(1, num_heads, agent_num, 1))
        self.ca_bias = nn.Parameter(torch.zeros(1, num_heads, 1, agent_num))
        trunc_normal_(self.ac_bias, std=0.02)
        trunc_normal_(self.ca_bias, std=0.02)
        p = math.isqrt(agent_num)
        self.agent_shape = (p, p)

    def _heads(self, t):
        return t.reshape(t.shape[0], t.shape[1], self.num_heads, self.head_dim).transpose(1, 2)

    def forward(self, x, grid):
        b, n, c = x.shape
        h, w = grid
        q, k, v = self.qkv(x).reshape(b, n, 3, c).unbind(2)
        agent = _pool_agents(q[:, 1:], (h, w), self.agent_shape)
        ak, qa = self.agent_bias((h, w), (h, w), self.agent_shape)
        ak = torch.cat([self.ac_bias, ak.unsqueeze(0)], dim=-1)      # the class token is the first key
        qa = torch.cat([self.ca_bias, qa.unsqueeze(0)], dim=-2)      # and the first query
        out = agent_attention(self._heads(q), self._heads(k), self._heads(v), self._heads(agent), ak, qa,
                              self.scale, self.attn_drop if self.training else 0.0)
        out = out.transpose(1, 2).reshape(b, n, c)
        dw = self.dwc(v[:, 1:].transpose(1, 2).reshape(b, c, h, w)).flatten(2).transpose(1, 2)
        out = torch.cat([out[:, :1], out[:, 1:] + dw], dim=1)
        return self.proj_drop(self.proj(out))


def _run_blocks(blocks, x, grad_checkpointing, *args):
    for blk in blocks:
        if grad_checkpointing and not torch.jit.is_scripting():
            x = checkpoint(blk, x, *args, use_reentrant=False)
        else:
            x = blk(x, *args)
    return x


# ----------------------------------------------------------------------------------------------------------
# checkpoints

class _ConfigStub:
    """Stands for the yacs ``CfgNode`` that official training checkpoints carry under "config": read as a plain
    OrderedDict, so those files load with ``torch.load(weights_only=True)`` and without yacs."""

    def __new__(cls, *args, **kwargs):
        return collections.OrderedDict()


def _read_checkpoint(path):
    if str(path).endswith(".safetensors"):
        from safetensors.torch import load_file
        return load_file(str(path))
    with torch.serialization.safe_globals([(_ConfigStub, "yacs.config.CfgNode")]):
        return torch.load(path, map_location="cpu", weights_only=True)


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
    own = model.state_dict()
    out = {}
    for k, v in state_dict.items():
        if k.startswith("module."):
            k = k[len("module."):]
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


def _load_pretrained(model, path):
    """timm's ``custom_load`` entry (official files need a yacs-free read and are named by their cfg): read,
    convert, adapt the classifier and input channels as timm's loader does, load strictly otherwise."""
    state_dict = checkpoint_filter_fn(_read_checkpoint(path), model)
    own = model.state_dict()
    first_conv = model.pretrained_cfg.get("first_conv") if hasattr(model, "pretrained_cfg") else None
    if first_conv and f"{first_conv}.weight" in state_dict:
        key = f"{first_conv}.weight"
        if state_dict[key].shape[1] != own[key].shape[1]:
            state_dict[key] = adapt_input_conv(own[key].shape[1], state_dict[key])
    allowed_missing = set()
    for key in ("head.weight", "head.bias"):
        if key in state_dict and (key not in own or own[key].shape != state_dict[key].shape):
            state_dict.pop(key)
            if key in own:
                allowed_missing.add(key)
    missing, unexpected = model.load_state_dict(state_dict, strict=False)
    if unexpected or set(missing) - allowed_missing:
        raise RuntimeError(f"{type(model).__name__}: checkpoint {path} does not fit: missing "
                           f"{sorted(set(missing) - allowed_missing)[:10]}, unexpected {sorted(unexpected)[:10]}")


class _ClassifierMixin:
    def get_classifier(self):
        return self.head

    def reset_classifier(self, num_classes, global_pool=None):
        self.num_classes = num_classes
        if global_pool is not None:
            self.global_pool = global_pool
        self.head = nn.Linear(self.num_features, num_classes) if num_classes > 0 else nn.Identity()

    @torch.jit.ignore
    def load_pretrained(self, checkpoint_path, prefix=""):
        _load_pretrained(self, checkpoint_path)


def _init_weights(m):
    if isinstance(m, nn.Linear):
        trunc_normal_(m.weight, std=0.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, nn.LayerNorm):
        nn.init.ones_(m.weight)
        nn.init.zeros_(m.bias)


# ----------------------------------------------------------------------------------------------------------
# Agent-Swin

class AgentSwinBlock(nn.Module):
    def __init__(self, dim, num_heads, attn_type, bias_grid, window_size, shifted, agent_num=49, agent_shape=None,
                 mlp_ratio=4.0, qkv_bias=True, drop=0.0, attn_drop=0.0, drop_path=0.0, norm_layer=nn.LayerNorm):
        super().__init__()
        self.attn_type = attn_type
        self.norm1 = norm_layer(dim)
        if attn_type == "A":
            self.attn = SwinAgentAttention(dim, num_heads, bias_grid, agent_num, agent_shape, qkv_bias=qkv_bias,
                                           attn_drop=attn_drop, proj_drop=drop)
        elif attn_type == "B":
            if attn_drop:
                raise ValueError("attention dropout is not supported by the window-attention op (attn_drop_rate=0)")
            self.window_size = to_2tuple(window_size)
            self.shifted = shifted
            self.attn = WindowAttention(dim, num_heads, self.window_size, qkv_bias=qkv_bias, proj_drop=drop,
                                        persistent_index=True)
        else:
            raise ValueError(f"unknown Agent-Swin attention type {attn_type!r} (expected 'A' or 'B')")
        self.drop_path = DropPath(drop_path) if drop_path > 0.0 else nn.Identity()
        self.norm2 = norm_layer(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), drop=drop)

    def _window_attn(self, x):
        h, w = x.shape[1:3]
        # odd blocks shift by half a window along every axis longer than the window (official rule: a map no
        # larger than the window is one window, unshifted); the map is padded to whole windows (mmdet's Swin)
        shift = tuple(ws // 2 if self.shifted and n > ws else 0 for n, ws in zip((h, w), self.window_size))
        return self.attn(pad_to_multiple(x, self.window_size), shift=shift)[:, :h, :w]

    def forward(self, x):
        y = self.norm1(x)
        y = self.attn(y) if self.attn_type == "A" else self._window_attn(y)
        x = x + self.drop_path(y)
        return x + self.drop_path(self.mlp(self.norm2(x)))


class AgentSwinStage(nn.Module):
    """Blocks, then the patch merging (official layout: ``layers.i.downsample`` ends stage i)."""

    def __init__(self, dim, depth, num_heads, attn_types, bias_grid, window_size, agent_num, agent_shape, downsample,
                 drop_path, norm_layer=nn.LayerNorm, **block_kwargs):
        super().__init__()
        self.grad_checkpointing = False
        self.blocks = nn.ModuleList([
            AgentSwinBlock(dim, num_heads, attn_types[i], bias_grid, window_size, shifted=i % 2 == 1,
                           agent_num=agent_num, agent_shape=agent_shape, drop_path=drop_path[i],
                           norm_layer=norm_layer, **block_kwargs)
            for i in range(depth)])
        self.downsample = PatchMerging(dim, 2 * dim, norm_layer=norm_layer) if downsample else nn.Identity()

    def forward_blocks(self, x):
        return _run_blocks(self.blocks, x, self.grad_checkpointing)

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


class AgentSwinTransformer(_ClassifierMixin, nn.Module):
    """Agent-Swin: Swin Transformer with agent attention in the "A" blocks (official ``AgentSwinTransformer``)."""

    def __init__(self, img_size=224, patch_size=4, in_chans=3, num_classes=1000, global_pool="avg", embed_dim=96,
                 depths=(2, 2, 6, 2), num_heads=(3, 6, 12, 24), window_size=None, mlp_ratio=4.0, qkv_bias=True,
                 drop_rate=0.0, attn_drop_rate=0.0, drop_path_rate=0.0, norm_layer=nn.LayerNorm,
                 agent_num=(9, 16, 49, 49), attn_type="AAAB", agent_shapes=None, **kwargs):
        super().__init__()
        img_size = to_2tuple(img_size)
        self.num_classes, self.global_pool, self.in_chans = num_classes, global_pool, in_chans
        self.num_layers = len(depths)
        self.embed_dim = embed_dim
        self.num_features = self.head_hidden_size = int(embed_dim * 2 ** (self.num_layers - 1))
        self.grad_checkpointing = False
        self.min_size = patch_size * 2 ** (self.num_layers - 1)
        grid = (img_size[0] // patch_size, img_size[1] // patch_size)
        # official configs: window = the stage-1 map (56 at 224, 72 at 288, 96 at 384)
        self.window_size = window_size = window_size or min(grid)
        self.patch_embed = PatchEmbed(img_size, patch_size, in_chans, embed_dim, norm_layer=norm_layer,
                                      flatten=False, output_fmt="NHWC", strict_img_size=False, dynamic_img_pad=True)
        self.pos_drop = nn.Dropout(drop_rate)
        dpr = [x.tolist() for x in torch.linspace(0, drop_path_rate, sum(depths)).split(list(depths))]
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
                downsample=i < self.num_layers - 1, drop_path=dpr[i], norm_layer=norm_layer, mlp_ratio=mlp_ratio,
                qkv_bias=qkv_bias, drop=drop_rate, attn_drop=attn_drop_rate))
            self.feature_info.append(dict(num_chs=dim, reduction=patch_size * 2 ** i, module=f"layers.{i}"))
        self.norm = norm_layer(self.num_features)
        self.head_drop = nn.Dropout(drop_rate)
        self.head = nn.Linear(self.num_features, num_classes) if num_classes > 0 else nn.Identity()
        self.apply(_init_weights)

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

    @torch.jit.ignore
    def set_grad_checkpointing(self, enable=True):
        self.grad_checkpointing = enable
        for stage in self.layers:
            stage.grad_checkpointing = enable

    def forward_features(self, x):
        check_image(x, self.in_chans, self.min_size, type(self).__name__)
        x = self.pos_drop(self.patch_embed(x))
        for stage in self.layers:
            x = stage(x)
        return self.norm(x)

    def forward_head(self, x, pre_logits: bool = False):
        if self.global_pool == "avg":
            x = x.mean(dim=(1, 2))
        x = self.head_drop(x)
        return x if pre_logits else self.head(x)

    def forward(self, x):
        return self.forward_head(self.forward_features(x))

    def forward_intermediates(self, x, indices: Optional[Union[int, List[int]]] = None, norm: bool = False,
                              stop_early: bool = False, output_fmt: str = "NCHW", intermediates_only: bool = False):
        """Stage outputs (before each stage's patch merging) as NCHW maps; ``norm`` applies the final norm to
        the last stage's map."""
        assert output_fmt in ("NCHW",), "Output shape must be NCHW."
        check_image(x, self.in_chans, self.min_size, type(self).__name__)
        intermediates = []
        take_indices, max_index = feature_take_indices(len(self.layers), indices)
        x = self.pos_drop(self.patch_embed(x))
        num_stages = len(self.layers)
        stages = self.layers if torch.jit.is_scripting() or not stop_early else self.layers[:max_index + 1]
        last = len(stages) - 1
        for i, stage in enumerate(stages):
            x = stage.forward_blocks(x)
            if i in take_indices:
                x_inter = self.norm(x) if norm and i == num_stages - 1 else x
                intermediates.append(x_inter.permute(0, 3, 1, 2).contiguous())
            if i < last:
                x = stage.downsample(x)
        if intermediates_only:
            return intermediates
        if last == num_stages - 1:
            x = self.norm(x)
        return x, intermediates

    def prune_intermediate_layers(self, indices: Union[int, List[int]] = 1, prune_norm: bool = False,
                                  prune_head: bool = True):
        take_indices, max_index = feature_take_indices(len(self.layers), indices)
        prune_end = max_index < len(self.layers) - 1
        if prune_norm or prune_end:
            self.norm = nn.Identity()
        self.layers = self.layers[:max_index + 1]
        self.layers[-1].downsample = nn.Identity()
        if prune_head:
            self.reset_classifier(0, "")
        return take_indices


# ----------------------------------------------------------------------------------------------------------
# Agent-PVT

class PvtPatchEmbed(nn.Module):
    """Strided convolution + LayerNorm (official ``PatchEmbed``: no padding, map sizes floored)."""

    def __init__(self, patch_size, in_chans, embed_dim):
        super().__init__()
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=patch_size)
        self.norm = nn.LayerNorm(embed_dim)

    def forward(self, x):
        return self.norm(self.proj(x).permute(0, 2, 3, 1))


class AgentPvtBlock(nn.Module):
    def __init__(self, dim, num_heads, grid, attn_type="A", sr_ratio=1, agent_num=49, agent_shape=None,
                 mlp_ratio=4.0, qkv_bias=True, drop=0.0, attn_drop=0.0, drop_path=0.0, norm_layer=nn.LayerNorm):
        super().__init__()
        self.norm1 = norm_layer(dim)
        if attn_type == "A":
            self.attn = PvtAgentAttention(dim, num_heads, grid, agent_num, sr_ratio, agent_shape, qkv_bias=qkv_bias,
                                          attn_drop=attn_drop, proj_drop=drop)
        elif attn_type == "B":
            self.attn = PvtAttention(dim, num_heads, sr_ratio, qkv_bias=qkv_bias, attn_drop=attn_drop, proj_drop=drop)
        else:
            raise ValueError(f"unknown Agent-PVT attention type {attn_type!r} (expected 'A' or 'B')")
        self.drop_path = DropPath(drop_path) if drop_path > 0.0 else nn.Identity()
        self.norm2 = norm_layer(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), drop=drop)

    def forward(self, x):
        x = x + self.drop_path(self.attn(self.norm1(x)))
        return x + self.drop_path(self.mlp(self.norm2(x)))


class AgentPyramidVisionTransformer(_ClassifierMixin, nn.Module):
    """Agent-PVT: PVT (v1) with agent attention (official ``PyramidVisionTransformer`` of ``agent_pvt.py``; it has
    no final norm: the head reads the mean of the last stage's tokens)."""

    def __init__(self, img_size=224, patch_size=4, in_chans=3, num_classes=1000, global_pool="avg",
                 embed_dims=(64, 128, 320, 512), num_heads=(1, 2, 5, 8), mlp_ratios=(8, 8, 4, 4), qkv_bias=True,
                 drop_rate=0.0, attn_drop_rate=0.0, drop_path_rate=0.0, norm_layer=partial(nn.LayerNorm, eps=1e-6),
                 depths=(2, 2, 2, 2), sr_ratios=(8, 4, 2, 1), agent_sr_ratios="1111", agent_num=(9, 16, 49, 49),
                 attn_type="AAAA", agent_shapes=None, **kwargs):
        super().__init__()
        img_size = to_2tuple(img_size)
        self.num_classes, self.global_pool, self.in_chans = num_classes, global_pool, in_chans
        self.num_stages = len(depths)
        self.num_features = self.head_hidden_size = embed_dims[-1]
        self.grad_checkpointing = False
        self.min_size = patch_size * 2 ** (self.num_stages - 1)
        dpr = [x.tolist() for x in torch.linspace(0, drop_path_rate, sum(depths)).split(list(depths))]
        agent_shapes = agent_shapes or [None] * self.num_stages
        self.grids, self.feature_info = [], []
        grid = (img_size[0] // patch_size, img_size[1] // patch_size)
        for i in range(self.num_stages):
            if i > 0:
                grid = (grid[0] // 2, grid[1] // 2)
            self.grids.append(grid)
            setattr(self, f"patch_embed{i + 1}", PvtPatchEmbed(patch_size if i == 0 else 2,
                                                               in_chans if i == 0 else embed_dims[i - 1],
                                                               embed_dims[i]))
            pos_embed = nn.Parameter(torch.zeros(1, grid[0] * grid[1], embed_dims[i]))
            trunc_normal_(pos_embed, std=0.02)
            setattr(self, f"pos_embed{i + 1}", pos_embed)
            setattr(self, f"pos_drop{i + 1}", nn.Dropout(drop_rate))
            sr = sr_ratios[i] if attn_type[i] == "B" else int(agent_sr_ratios[i])
            setattr(self, f"block{i + 1}", nn.ModuleList([
                AgentPvtBlock(embed_dims[i], num_heads[i], grid, attn_type[i], sr, int(agent_num[i]),
                              to_2tuple(agent_shapes[i]) if agent_shapes[i] else None, mlp_ratios[i], qkv_bias,
                              drop_rate, attn_drop_rate, dpr[i][j], norm_layer)
                for j in range(depths[i])]))
            self.feature_info.append(dict(num_chs=embed_dims[i], reduction=patch_size * 2 ** i,
                                          module=f"block{i + 1}"))
        self.head_drop = nn.Dropout(drop_rate)
        self.head = nn.Linear(self.num_features, num_classes) if num_classes > 0 else nn.Identity()
        self.apply(_init_weights)

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

    @torch.jit.ignore
    def set_grad_checkpointing(self, enable=True):
        self.grad_checkpointing = enable

    def _stage(self, i, x):
        """Stage i on an NCHW (i = 0) or NHWC map; returns NHWC."""
        x = getattr(self, f"patch_embed{i + 1}")(x if i == 0 else x.permute(0, 3, 1, 2))
        pos = getattr(self, f"pos_embed{i + 1}")
        size, grid = tuple(x.shape[1:3]), self.grids[i]
        pos = pos.reshape(1, grid[0], grid[1], -1)
        if size != tuple(grid):  # official detection backbone: bilinear resampling to the map
            pos = _resize(pos.permute(0, 3, 1, 2), size).permute(0, 2, 3, 1)
        x = getattr(self, f"pos_drop{i + 1}")(x + pos)
        return _run_blocks(getattr(self, f"block{i + 1}"), x, self.grad_checkpointing)

    def forward_features(self, x):
        check_image(x, self.in_chans, self.min_size, type(self).__name__)
        for i in range(self.num_stages):
            x = self._stage(i, x)
        return x

    def forward_head(self, x, pre_logits: bool = False):
        if self.global_pool == "avg":
            x = x.mean(dim=(1, 2))
        x = self.head_drop(x)
        return x if pre_logits else self.head(x)

    def forward(self, x):
        return self.forward_head(self.forward_features(x))

    def forward_intermediates(self, x, indices: Optional[Union[int, List[int]]] = None, norm: bool = False,
                              stop_early: bool = False, output_fmt: str = "NCHW", intermediates_only: bool = False):
        """Stage outputs as NCHW maps (the model has no norm layer: ``norm`` changes nothing)."""
        assert output_fmt in ("NCHW",), "Output shape must be NCHW."
        check_image(x, self.in_chans, self.min_size, type(self).__name__)
        intermediates = []
        take_indices, max_index = feature_take_indices(self.num_stages, indices)
        last = max_index if stop_early and not torch.jit.is_scripting() else self.num_stages - 1
        for i in range(last + 1):
            x = self._stage(i, x)
            if i in take_indices:
                intermediates.append(x.permute(0, 3, 1, 2).contiguous())
        if intermediates_only:
            return intermediates
        return x, intermediates

    def prune_intermediate_layers(self, indices: Union[int, List[int]] = 1, prune_norm: bool = False,
                                  prune_head: bool = True):
        take_indices, max_index = feature_take_indices(self.num_stages, indices)
        for i in range(max_index + 1, self.num_stages):
            for name in (f"patch_embed{i + 1}", f"pos_embed{i + 1}", f"pos_drop{i + 1}", f"block{i + 1}"):
                delattr(self, name)
        self.num_stages = max_index + 1
        self.grids, self.feature_info = self.grids[:max_index + 1], self.feature_info[:max_index + 1]
        if prune_head:
            self.reset_classifier(0, "")
        return take_indices


# ----------------------------------------------------------------------------------------------------------
# Agent-DeiT

class AgentDeitBlock(nn.Module):
    def __init__(self, dim, num_heads, grid, agent_num=49, mlp_ratio=4.0, qkv_bias=True, drop=0.0, attn_drop=0.0,
                 drop_path=0.0, norm_layer=nn.LayerNorm):
        super().__init__()
        self.norm1 = norm_layer(dim)
        self.attn = DeitAgentAttention(dim, num_heads, grid, agent_num, qkv_bias=qkv_bias, attn_drop=attn_drop,
                                       proj_drop=drop)
        self.drop_path = DropPath(drop_path) if drop_path > 0.0 else nn.Identity()
        self.norm2 = norm_layer(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), drop=drop)

    def forward(self, x, grid):
        x = x + self.drop_path(self.attn(self.norm1(x), grid))
        return x + self.drop_path(self.mlp(self.norm2(x)))


class _PlainBlock(VitBlock):
    """DeiT's softmax-attention block (timm's ViT block) taking the grid argument the agent blocks need."""

    def forward(self, x, grid=None):
        return super().forward(x)


class AgentDeiT(_ClassifierMixin, nn.Module):
    """Agent-DeiT: DeiT with agent attention in its first ``agent_layer`` blocks (official ``agent_deit.py``)."""

    def __init__(self, img_size=224, patch_size=16, in_chans=3, num_classes=1000, global_pool="token",
                 embed_dim=768, depth=12, num_heads=12, mlp_ratio=4.0, qkv_bias=True, drop_rate=0.0,
                 attn_drop_rate=0.0, drop_path_rate=0.0, agent_num=(49, 49, 49, 49), agent_layer=-1,
                 feature_blocks=None, **kwargs):
        super().__init__()
        norm_layer = partial(nn.LayerNorm, eps=1e-6)
        self.num_classes, self.global_pool, self.in_chans = num_classes, global_pool, in_chans
        self.num_features = self.head_hidden_size = self.embed_dim = embed_dim
        self.num_prefix_tokens = 1
        self.grad_checkpointing = False
        self.min_size = patch_size
        self.patch_embed = PatchEmbed(img_size, patch_size, in_chans, embed_dim, strict_img_size=False,
                                      dynamic_img_pad=True)
        grid = self.patch_embed.grid_size
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, grid[0] * grid[1] + 1, embed_dim))
        self.pos_drop = nn.Dropout(drop_rate)
        agent_layer = agent_layer if agent_layer > 0 else depth
        stage_of = {0: 0, 1: 1, 2: 2, 3: 2, 4: 2, 5: 3}  # official agent-number index of block pair i // 2
        dpr = torch.linspace(0, drop_path_rate, depth).tolist()
        self.blocks = nn.Sequential(*[
            AgentDeitBlock(embed_dim, num_heads, grid, int(agent_num[stage_of.get(i // 2, 3)]), mlp_ratio, qkv_bias,
                           drop_rate, attn_drop_rate, dpr[i], norm_layer) if i < agent_layer else
            _PlainBlock(embed_dim, num_heads, mlp_ratio, qkv_bias=qkv_bias, proj_drop=drop_rate,
                        attn_drop=attn_drop_rate, drop_path=dpr[i], norm_layer=norm_layer)
            for i in range(depth)])
        self.norm = norm_layer(embed_dim)
        self.head_drop = nn.Dropout(drop_rate)
        self.head = nn.Linear(embed_dim, num_classes) if num_classes > 0 else nn.Identity()
        # dense features: four evenly spaced blocks, resampled to strides 4, 8, 16, 32
        self.feature_blocks = list(feature_blocks or [(i + 1) * depth // 4 - 1 for i in range(4)])
        reduction = self.patch_embed.patch_size[0]
        self.feature_info = [dict(num_chs=embed_dim, reduction=r, module=f"blocks.{b}")
                             for b, r in zip(self.feature_blocks, (reduction // 4, reduction // 2, reduction,
                                                                   reduction * 2))]
        trunc_normal_(self.pos_embed, std=0.02)
        trunc_normal_(self.cls_token, std=0.02)
        self.apply(_init_weights)

    @torch.jit.ignore
    def no_weight_decay(self):
        return {"pos_embed", "cls_token"}

    @torch.jit.ignore
    def group_matcher(self, coarse=False):
        return dict(stem=r"^cls_token|pos_embed|patch_embed", blocks=[(r"^blocks\.(\d+)", None), (r"^norm", (99999,))])

    @torch.jit.ignore
    def set_grad_checkpointing(self, enable=True):
        self.grad_checkpointing = enable

    def _tokens(self, x):
        """Patch embedding (image padded to whole patches), class token and position embedding (resampled to
        the grid when it differs from the trained one); returns tokens and the (h, w) grid."""
        ph, pw = self.patch_embed.patch_size
        grid = (math.ceil(x.shape[-2] / ph), math.ceil(x.shape[-1] / pw))
        x = self.patch_embed(x)
        pos = self.pos_embed
        if grid != tuple(self.patch_embed.grid_size):
            pos = resample_abs_pos_embed(pos, list(grid), list(self.patch_embed.grid_size), num_prefix_tokens=1)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1)
        return self.pos_drop(x + pos), grid

    def forward_features(self, x):
        check_image(x, self.in_chans, self.min_size, type(self).__name__)
        x, grid = self._tokens(x)
        x = _run_blocks(self.blocks, x, self.grad_checkpointing, grid)
        return self.norm(x)

    def forward_head(self, x, pre_logits: bool = False):
        if self.global_pool == "avg":
            x = x[:, self.num_prefix_tokens:].mean(dim=1)
        elif self.global_pool:
            x = x[:, 0]
        x = self.head_drop(x)
        return x if pre_logits else self.head(x)

    def forward(self, x):
        return self.forward_head(self.forward_features(x))

    def _level(self, tokens, grid, level, size):
        """Patch tokens of one block as the NCHW map of level 0..3 (strides 4, 8, 16, 32), cropped to the image."""
        x = tokens[:, self.num_prefix_tokens:].transpose(1, 2).reshape(tokens.shape[0], -1, grid[0], grid[1])
        if level < 2:
            x = F.interpolate(x, scale_factor=4 // 2 ** level, mode="bilinear", align_corners=False)
        elif level == 3:
            x = F.max_pool2d(x, kernel_size=2, stride=2, ceil_mode=True)
        stride = self.feature_info[level]["reduction"]
        return x[:, :, :math.ceil(size[0] / stride), :math.ceil(size[1] / stride)].contiguous()

    def forward_intermediates(self, x, indices: Optional[Union[int, List[int]]] = None, norm: bool = False,
                              stop_early: bool = False, output_fmt: str = "NCHW", intermediates_only: bool = False):
        """Four levels from blocks ``feature_blocks`` (indices pick levels), resampled without parameters to
        strides 4, 8, 16, 32; ``norm`` applies the final norm to them."""
        assert output_fmt in ("NCHW",), "Output shape must be NCHW."
        check_image(x, self.in_chans, self.min_size, type(self).__name__)
        size = tuple(x.shape[-2:])
        take_indices, max_index = feature_take_indices(len(self.feature_blocks), indices)
        wanted = {self.feature_blocks[i]: i for i in take_indices}
        x, grid = self._tokens(x)
        blocks = self.blocks
        if stop_early and not torch.jit.is_scripting():
            blocks = self.blocks[:self.feature_blocks[max_index] + 1]
        intermediates = {}
        for j, blk in enumerate(blocks):
            x = _run_blocks([blk], x, self.grad_checkpointing, grid)
            if j in wanted:
                intermediates[wanted[j]] = self._level(self.norm(x) if norm else x, grid, wanted[j], size)
        intermediates = [intermediates[i] for i in take_indices]
        if intermediates_only:
            return intermediates
        return self.norm(x), intermediates

    def prune_intermediate_layers(self, indices: Union[int, List[int]] = 1, prune_norm: bool = False,
                                  prune_head: bool = True):
        take_indices, max_index = feature_take_indices(len(self.feature_blocks), indices)
        self.blocks = self.blocks[:self.feature_blocks[max_index] + 1]
        if prune_norm:
            self.norm = nn.Identity()
        if prune_head:
            self.reset_classifier(0, "")
        return take_indices


# ----------------------------------------------------------------------------------------------------------
# registration

_TSINGHUA = "https://cloud.tsinghua.edu.cn/f/{}/?dl=1"


def _cfg(link, file_name, first_conv, **kwargs):
    # Official files live on Tsinghua Cloud behind share links whose path names no file, and they are training
    # checkpoints (yacs config inside): timm's custom_load path downloads them under an explicit file name and
    # calls the model's load_pretrained (read without yacs, converted by checkpoint_filter_fn).
    return {
        "url": (_TSINGHUA.format(link), file_name), "custom_load": True,
        "num_classes": 1000, "input_size": (3, 224, 224), "pool_size": None, "fixed_input_size": True,
        "crop_pct": 0.875, "interpolation": "bicubic", "mean": IMAGENET_DEFAULT_MEAN, "std": IMAGENET_DEFAULT_STD,
        "first_conv": first_conv, "classifier": "head", "license": "unknown",
        "paper_ids": "arXiv:2312.08874", "paper_name": "Agent Attention: On the Integration of Softmax and Linear "
                                                     "Attention", "origin_url": "https://github.com/LeapLabTHU/Agent-Attention",
        **kwargs,
    }


_swin = partial(_cfg, first_conv="patch_embed.proj", pool_size=(7, 7))
_pvt = partial(_cfg, first_conv="patch_embed1.proj", pool_size=(7, 7))
_deit = partial(_cfg, first_conv="patch_embed.proj")

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
