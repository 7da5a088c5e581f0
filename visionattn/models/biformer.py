"""BiFormer: Vision Transformer with Bi-Level Routing Attention (Zhu et al., CVPR 2023).

Paper: https://arxiv.org/abs/2303.08810 -- official code and weights: https://github.com/rayleizhu/BiFormer (MIT).

The architecture, parameter names and checkpoint layout follow the official ``models/biformer.py`` with the
legacy bi-level routing attention (``ops/bra_legacy.py``) its released checkpoints were trained with:

- stem: two 3x3 stride-2 convs (BN, GELU between them); downsampling: one 3x3 stride-2 conv + BN;
- blocks: x + dwconv3x3(x) (per-block conv position embedding), then pre-norm (LayerNorm, eps 1e-6)
  attention and MLP (Linear, GELU, Linear) residuals, on (B, H, W, C) maps;
- stages 1-3 use bi-level routing attention (BRA, ``visionattn.layers.BiLevelRoutingAttention``), with ``n_win`` x ``n_win`` regions per map and top-k
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
- stage 4 (topk -2, ``visionattn.layers.AttentionLePE``): plain multi-head attention (8 heads, scale
  head_dim ** -0.5, no qkv bias) through ``visionattn.ops.attention``, + LePE, which in the official
  ``AttentionLePE`` is a 5x5 depthwise conv of the attention's *input* (not of v), then ``proj``;
- final BatchNorm2d, global average pool, Linear head (timm's ``ClassifierHead``: ``head.fc``; the official
  ``head.*`` keys are renamed on load).

Dense use (any input size): before the qkv projection each BRA pads its normalised input map with zeros
at the bottom / right to a multiple of ``n_win`` (the official ``auto_pad=True`` of the detection /
segmentation backbones: the padded tokens are projected like the others, take part in the region means
and are attended to), and crops the output back after ``wo``. At sizes that are multiples of ``n_win``
(224 classification: 56, 28, 14) this is the identity. ``n_win`` is a constructor option (the official
detection configs use 16, segmentation 8). When ``n_win ** 2`` is smaller than a stage's top-k, the top-k
is clamped to the region count. The per-level output norms of the official dense backbones are not part
of this (classification) model.
"""
from typing import Optional, Sequence

import torch
import torch.utils.checkpoint
from torch import nn

from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD
from timm.layers import ClassifierHead, DropPath, calculate_drop_path_rates
from timm.models import generate_default_cfgs, register_model

from visionattn.checkpoint import unwrap_checkpoint
from visionattn.layers import AttentionLePE, BiLevelRoutingAttention

from ._base import PyramidMixin, build, classifier_to_head_fc, conv_layout, init_linear

__all__ = ["BiFormer", "Block", "checkpoint_filter_fn"]

MIN_INPUT_SIZE = 32
# size-dependent helpers are single nodes when torch.fx traces the model (timm's leaf functions)
torch.fx.wrap("conv_layout")


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


class BiFormer(PyramidMixin, nn.Module):
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
        embed_dim, depth = list(embed_dim), list(depth)
        qk_dims = [q or d for q, d in zip(qk_dims, embed_dim)]
        self.min_size = MIN_INPUT_SIZE
        self.num_classes = num_classes
        self.in_chans = in_chans
        self.global_pool = global_pool
        self.embed_dim = embed_dim
        self.n_win = n_win
        self.num_features = self.head_hidden_size = embed_dim[-1]

        self.downsample_layers = nn.ModuleList(
            [_stem(in_chans, embed_dim[0])] + [_downsample(embed_dim[i], embed_dim[i + 1]) for i in range(3)])
        dpr = calculate_drop_path_rates(drop_path_rate, sum(depth))
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
        self.head = ClassifierHead(self.num_features, num_classes, pool_type=global_pool, drop_rate=drop_rate)
        self.apply(init_linear)

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

    # PyramidMixin hooks
    def stem(self, x):
        return conv_layout(x)

    def run_stage(self, i, x):
        x = self.stages[i](self.downsample_layers[i](x))
        return x, x

    def keep_stages(self, n):
        self.downsample_layers, self.stages = self.downsample_layers[:n], self.stages[:n]


def checkpoint_filter_fn(state_dict, model):
    """Official checkpoints ({"model": state_dict} as released, or bare) -> this model.

    The parameter names are the official ones, so the conversion only unwraps the container and strips a
    ``module.`` (DDP) prefix. BiFormer has no position tables, biases or embeddings tied to an input size
    (its position encodings are convolutions), so nothing is resized for other sizes or ``n_win``.
    """
    return classifier_to_head_fc(unwrap_checkpoint(state_dict))


def _create_biformer(variant, pretrained=False, **kwargs):
    return build(BiFormer, variant, pretrained, filter_fn=checkpoint_filter_fn, **kwargs)


# The official README's model links (api.onedrive.com share links) stopped serving the files in 2026 (rayleizhu/BiFormer
# issue #53: "The provided share id was malformed"); the README's OneDrive folder still lists them.
ONEDRIVE_FOLDER = "https://1drv.ms/u/s!AkBbczdRlZvChGsXFqAA-PVnA-R8?e=IPlOCG"


def _cfg(url=None, file_name=None, **kwargs):
    folder_name = file_name.replace("_in1k.pth", "_best.pth") if file_name else None
    return {
        "notes": (f"api.onedrive.com no longer serves the official share links (rayleizhu/BiFormer issue #53); "
                  f"download the release from the official OneDrive folder {ONEDRIVE_FOLDER} (the README's earlier "
                  f"direct links named it {folder_name!r}; the official loader saves it as {file_name!r}) and pass "
                  "it as the file",)
        if file_name else (),
        # (url, file name): the release URLs all end in ".../root/content"; timm's downloader caches a tuple
        # URL under the given name, the official one (models/biformer.py saves "<model_key>.pth").
        "url": (url, file_name) if url else None,
        "custom_load": True,  # model.load_pretrained: timm's plain URL loader does not take a file name
        "num_classes": 1000, "input_size": (3, 224, 224), "pool_size": (7, 7),
        "crop_pct": 0.875, "interpolation": "bicubic", "fixed_input_size": False,
        "mean": IMAGENET_DEFAULT_MEAN, "std": IMAGENET_DEFAULT_STD,
        "first_conv": "downsample_layers.0.0", "classifier": "head.fc",
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
