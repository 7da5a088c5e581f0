"""TransNeXt: Robust Foveal Visual Perception for Vision Transformers (Dai Shi, CVPR 2024).

Paper: https://arxiv.org/abs/2311.17132 -- official code: https://github.com/DaiShiResearch/TransNeXt (Apache-2.0).

Four stages of overlapping patch embeddings, blocks of (attention, convolutional GLU) and a per-stage
LayerNorm. The first three stages use *aggregated attention*: every query attends, in one softmax, to

- its 3x3 neighbourhood (pixel-focused part): keys outside the image are masked, a learnable (heads, 3 x 3)
  relative position bias is added; ``visionattn.ops.neighborhood_scores`` / ``neighborhood_aggregate`` with
  ``border="mask"`` compute it;
- the tokens of an adaptively average-pooled copy of the map (``sr`` 1x1 conv, GELU, pool to
  (H // sr_ratio, W // sr_ratio), LayerNorm), shifted by a continuous position bias that an MLP (``cpb_fc1``,
  ``cpb_fc2``) computes from log-spaced query-key offsets; plain matmuls compute it.

Queries and keys are L2-normalised; queries get a learnable ``query_embedding`` and are scaled by
``softplus(temperature) * log(number of keys the query sees)`` (length-scaled cosine attention). After the
softmax, the local weights get the query-dependent learnable-token term ``q_norm @ learnable_tokens +
learnable_bias`` before they weight the local values. The last stage uses full attention with the same
cosine scaling and continuous position bias (``torch.nn.functional.scaled_dot_product_attention``).

Any input size: position coordinates, pool sizes and masks are built for the actual map of each stage (the
official detection / segmentation backbones' ``is_extrapolation`` mode), with the coordinates scaled by the
pre-training size (``pretrain_size``, 224 for every official release). At the default 224 x 224 this is
exactly the official classification model. Parameter names inside the blocks are the official ones; the
official layout (``patch_embed{i}``, ``block{i}.{j}``, ``norm{i}``) is converted by ``checkpoint_filter_fn``.
"""
import functools
import math
import re
from typing import List, NamedTuple, Optional, Tuple, Union

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint
from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD
from timm.layers import DropPath, to_2tuple, trunc_normal_
from timm.models import generate_default_cfgs, register_model
from timm.models._features import feature_take_indices

from visionattn import ops

from ._builder import build, check_image, unwrap_checkpoint

__all__ = ["TransNeXt"]


# ----------------------------------------------------------------------------------------------------------
# geometry of one stage, built for the actual map size (cached per size in eager mode)

class StageGeometry(NamedTuple):
    pool_size: Tuple[int, int]      # pooled key map (pool_h, pool_w); the map itself in full-attention stages
    coords: torch.Tensor            # (Th, Tw, 2) log-spaced (dy, dx) offsets: every distinct dy with every distinct dx
    index_h: torch.Tensor           # (H, pool_h) place of each (query row, key row) offset among the Th values
    index_w: torch.Tensor           # (W, pool_w) place of each (query col, key col) offset among the Tw values
    seq_scale: torch.Tensor         # (H, W, 1, 1) or (): log(number of keys each query sees)


def _axis_offsets(query_len, key_len, pretrain_len):
    """Distinct query-key offsets along one axis (sorted) and each pair's place among them. Keys sit at the
    centres of the adaptive-average-pooling bins; offsets are measured in units of (pretrain_len - 1) / 8.
    Derived from the lengths alone (no torch.unique, whose output size depends on values), so torch.compile
    and torch.export trace it with static shapes."""
    n, m = query_len, key_len
    # pooling bin j covers [floor(j n / m), ceil((j + 1) n / m)); twice its centre is an integer
    centre2 = [(j * n) // m + -(-(j + 1) * n // m) - 1 for j in range(m)]
    # twice the offsets, 2 i - centre2[j]: for the centres of one parity they fill one step-2 range without
    # holes (each centre's range spans 2 (n - 1), and all centres lie within [0, 2 (n - 1)])
    ranges = []
    for parity in (0, 1):
        same = [c for c in centre2 if c % 2 == parity]
        if same:
            ranges.append(torch.arange(-max(same), 2 * (n - 1) - min(same) + 1, 2))
    distinct2 = torch.cat(ranges).sort().values
    # place of each pair's offset among the distinct ones, read from a table over the whole offset range
    lo = -max(centre2)
    place = torch.zeros(2 * (n - 1) - min(centre2) - lo + 1, dtype=torch.int64)
    place[distinct2 - lo] = torch.arange(distinct2.numel())
    index = place[2 * torch.arange(n)[:, None] - torch.tensor(centre2)[None, :] - lo]
    # the same float32 arithmetic as on the pooled coordinates themselves (they are exact half-integers)
    values = distinct2.to(torch.float32) / 2 / (pretrain_len - 1) * 8
    return values, index


def _geometry(size, pool_size, pretrain_size, window, device):
    (h, w), (ph, pw) = size, pool_size
    vh, index_h = _axis_offsets(h, ph, pretrain_size[0])
    vw, index_w = _axis_offsets(w, pw, pretrain_size[1])
    # the distinct (dy, dx) offsets of a map are all pairs of a distinct dy and a distinct dx
    coords = torch.stack(torch.meshgrid(vh, vw, indexing="ij"), dim=-1)
    coords = torch.sign(coords) * torch.log2(coords.abs() + 1.0) / torch.log2(torch.tensor(8.0))
    num_pool = ph * pw
    if window:
        # keys each query sees: the in-image slots of its window plus every pooled token
        r = window // 2

        def in_image(n):
            i = torch.arange(n)[:, None] + torch.arange(-r, r + 1)[None, :]
            return ((i >= 0) & (i < n)).sum(1)

        local = (in_image(h)[:, None] * in_image(w)[None, :]).to(torch.float32)
        seq_scale = torch.log(local + num_pool)[:, :, None, None]
    else:
        seq_scale = torch.log(torch.tensor(float(num_pool)))
    return StageGeometry((ph, pw), coords.to(device), index_h.to(device), index_w.to(device), seq_scale.to(device))


_cached_geometry = functools.lru_cache(maxsize=128)(_geometry)


def stage_geometry(size, pool_size, pretrain_size, window, device):
    """The stage's geometry for a map of ``size``. Eagerly: built once per size on the CPU, then cached on
    ``device``. Under torch.compile / torch.export: traced into the graph from the static sizes (constants
    there; a cache filled while tracing would hold fake tensors)."""
    args = (tuple(size), tuple(pool_size), tuple(pretrain_size), window, device)
    if torch.compiler.is_compiling():
        return _geometry(*args)
    return _cached_geometry(*args)


def continuous_position_bias(fc1, act, fc2, geometry, num_heads):
    """(heads, H * W, pool_h * pool_w): the cpb MLP over the distinct offsets, read for every query-key pair."""
    table = fc2(act(fc1(geometry.coords.to(fc1.weight.dtype)))).permute(2, 0, 1)       # (heads, Th, Tw)
    bias = table[:, geometry.index_h[:, None, :, None], geometry.index_w[None, :, None, :]]  # (heads, H, W, ph, pw)
    h, w = geometry.index_h.shape[0], geometry.index_w.shape[0]
    return bias.reshape(num_heads, h * w, geometry.pool_size[0] * geometry.pool_size[1])


# ----------------------------------------------------------------------------------------------------------
# layers (maps are (B, H, W, C) between layers)

def _temperature_init(num_heads):
    """softplus(temperature) starts at 1 / 0.24."""
    return torch.log(torch.expm1(torch.full((num_heads, 1, 1), 1 / 0.24)))


class AggregatedAttention(nn.Module):
    """Pixel-focused 3x3 neighbourhood + pooled tokens in one softmax, then the learnable-token term."""

    def __init__(self, dim, num_heads=8, window_size=3, sr_ratio=8, qkv_bias=True, attn_drop=0., proj_drop=0.):
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"dim {dim} must be divisible by num_heads {num_heads}")
        if window_size % 2 == 0:
            raise ValueError(f"window_size must be odd, got {window_size}")
        self.dim, self.num_heads, self.head_dim = dim, num_heads, dim // num_heads
        self.window_size, self.sr_ratio = window_size, sr_ratio
        self.local_len = window_size ** 2

        self.temperature = nn.Parameter(_temperature_init(num_heads))
        self.q = nn.Linear(dim, dim, bias=qkv_bias)
        self.query_embedding = nn.Parameter(trunc_normal_(torch.empty(num_heads, 1, self.head_dim), std=0.02))
        self.kv = nn.Linear(dim, dim * 2, bias=qkv_bias)
        self.attn_drop = nn.Dropout(attn_drop)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)

        # pooled features
        self.sr = nn.Conv2d(dim, dim, kernel_size=1)
        self.norm = nn.LayerNorm(dim)
        self.act = nn.GELU()

        # continuous relative position bias of the pooled keys
        self.cpb_fc1 = nn.Linear(2, 512)
        self.cpb_act = nn.ReLU()
        self.cpb_fc2 = nn.Linear(512, num_heads)

        # relative position bias of the window slots; learnable tokens and bias of the post-softmax term
        self.relative_pos_bias_local = nn.Parameter(trunc_normal_(torch.empty(num_heads, self.local_len), std=4e-4))
        self.learnable_tokens = nn.Parameter(
            trunc_normal_(torch.empty(num_heads, self.head_dim, self.local_len), std=0.02))
        self.learnable_bias = nn.Parameter(torch.zeros(num_heads, 1, self.local_len))

    def local_bias_table(self):
        """The (heads, k * k) slot bias as the ops' (heads, 2k - 1, 2k - 1) offset table (only its centre is read)."""
        k, r = self.window_size, self.window_size // 2
        return F.pad(self.relative_pos_bias_local.view(self.num_heads, k, k), (r, r, r, r))

    def forward(self, x, geometry: StageGeometry):
        b, h, w, c = x.shape
        nh, hd, n = self.num_heads, self.head_dim, h * w
        ph, pw = geometry.pool_size
        num_pool = ph * pw

        # cosine attention: L2-normalised queries (+ query embedding) scaled by temperature and log(keys seen)
        q_norm = F.normalize(self.q(x).view(b, h, w, nh, hd), dim=-1)
        q_scaled = ((q_norm + self.query_embedding.view(nh, hd)) * F.softplus(self.temperature).view(nh, 1)
                    * geometry.seq_scale.to(x.dtype))
        k, v = self.kv(x).view(b, h, w, 2, nh, hd).unbind(3)
        k = F.normalize(k, dim=-1)
        q_scaled = q_scaled.to(k.dtype)  # one dtype for the ops (the parameters may be wider under autocast)

        # local part: 3x3 window, out-of-image slots masked
        attn_local = ops.neighborhood_scores(q_scaled, k, self.window_size, border="mask",
                                             bias=self.local_bias_table(), scale=1.0)      # (B, H, W, nh, k*k)

        # pooled part
        x_ = self.act(self.sr(x.permute(0, 3, 1, 2)))
        x_ = self.norm(F.adaptive_avg_pool2d(x_, (ph, pw)).flatten(2).transpose(1, 2))   # (B, P, C)
        k_pool, v_pool = self.kv(x_).view(b, num_pool, 2, nh, hd).permute(2, 0, 3, 1, 4).unbind(0)  # (B, nh, P, hd)
        pool_bias = continuous_position_bias(self.cpb_fc1, self.cpb_act, self.cpb_fc2, geometry, nh)
        q_t = q_scaled.view(b, n, nh, hd).transpose(1, 2)                                 # (B, nh, N, hd)
        attn_pool = q_t @ F.normalize(k_pool, dim=-1).transpose(-2, -1) + pool_bias       # (B, nh, N, P)

        # one softmax over both parts
        attn_local = attn_local.view(b, n, nh, self.local_len).transpose(1, 2)
        attn = torch.cat([attn_local, attn_pool], dim=-1).softmax(dim=-1)
        attn = self.attn_drop(attn)
        attn_local, attn_pool = attn.split([self.local_len, num_pool], dim=-1)

        # post-softmax learnable-token term on the local weights, then the two aggregates
        q_norm_t = q_norm.view(b, n, nh, hd).transpose(1, 2)
        weights = q_norm_t @ self.learnable_tokens + self.learnable_bias + attn_local     # (B, nh, N, k*k)
        weights = weights.transpose(1, 2).reshape(b, h, w, nh, self.local_len).to(v.dtype)
        x_local = ops.neighborhood_aggregate(weights, v, self.window_size, border="mask")  # (B, H, W, nh, hd)
        x_pool = (attn_pool @ v_pool).transpose(1, 2).reshape(b, h, w, nh, hd)
        x = (x_local + x_pool).reshape(b, h, w, c)
        return self.proj_drop(self.proj(x))


class Attention(nn.Module):
    """Full attention of the last stage: length-scaled cosine attention with the continuous position bias."""

    def __init__(self, dim, num_heads=8, qkv_bias=True, attn_drop=0., proj_drop=0.):
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"dim {dim} must be divisible by num_heads {num_heads}")
        self.dim, self.num_heads, self.head_dim = dim, num_heads, dim // num_heads
        self.temperature = nn.Parameter(_temperature_init(num_heads))
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.query_embedding = nn.Parameter(trunc_normal_(torch.empty(num_heads, 1, self.head_dim), std=0.02))
        self.attn_drop = attn_drop
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)
        self.cpb_fc1 = nn.Linear(2, 512)
        self.cpb_act = nn.ReLU()
        self.cpb_fc2 = nn.Linear(512, num_heads)

    def forward(self, x, geometry: StageGeometry):
        b, h, w, c = x.shape
        nh, hd, n = self.num_heads, self.head_dim, h * w
        q, k, v = self.qkv(x).view(b, n, 3, nh, hd).permute(2, 0, 3, 1, 4).unbind(0)    # (B, nh, N, hd)
        q = ((F.normalize(q, dim=-1) + self.query_embedding) * F.softplus(self.temperature)
             * geometry.seq_scale.to(x.dtype))
        k = F.normalize(k, dim=-1)
        bias = continuous_position_bias(self.cpb_fc1, self.cpb_act, self.cpb_fc2, geometry, nh).to(q.dtype)
        x = F.scaled_dot_product_attention(q, k, v, attn_mask=bias[None],
                                           dropout_p=self.attn_drop if self.training else 0.0, scale=1.0)
        x = x.transpose(1, 2).reshape(b, h, w, c)
        return self.proj_drop(self.proj(x))


class DWConv(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, kernel_size=3, padding=1, groups=dim)

    def forward(self, x):
        return self.dwconv(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)


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
                 attn_drop=0., drop_path=0., act_layer=nn.GELU, norm_layer=nn.LayerNorm):
        super().__init__()
        self.norm1 = norm_layer(dim)
        if sr_ratio == 1:
            self.attn = Attention(dim, num_heads, qkv_bias=qkv_bias, attn_drop=attn_drop, proj_drop=proj_drop)
        else:
            self.attn = AggregatedAttention(dim, num_heads, window_size=window_size, sr_ratio=sr_ratio,
                                            qkv_bias=qkv_bias, attn_drop=attn_drop, proj_drop=proj_drop)
        self.norm2 = norm_layer(dim)
        self.mlp = ConvolutionalGLU(dim, int(dim * mlp_ratio), act_layer=act_layer, drop=proj_drop)
        self.drop_path = DropPath(drop_path) if drop_path > 0. else nn.Identity()

    def forward(self, x, geometry: StageGeometry):
        x = x + self.drop_path(self.attn(self.norm1(x), geometry))
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
    def __init__(self, dim_in, dim, depth, num_heads, window_size, sr_ratio, mlp_ratio, pretrain_size,
                 fixed_pool_size=None, downsample=True, qkv_bias=True, proj_drop=0., attn_drop=0., drop_path=0.,
                 norm_layer=nn.LayerNorm):
        super().__init__()
        self.grad_checkpointing = False
        self.sr_ratio = sr_ratio
        self.window_size = window_size if sr_ratio > 1 else None
        self.fixed_pool_size = fixed_pool_size if sr_ratio > 1 else None
        self.pretrain_size = pretrain_size   # the pre-training map size of this stage (scales the offsets)
        self.downsample = OverlapPatchEmbed(3, 2, dim_in, dim) if downsample else nn.Identity()
        drop_path = drop_path if isinstance(drop_path, (list, tuple)) else [drop_path] * depth
        self.blocks = nn.ModuleList([
            Block(dim, num_heads, window_size=window_size, sr_ratio=sr_ratio, mlp_ratio=mlp_ratio,
                  qkv_bias=qkv_bias, proj_drop=proj_drop, attn_drop=attn_drop, drop_path=drop_path[j],
                  norm_layer=norm_layer)
            for j in range(depth)])
        self.norm = norm_layer(dim)

    def pool_size(self, h, w):
        if self.sr_ratio == 1:
            return h, w
        if self.fixed_pool_size is not None:
            return self.fixed_pool_size, self.fixed_pool_size
        return h // self.sr_ratio, w // self.sr_ratio

    def forward(self, x):
        if not isinstance(self.downsample, nn.Identity):
            x = self.downsample(x.permute(0, 3, 1, 2))
        h, w = x.shape[1:3]
        geometry = stage_geometry((h, w), self.pool_size(h, w), self.pretrain_size, self.window_size, x.device)
        for blk in self.blocks:
            if self.grad_checkpointing and not torch.jit.is_scripting():
                x = checkpoint(blk, x, geometry, use_reentrant=False)
            else:
                x = blk(x, geometry)
        return self.norm(x)


# ----------------------------------------------------------------------------------------------------------
# model

class TransNeXt(nn.Module):
    """TransNeXt. ``pretrain_size``: the image size of the ImageNet pre-training (224 for every official
    release, also the 384 fine-tunes); it scales the position-bias offsets so the cpb MLP extrapolates to other
    sizes. ``fixed_pool_size``: the official "linear inference mode" (pool every aggregated-attention stage to
    this size instead of H / sr_ratio)."""

    def __init__(self, in_chans=3, num_classes=1000, global_pool="avg", depths=(2, 2, 15, 2),
                 embed_dims=(48, 96, 192, 384), num_heads=(2, 4, 8, 16), mlp_ratios=(8, 8, 4, 4),
                 sr_ratios=(8, 4, 2, 1), window_size=(3, 3, 3, None), patch_size=4, qkv_bias=True,
                 pretrain_size=224, fixed_pool_size=None, drop_rate=0., proj_drop_rate=0., attn_drop_rate=0.,
                 drop_path_rate=0., norm_layer=None):
        super().__init__()
        if global_pool not in ("avg", ""):
            raise ValueError(f"global_pool must be 'avg' or '', got {global_pool!r}")
        norm_layer = norm_layer or functools.partial(nn.LayerNorm, eps=1e-6)
        num_stages = len(depths)
        self.num_classes, self.in_chans, self.global_pool = num_classes, in_chans, global_pool
        self.depths, self.sr_ratios, self.fixed_pool_size = tuple(depths), tuple(sr_ratios), fixed_pool_size
        self.pretrain_size = to_2tuple(pretrain_size)
        self.grad_checkpointing = False

        self.patch_embed = OverlapPatchEmbed(patch_size * 2 - 1, patch_size, in_chans, embed_dims[0])
        dpr = [x.item() for x in torch.linspace(0, drop_path_rate, sum(depths))]
        self.feature_info = []
        stages, cur = [], 0
        for i in range(num_stages):
            reduction = patch_size * 2 ** i
            stages.append(TransNeXtStage(
                embed_dims[i - 1] if i else embed_dims[0], embed_dims[i], depths[i], num_heads[i], window_size[i],
                sr_ratios[i], mlp_ratios[i], tuple(p // reduction for p in self.pretrain_size),
                fixed_pool_size=fixed_pool_size, downsample=i > 0, qkv_bias=qkv_bias, proj_drop=proj_drop_rate,
                attn_drop=attn_drop_rate, drop_path=dpr[cur:cur + depths[i]], norm_layer=norm_layer))
            cur += depths[i]
            self.feature_info.append(dict(num_chs=embed_dims[i], reduction=reduction, module=f"stages.{i}"))
        self.stages = nn.Sequential(*stages)
        self.min_size = self._min_input_size(patch_size)

        self.num_features = self.head_hidden_size = embed_dims[-1]
        self.head_drop = nn.Dropout(drop_rate)
        self.head = nn.Linear(self.num_features, num_classes) if num_classes > 0 else nn.Identity()

        for m in self.modules():
            self._init_weights(m)

    @staticmethod
    def _init_weights(m):
        if isinstance(m, nn.Linear):
            trunc_normal_(m.weight, std=.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Conv2d):
            fan_out = m.kernel_size[0] * m.kernel_size[1] * m.out_channels // m.groups
            nn.init.normal_(m.weight, 0, math.sqrt(2.0 / fan_out))
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.LayerNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)

    def _min_input_size(self, patch_size):
        """The smallest square image every stage accepts: each aggregated-attention stage needs a pooled map of
        at least 1 x 1 (H // sr_ratio >= 1), or a map larger than ``fixed_pool_size``."""
        for size in range(1, 1 << 14):
            s, ok = -(-size // patch_size), True
            for i, sr in enumerate(self.sr_ratios):
                if i:
                    s = -(-s // 2)
                if sr > 1:
                    ok &= s > self.fixed_pool_size if self.fixed_pool_size else s // sr >= 1
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

    @torch.jit.ignore
    def set_grad_checkpointing(self, enable=True):
        self.grad_checkpointing = enable
        for s in self.stages:
            s.grad_checkpointing = enable

    @torch.jit.ignore
    def get_classifier(self) -> nn.Module:
        return self.head

    def reset_classifier(self, num_classes: int, global_pool: Optional[str] = None):
        self.num_classes = num_classes
        if global_pool is not None:
            if global_pool not in ("avg", ""):
                raise ValueError(f"global_pool must be 'avg' or '', got {global_pool!r}")
            self.global_pool = global_pool
        self.head = nn.Linear(self.num_features, num_classes) if num_classes > 0 else nn.Identity()

    def forward_intermediates(
            self,
            x: torch.Tensor,
            indices: Optional[Union[int, List[int]]] = None,
            norm: bool = False,
            stop_early: bool = False,
            output_fmt: str = "NCHW",
            intermediates_only: bool = False,
    ) -> Union[List[torch.Tensor], Tuple[torch.Tensor, List[torch.Tensor]]]:
        """Forward features that returns intermediates.

        Args:
            x: Input image tensor.
            indices: Take last n stages if int, all if None, select matching indices if sequence.
            norm: Kept for the timm API; every stage output is already normalised by its own stage norm.
            stop_early: Stop iterating over stages when last desired intermediate hit.
            output_fmt: Shape of intermediate feature outputs.
            intermediates_only: Only return intermediate features.

        Returns:
            List of intermediate features or tuple of (final features, intermediates).
        """
        assert output_fmt in ("NCHW",), "Output shape must be NCHW."
        check_image(x, self.in_chans, self.min_size, type(self).__name__)
        intermediates = []
        take_indices, max_index = feature_take_indices(len(self.stages), indices)

        x = self.patch_embed(x)
        if torch.jit.is_scripting() or not stop_early:  # can't slice blocks in torchscript
            stages = self.stages
        else:
            stages = self.stages[:max_index + 1]
        for i, stage in enumerate(stages):
            x = stage(x)
            if i in take_indices:
                intermediates.append(x.permute(0, 3, 1, 2).contiguous())

        if intermediates_only:
            return intermediates
        return x, intermediates

    def prune_intermediate_layers(
            self,
            indices: Union[int, List[int]] = 1,
            prune_norm: bool = False,
            prune_head: bool = True,
    ) -> List[int]:
        """Prune layers not required for specified intermediates.

        Args:
            indices: Indices of intermediate layers to keep.
            prune_norm: Kept for the timm API; the stage norms are part of the features.
            prune_head: Whether to prune the classifier head.

        Returns:
            List of indices that were kept.
        """
        take_indices, max_index = feature_take_indices(len(self.stages), indices)
        prune_end = max_index < len(self.stages) - 1
        self.stages = self.stages[:max_index + 1]  # truncate stages
        if prune_end:
            # features now end at the last kept tap, the head is sized for the final features so it goes too
            self.num_features = self.head_hidden_size = self.feature_info[max_index]["num_chs"]
        if prune_head or prune_end:
            self.reset_classifier(0, "")
        return take_indices

    def forward_features(self, x):
        """(B, C, H, W) images -> (B, H / 32, W / 32, C') normalised last-stage map."""
        check_image(x, self.in_chans, self.min_size, type(self).__name__)
        x = self.patch_embed(x)
        return self.stages(x)

    def forward_head(self, x, pre_logits: bool = False):
        if self.global_pool:
            x = x.mean(dim=(1, 2))
        x = self.head_drop(x)
        return x if pre_logits else self.head(x)

    def forward(self, x):
        return self.forward_head(self.forward_features(x))


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
    state_dict = unwrap_checkpoint(state_dict)
    out = {}
    for k, v in state_dict.items():
        if k.startswith("module."):
            k = k[len("module."):]
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
        "first_conv": "patch_embed.proj", "classifier": "head",
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
