"""BiFormer: Vision Transformer with Bi-Level Routing Attention (Zhu et al., CVPR 2023).

Paper: https://arxiv.org/abs/2303.08810 -- official code and weights: https://github.com/rayleizhu/BiFormer (MIT).

The architecture, parameter names and checkpoint layout follow the official ``models/biformer.py`` with the
legacy bi-level routing attention (``ops/bra_legacy.py``) its released checkpoints were trained with:

- stem: two 3x3 stride-2 convs (BN, GELU between them); downsampling: one 3x3 stride-2 conv + BN;
- blocks: x + dwconv3x3(x) (per-block conv position embedding), then pre-norm (LayerNorm, eps 1e-6)
  attention and MLP (Linear, GELU, Linear) residuals, on (B, H, W, C) maps;
- stages 1-3 use bi-level routing attention (BRA), with ``n_win`` x ``n_win`` regions per map and top-k
  ``topks[i]`` routed regions per query region (1, 4, 16 in the releases):

  1. q, k, v = one Linear of the (padded) map; q and k have ``qk_dim`` channels (= dim in the releases);
  2. region-level routing: region means of q and k, scores = (scale * q_r) @ k_r^T, top-k key regions per
     query region (no gradient through the routing, and the routing weights are not applied to k / v,
     exactly as the released configuration: ``diff_routing=False, soft_routing=False``);
  3. token-to-token attention of each region's queries over the tokens of its routed regions, through
     ``visionattn.ops.routed_attention``, with heads = qk_dim // head_dim and the official scale
     ``qk_dim ** -0.5`` (of the whole qk dim, not of a head's: a quirk of the official code, kept so the
     released weights compute the function they were trained as);
  4. + LePE (5x5 depthwise conv of v), then the output Linear ``wo``;
- stage 4 (topk -2): plain multi-head attention (8 heads, scale head_dim ** -0.5, no qkv bias) through
  ``torch.nn.functional.scaled_dot_product_attention``, + LePE, which in the official ``AttentionLePE``
  is a 5x5 depthwise conv of the attention's *input* (not of v), then ``proj``;
- final BatchNorm2d, global average pool, Linear head.

Dense use (any input size): before the qkv projection each BRA pads its normalised input map with zeros
at the bottom / right to a multiple of ``n_win`` (the official ``auto_pad=True`` of the detection /
segmentation backbones: the padded tokens are projected like the others, take part in the region means
and are attended to), and crops the output back after ``wo``. At sizes that are multiples of ``n_win``
(224 classification: 56, 28, 14) this is the identity. ``n_win`` is a constructor option (the official
detection configs use 16, segmentation 8). When ``n_win ** 2`` is smaller than a stage's top-k, the top-k
is clamped to the region count. The per-level output norms of the official dense backbones are not part
of this (classification) model.
"""
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
import torch.utils.checkpoint
from torch import nn

from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD
from timm.layers import DropPath, trunc_normal_
from timm.models import generate_default_cfgs, register_model
from timm.models._builder import load_pretrained as _timm_load_pretrained
from timm.models._features import feature_take_indices  # _builder.feature_take_indices imports a name timm.layers lacks

from visionattn import ops
from visionattn.models import _builder

__all__ = ["BiFormer", "BiLevelRoutingAttention", "AttentionLePE", "Block", "checkpoint_filter_fn"]

MIN_INPUT_SIZE = 32


class QKVLinear(nn.Module):
    """One Linear giving q (qk_dim), k (qk_dim) and v (dim); the official module, kept for its key names
    (``attn.qkv.qkv.weight``)."""

    def __init__(self, dim: int, qk_dim: int, bias: bool = True):
        super().__init__()
        self.dim, self.qk_dim = dim, qk_dim
        self.qkv = nn.Linear(dim, 2 * qk_dim + dim, bias=bias)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return self.qkv(x).split([self.qk_dim, self.qk_dim, self.dim], dim=-1)


class BiLevelRoutingAttention(nn.Module):
    """Bi-level routing attention on (B, H, W, C) maps (see the module docstring)."""

    def __init__(self, dim: int, num_heads: int, n_win: int = 7, qk_dim: Optional[int] = None,
                 qk_scale: Optional[float] = None, topk: int = 4, side_dwconv: int = 5):
        super().__init__()
        self.dim = dim
        self.qk_dim = qk_dim or dim
        self.num_heads = num_heads
        if self.qk_dim % num_heads or dim % num_heads:
            raise ValueError(f"BiLevelRoutingAttention: qk_dim {self.qk_dim} and dim {dim} must be divisible by "
                             f"num_heads {num_heads}")
        if n_win < 1 or topk < 1:
            raise ValueError(f"BiLevelRoutingAttention: n_win and topk must be positive, got {n_win}, {topk}")
        self.n_win = n_win
        self.topk = topk
        # official: qk_scale or qk_dim ** -0.5, for the routing and for the token attention alike
        self.scale = qk_scale or self.qk_dim ** -0.5
        self.lepe = nn.Conv2d(dim, dim, side_dwconv, padding=side_dwconv // 2, groups=dim)
        self.qkv = QKVLinear(dim, self.qk_dim)
        self.wo = nn.Linear(dim, dim)

    def route(self, q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        """Region-level routing: (B, H, W, Cqk) maps -> (B, n_win ** 2, topk) key regions per query region
        (regions numbered row-major), the top-k of scale * mean(q) . mean(k)."""
        b, h, w, c = q.shape
        s = self.n_win
        count = (h // s) * (w // s)   # region means as two single-axis sums (3x faster than one 2-axis mean)
        q_r = q.detach().reshape(b, s, h // s, s, w // s, c).sum(2).sum(3).reshape(b, s * s, c) / count
        k_r = k.detach().reshape(b, s, h // s, s, w // s, c).sum(2).sum(3).reshape(b, s * s, c) / count
        logits = (q_r * self.scale) @ k_r.transpose(-2, -1)
        return torch.topk(logits, k=min(self.topk, s * s), dim=-1).indices

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, h_in, w_in, _ = x.shape
        s = self.n_win
        pad_b, pad_r = (-h_in) % s, (-w_in) % s
        if pad_b or pad_r:  # official auto_pad: pad the block's normalised input, before the projections
            x = F.pad(x, (0, 0, 0, pad_r, 0, pad_b))
        h, w = h_in + pad_b, w_in + pad_r

        q, k, v = self.qkv(x)
        lepe = self.lepe(v.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
        index = self.route(q, k)
        heads = self.num_heads
        out = ops.routed_attention(q.unflatten(-1, (heads, -1)), k.unflatten(-1, (heads, -1)),
                                   v.unflatten(-1, (heads, -1)), index, (s, s), scale=self.scale)
        out = self.wo(out.reshape(b, h, w, self.dim) + lepe)
        if pad_b or pad_r:
            out = out[:, :h_in, :w_in].contiguous()
        return out


class AttentionLePE(nn.Module):
    """Global multi-head attention + LePE of the official last stage (``_common.AttentionLePE``), on
    (B, H, W, C) maps; the LePE conv reads the attention's input, as in the official module."""

    def __init__(self, dim: int, num_heads: int = 8, qkv_bias: bool = False, qk_scale: Optional[float] = None,
                 side_dwconv: int = 5):
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"AttentionLePE: dim {dim} must be divisible by num_heads {num_heads}")
        self.num_heads = num_heads
        self.scale = qk_scale or (dim // num_heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)
        self.lepe = nn.Conv2d(dim, dim, side_dwconv, padding=side_dwconv // 2, groups=dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, h, w, c = x.shape
        q, k, v = self.qkv(x).reshape(b, h * w, 3, self.num_heads, c // self.num_heads).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(q, k, v, scale=self.scale)           # (B, heads, N, head_dim)
        out = out.transpose(1, 2).reshape(b, h, w, c)
        out = out + self.lepe(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
        return self.proj(out)


class Block(nn.Module):
    """Official BiFormer block on NCHW maps: conv position embedding, then pre-norm attention and MLP."""

    def __init__(self, dim: int, drop_path: float = 0.0, num_heads: int = 8, n_win: int = 7,
                 qk_dim: Optional[int] = None, qk_scale: Optional[float] = None, topk: int = 4,
                 mlp_ratio: float = 4.0, side_dwconv: int = 5, before_attn_dwconv: int = 3,
                 dense_heads: int = 8):
        super().__init__()
        self.pos_embed = nn.Conv2d(dim, dim, before_attn_dwconv, padding=before_attn_dwconv // 2, groups=dim)
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        if topk > 0:
            self.attn = BiLevelRoutingAttention(dim, num_heads=num_heads, n_win=n_win, qk_dim=qk_dim,
                                                qk_scale=qk_scale, topk=topk, side_dwconv=side_dwconv)
        elif topk == -2:
            # the official block builds AttentionLePE(dim, side_dwconv=...): its default 8 heads, whatever
            # head_dim the model was given
            self.attn = AttentionLePE(dim, num_heads=dense_heads, side_dwconv=side_dwconv)
        else:
            raise ValueError(f"BiFormer Block: topk must be positive (routing attention) or -2 (global attention "
                             f"+ LePE, the released last stage), got {topk}")
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        hidden = int(mlp_ratio * dim)
        # indices 0 / 3 as in the official Sequential(Linear, Identity (no mlp_dwconv), GELU, Linear)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.Identity(), nn.GELU(), nn.Linear(hidden, dim))
        self.drop_path = DropPath(drop_path) if drop_path > 0.0 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.pos_embed(x)
        x = x.permute(0, 2, 3, 1)
        x = x + self.drop_path(self.attn(self.norm1(x)))
        x = x + self.drop_path(self.mlp(self.norm2(x)))
        return x.permute(0, 3, 1, 2)


class BiFormerStage(nn.Sequential):
    """The blocks of one stage (a Sequential, so keys stay ``stages.<i>.<j>``), with gradient checkpointing."""

    def __init__(self, *blocks):
        super().__init__(*blocks)
        self.grad_checkpointing = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self:
            if self.grad_checkpointing and not torch.jit.is_scripting():
                x = torch.utils.checkpoint.checkpoint(block, x, use_reentrant=False)
            else:
                x = block(x)
        return x


def _stem(in_chans: int, dim: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_chans, dim // 2, 3, stride=2, padding=1), nn.BatchNorm2d(dim // 2), nn.GELU(),
        nn.Conv2d(dim // 2, dim, 3, stride=2, padding=1), nn.BatchNorm2d(dim),
    )


def _downsample(in_dim: int, out_dim: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_dim, out_dim, 3, stride=2, padding=1), nn.BatchNorm2d(out_dim))


class BiFormer(nn.Module):
    """BiFormer (official ``BiFormer`` with the released configuration options).

    Args:
        depth: blocks per stage.
        embed_dim: channels per stage.
        mlp_ratios: MLP hidden ratio per stage.
        n_win: regions per side of every routing-attention map (7 for 224 classification; the official
            detection configs use 16, segmentation 8). Maps are padded to a multiple of it.
        topks: routed regions per query region, per stage; -2 = global attention + LePE.
        qk_dims: query / key channels per stage (None: embed_dim).
        head_dim: channels per head of the routing attention (heads = qk_dim // head_dim).
        qk_scale: override of the attention scale (default qk_dim ** -0.5, the official quirk).
        side_dwconv: LePE kernel size. before_attn_dwconv: position-embedding conv kernel size.
        dense_heads: heads of the global attention stage (the official module's default, 8).
    """

    def __init__(
            self,
            depth: Sequence[int] = (2, 2, 8, 2),
            in_chans: int = 3,
            num_classes: int = 1000,
            global_pool: str = "avg",
            embed_dim: Sequence[int] = (64, 128, 256, 512),
            mlp_ratios: Sequence[float] = (3, 3, 3, 3),
            n_win: int = 7,
            topks: Sequence[int] = (1, 4, 16, -2),
            qk_dims: Sequence[Optional[int]] = (None, None, None, None),
            head_dim: int = 32,
            qk_scale: Optional[float] = None,
            side_dwconv: int = 5,
            before_attn_dwconv: int = 3,
            dense_heads: int = 8,
            drop_rate: float = 0.0,
            drop_path_rate: float = 0.0,
    ):
        super().__init__()
        if global_pool not in ("avg", ""):
            raise ValueError(f"BiFormer: global_pool must be 'avg' or '' (no pooling), got {global_pool!r}")
        embed_dim, depth = list(embed_dim), list(depth)
        qk_dims = [q or d for q, d in zip(qk_dims, embed_dim)]
        self.num_classes = num_classes
        self.in_chans = in_chans
        self.global_pool = global_pool
        self.embed_dim = embed_dim
        self.n_win = n_win
        self.num_features = self.head_hidden_size = embed_dim[-1]
        self.grad_checkpointing = False

        self.downsample_layers = nn.ModuleList(
            [_stem(in_chans, embed_dim[0])] + [_downsample(embed_dim[i], embed_dim[i + 1]) for i in range(3)])
        dpr = [x.item() for x in torch.linspace(0, drop_path_rate, sum(depth))]
        self.stages = nn.ModuleList()
        self.feature_info = []
        cur = 0
        for i in range(4):
            self.stages.append(BiFormerStage(*[
                Block(embed_dim[i], drop_path=dpr[cur + j], num_heads=qk_dims[i] // head_dim, n_win=n_win,
                      qk_dim=qk_dims[i], qk_scale=qk_scale, topk=topks[i], mlp_ratio=mlp_ratios[i],
                      side_dwconv=side_dwconv, before_attn_dwconv=before_attn_dwconv, dense_heads=dense_heads)
                for j in range(depth[i])]))
            cur += depth[i]
            self.feature_info.append(dict(num_chs=embed_dim[i], reduction=4 * 2 ** i, module=f"stages.{i}"))

        self.norm = nn.BatchNorm2d(embed_dim[-1])
        self.head_drop = nn.Dropout(drop_rate)
        self.head = nn.Linear(self.num_features, num_classes) if num_classes > 0 else nn.Identity()
        self.apply(self._init_weights)

    @staticmethod
    def _init_weights(m):
        if isinstance(m, nn.Linear):
            trunc_normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.LayerNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)

    # ------------------------------------------------------------------------------------------------------
    # timm contract

    @torch.jit.ignore
    def no_weight_decay(self):
        # The official set ({'pos_embed', 'cls_token'}) names no parameter of this model; timm's optimizer
        # factory already exempts the 1-D parameters (biases, norms).
        return set()

    @torch.jit.ignore
    def group_matcher(self, coarse: bool = False):
        return dict(
            stem=r"^downsample_layers\.0\.",
            blocks=r"^(?:downsample_layers|stages)\.(\d+)" if coarse else [
                (r"^downsample_layers\.(\d+)", (0,)),
                (r"^stages\.(\d+)\.(\d+)", None),
                (r"^norm\.", (99999,)),
            ],
        )

    @torch.jit.ignore
    def set_grad_checkpointing(self, enable: bool = True):
        self.grad_checkpointing = enable
        for stage in self.stages:
            stage.grad_checkpointing = enable

    @torch.jit.ignore
    def get_classifier(self) -> nn.Module:
        return self.head

    def reset_classifier(self, num_classes: int, global_pool: Optional[str] = None):
        self.num_classes = num_classes
        if global_pool is not None:
            if global_pool not in ("avg", ""):
                raise ValueError(f"BiFormer: global_pool must be 'avg' or '' (no pooling), got {global_pool!r}")
            self.global_pool = global_pool
        self.head = nn.Linear(self.num_features, num_classes) if num_classes > 0 else nn.Identity()

    def load_pretrained(self, checkpoint_path: str, prefix: str = ""):
        """Load an official release file (timm's ``custom_load`` hook, used so that the release URLs, which
        all end in ``/content``, download to their official file names). Runs timm's own adaptation
        (class count, input channels) on the converted state dict."""
        checkpoint = torch.load(checkpoint_path, map_location="cpu", weights_only=True)
        cfg = dict(getattr(self, "pretrained_cfg", None) or {}, state_dict=checkpoint, custom_load=False,
                   file=None, url=None)
        _timm_load_pretrained(self, cfg, num_classes=self.num_classes, in_chans=self.in_chans,
                              filter_fn=checkpoint_filter_fn)

    # ------------------------------------------------------------------------------------------------------
    # forward

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        _builder.check_image(x, self.in_chans, MIN_INPUT_SIZE, type(self).__name__)
        x = _builder.conv_layout(x)
        for downsample, stage in zip(self.downsample_layers, self.stages):
            x = stage(downsample(x))
        return self.norm(x)

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        if self.global_pool == "avg":
            x = x.mean((2, 3))
        x = self.head_drop(x)
        if pre_logits:
            return x
        if x.dim() == 4:  # no pooling: the classifier on every position
            return self.head(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        return self.head(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))

    def forward_intermediates(
            self,
            x: torch.Tensor,
            indices: Optional[Union[int, List[int]]] = None,
            norm: bool = False,
            stop_early: bool = False,
            output_fmt: str = "NCHW",
            intermediates_only: bool = False,
    ) -> Union[List[torch.Tensor], Tuple[torch.Tensor, List[torch.Tensor]]]:
        """Forward features that returns intermediates (NCHW maps after each stage; ``norm`` applies the
        final BatchNorm to the last stage's map, the only one it is sized for)."""
        if output_fmt != "NCHW":
            raise ValueError(f"BiFormer.forward_intermediates: output_fmt must be 'NCHW', got {output_fmt!r}")
        _builder.check_image(x, self.in_chans, MIN_INPUT_SIZE, type(self).__name__)
        x = _builder.conv_layout(x)
        intermediates = []
        take_indices, max_index = feature_take_indices(len(self.stages), indices)
        num_stages = len(self.stages)
        if torch.jit.is_scripting() or not stop_early:
            last = num_stages
        else:
            last = max_index + 1
        i = 0
        for i in range(last):
            x = self.stages[i](self.downsample_layers[i](x))
            if i in take_indices:
                intermediates.append(self.norm(x) if norm and i == num_stages - 1 else x)
        if intermediates_only:
            return intermediates
        if i == num_stages - 1:
            x = self.norm(x)
        return x, intermediates

    def prune_intermediate_layers(
            self,
            indices: Union[int, List[int]] = 1,
            prune_norm: bool = False,
            prune_head: bool = True,
    ) -> List[int]:
        """Drop the stages (and norm / head) not needed for the given intermediates."""
        take_indices, max_index = feature_take_indices(len(self.stages), indices)
        prune_end = max_index < len(self.stages) - 1
        self.downsample_layers = self.downsample_layers[:max_index + 1]
        self.stages = self.stages[:max_index + 1]
        if prune_norm or prune_end:
            self.norm = nn.Identity()
        if prune_head:
            self.reset_classifier(0, "")
        return take_indices


def checkpoint_filter_fn(state_dict, model):
    """Official checkpoints ({"model": state_dict} as released, or bare) -> this model.

    The parameter names are the official ones, so the conversion only unwraps the container and strips a
    ``module.`` (DDP) prefix. BiFormer has no position tables, biases or embeddings tied to an input size
    (its position encodings are convolutions), so nothing is resized for other sizes or ``n_win``.
    """
    state_dict = _builder.unwrap_checkpoint(state_dict)
    out = {}
    for k, v in state_dict.items():
        if k.startswith("module."):
            k = k[len("module."):]
        out[k] = v
    return out


def _create_biformer(variant, pretrained=False, **kwargs):
    return _builder.build(BiFormer, variant, pretrained, filter_fn=checkpoint_filter_fn, **kwargs)


def _cfg(url=None, file_name=None, **kwargs):
    return {
        # (url, file name): the release URLs all end in ".../root/content"; timm's downloader caches a tuple
        # URL under the given name, the official one (models/biformer.py saves "<model_key>.pth").
        "url": (url, file_name) if url else None,
        "custom_load": True,  # model.load_pretrained: timm's plain URL loader does not take a file name
        "num_classes": 1000, "input_size": (3, 224, 224), "pool_size": (7, 7),
        "crop_pct": 0.875, "interpolation": "bicubic", "fixed_input_size": False,
        "mean": IMAGENET_DEFAULT_MEAN, "std": IMAGENET_DEFAULT_STD,
        "first_conv": "downsample_layers.0.0", "classifier": "head",
        "license": "mit", "origin_url": "https://github.com/rayleizhu/BiFormer",
        "paper_ids": "arXiv:2303.08810",
        "paper_name": "BiFormer: Vision Transformer with Bi-Level Routing Attention",
        **kwargs,
    }


default_cfgs = generate_default_cfgs({
    "biformer_t.in1k": _cfg(
        url="https://api.onedrive.com/v1.0/shares/s!AkBbczdRlZvChHEOoGkgwgQzEDlM/root/content",
        file_name="biformer_tiny_in1k.pth"),
    "biformer_s.in1k": _cfg(
        url="https://api.onedrive.com/v1.0/shares/s!AkBbczdRlZvChHDyM-x9KWRBZ832/root/content",
        file_name="biformer_small_in1k.pth"),
    "biformer_b.in1k": _cfg(
        url="https://api.onedrive.com/v1.0/shares/s!AkBbczdRlZvChHI_XPhoadjaNxtO/root/content",
        file_name="biformer_base_in1k.pth"),
})


@register_model
def biformer_t(pretrained=False, **kwargs) -> BiFormer:
    """BiFormer-T (official ``biformer_tiny``): 13.1M params, 81.4 top-1 at 224."""
    args = dict(depth=(2, 2, 8, 2), embed_dim=(64, 128, 256, 512), mlp_ratios=(3, 3, 3, 3), n_win=7,
                topks=(1, 4, 16, -2), qk_dims=(64, 128, 256, 512), head_dim=32)
    return _create_biformer("biformer_t", pretrained, **dict(args, **kwargs))


@register_model
def biformer_s(pretrained=False, **kwargs) -> BiFormer:
    """BiFormer-S (official ``biformer_small``): 25.5M params, 83.8 top-1 at 224."""
    args = dict(depth=(4, 4, 18, 4), embed_dim=(64, 128, 256, 512), mlp_ratios=(3, 3, 3, 3), n_win=7,
                topks=(1, 4, 16, -2), qk_dims=(64, 128, 256, 512), head_dim=32)
    return _create_biformer("biformer_s", pretrained, **dict(args, **kwargs))


@register_model
def biformer_b(pretrained=False, **kwargs) -> BiFormer:
    """BiFormer-B (official ``biformer_base``): 56.8M params, 84.3 top-1 at 224."""
    args = dict(depth=(4, 4, 18, 4), embed_dim=(96, 192, 384, 768), mlp_ratios=(3, 3, 3, 3), n_win=7,
                topks=(1, 4, 16, -2), qk_dims=(96, 192, 384, 768), head_dim=32)
    return _create_biformer("biformer_b", pretrained, **dict(args, **kwargs))
