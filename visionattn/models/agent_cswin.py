"""Agent-CSwin: CSWin Transformer with agent attention (``agent_cswin_t``, ``agent_cswin_s``, ``agent_cswin_b``).

Agent Attention: On the Integration of Softmax and Linear Attention, Han et al., ECCV 2024
(https://arxiv.org/abs/2312.08874); official code and weights: https://github.com/LeapLabTHU/Agent-Attention
(``agent_transformer/models/agent_cswin.py``), on CSWin Transformer (Dong et al., CVPR 2022).

The official ``CSWinTransformer`` of ``agent_cswin.py``: a 7 x 7 stride-4 convolution + LayerNorm stem
(``stage1_conv_embed``), four stages of blocks (``stage1`` .. ``stage4``) with a 3 x 3 stride-2 convolution +
LayerNorm (``merge1`` .. ``merge3``) between them, a final LayerNorm and the mean of the last map into the
classifier. A block is pre-norm attention + MLP with one drop path; its attention is
``visionattn.layers.CSWinAttention``: "A" blocks agent attention, "B" blocks CSWin's LePE stripe attention
(attention types per stage as Agent-Swin's ``attn_type`` strings, e.g. "AABB", "M<n>" mixing them). A block has
one branch over the whole map in the last stage and wherever its stripe width equals the stage map (every "A"
block of the releases: ``la_split_size`` = the stage maps, 56-28-14-7 at 224, 96-48-24-12 at 384), else two
stripe branches (the releases' stage 3: stripes of ``split_size`` 7, 12 at 384).

Any input size >= 32 (dense prediction; the official classification code takes only its configured square size,
and the official repository has no Agent-CSwin dense backbone, so this is our rule, following the official CSWin
segmentation backbone): stem and merges are plain convolutions (maps floor((H - 3) / 4) + 1, then ceil(H / 2) per
merge); the single- or two-branch layout of each block is fixed by the configured size and kept at every size;
whole-map branches attend over the actual map, the agent biases resampled bilinearly from the configured map
(an identity at the configured size, so classification at the default size is the official function); stripe
branches use the actual map's height / width along the stripe and zero-pad the projected q, k, v along the split
axis, half before and half after, to a multiple of the stripe width (the CSWin segmentation backbone's rule),
cropping the output back. Stage features are the stages' block outputs; ``norm=True`` applies the final norm to
the last one.
"""
import re
from functools import partial

import torch
from torch import nn
from timm.layers import ClassifierHead, calculate_drop_path_rates, to_2tuple
from timm.models import generate_default_cfgs, register_model

from visionattn.checkpoint import unwrap_checkpoint
from visionattn.layers import CSWinAttention

from ._base import build, classifier_to_head_fc, init_linear
from .agent import _AGENT_BIAS_KEYS, NumberedStagesMixin, _Block, _cfg, _resize_axis, _stage_attn_types

__all__ = ["AgentCSWinTransformer", "checkpoint_filter_fn"]


class _ToChannelsLast(nn.Module):
    """(B, C, H, W) -> (B, H, W, C); no parameters (the official stem's ``Rearrange``, index 1)."""

    def forward(self, x):
        return x.permute(0, 2, 3, 1)


class _Merge(nn.Module):
    """The official ``Merge_Block`` on (B, H, W, C) maps: 3 x 3 stride-2 convolution (padding 1), LayerNorm."""

    def __init__(self, dim, out_dim):
        super().__init__()
        self.conv = nn.Conv2d(dim, out_dim, kernel_size=3, stride=2, padding=1)
        self.norm = nn.LayerNorm(out_dim)

    def forward(self, x):
        return self.norm(self.conv(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1))


def _per_stage(name, values, count):
    values = tuple(int(v) for v in values)
    if len(values) != count:
        raise ValueError(f"{name} needs one value per stage ({count}), got {values}")
    return values


class AgentCSWinTransformer(NumberedStagesMixin, nn.Module):
    """Agent-CSwin (official ``CSWinTransformer`` of ``agent_cswin.py``).

    ``split_size``: the stripe width of the "B" blocks per stage (default 1, 2, img // 32, img // 32, the
    official 1-2-7-7 at 224 and 1-2-12-12 at 384); ``la_split_size``: that of the "A" blocks (default: the stage
    maps, i.e. whole-map agent attention, as the official configs); ``agent_shapes``: per stage, another agent
    grid than sqrt(agent_num)^2 (the biases resampled over it)."""

    def __init__(self, img_size=224, in_chans=3, num_classes=1000, global_pool="avg", embed_dim=64,
                 depths=(2, 4, 18, 1), num_heads=(2, 4, 8, 16), split_size=None, la_split_size=None, mlp_ratio=4.0,
                 qkv_bias=True, drop_rate=0.0, attn_drop_rate=0.0, drop_path_rate=0.0, agent_num=(9, 16, 49, 49),
                 attn_type="AABB", agent_shapes=None):
        super().__init__()
        img_size = to_2tuple(img_size)
        n = len(depths)
        self.num_classes, self.global_pool, self.in_chans = num_classes, global_pool, in_chans
        self.output_fmt = "NHWC"
        self.stage_count = n
        self.num_features = self.head_hidden_size = int(embed_dim * 2 ** (n - 1))
        self.min_size = 4 * 2 ** (n - 1)
        self.grad_checkpointing = False
        # the maps the biases are shaped on: the official img_size // 4, // 8, ...
        grids = [(img_size[0] // (4 * 2 ** i), img_size[1] // (4 * 2 ** i)) for i in range(n)]
        split_size = _per_stage("split_size", split_size or (1, 2) + (min(img_size) // 32,) * (n - 2), n)
        la_split_size = _per_stage("la_split_size", la_split_size or [max(g) for g in grids], n)
        agent_num = _per_stage("agent_num", agent_num, n)
        agent_shapes = agent_shapes or [None] * n
        types = _stage_attn_types(attn_type, n, depths)
        dpr = calculate_drop_path_rates(drop_path_rate, list(depths), stagewise=True)

        self.stage1_conv_embed = nn.Sequential(nn.Conv2d(in_chans, embed_dim, kernel_size=7, stride=4, padding=2),
                                               _ToChannelsLast(), nn.LayerNorm(embed_dim))
        self.feature_info = []
        for i in range(n):
            dim = int(embed_dim * 2 ** i)
            if i > 0:
                setattr(self, f"merge{i}", _Merge(dim // 2, dim))
            blocks = []
            for j, kind in enumerate(types[i]):
                split = la_split_size[i] if kind == "A" else split_size[i]
                # one whole-map branch in the last stage and where the stripe covers the map (the official rule)
                whole = i == n - 1 or split >= max(grids[i])
                attn = CSWinAttention(dim, num_heads[i], None if whole else split, kind, bias_grid=grids[i],
                                      agent_num=agent_num[i],
                                      agent_shape=to_2tuple(agent_shapes[i]) if agent_shapes[i] else None,
                                      qkv_bias=qkv_bias, attn_drop=attn_drop_rate)
                blocks.append(_Block(dim, attn, mlp_ratio, drop_rate, dpr[i][j]))
            setattr(self, f"stage{i + 1}", nn.ModuleList(blocks))
            self.feature_info.append(dict(num_chs=dim, reduction=4 * 2 ** i, module=f"stage{i + 1}"))
        self.norm = nn.LayerNorm(self.num_features)
        # no head dropout: the official drop_rate is the MLPs' dropout only
        self.head = ClassifierHead(self.num_features, num_classes, pool_type=global_pool, input_fmt=self.output_fmt)
        self.apply(init_linear)

    @torch.jit.ignore
    def no_weight_decay(self):
        return set()   # the official list names parameters the model does not have (pos_embed, cls_token)

    @torch.jit.ignore
    def group_matcher(self, coarse=False):
        return dict(
            stem=r"^stage1_conv_embed",
            blocks=r"^(?:stage|merge)(\d+)" if coarse else [
                (r"^stage(\d+)\.(\d+)", None),
                (r"^merge(\d+)", (99998,)),
                (r"^norm", (99999,)),
            ])

    # PyramidMixin hooks: stage i (0-based) is merge{i} (for i > 0), then the blocks of stage{i + 1}
    def stem(self, x):
        return self.stage1_conv_embed(x)

    def run_stage(self, i, x):
        if i > 0:
            x = getattr(self, f"merge{i}")(x)
        return self.run_blocks(getattr(self, f"stage{i + 1}"), x)

    def stage_modules(self, i):
        return (f"merge{i}", f"stage{i + 1}")


# ----------------------------------------------------------------------------------------------------------
# checkpoints

def checkpoint_filter_fn(state_dict, model):
    """Official Agent-CSwin checkpoints (bare, or a container: ``unwrap_checkpoint`` takes ``model`` before
    ``state_dict_ema``) -> this model's state dict.

    The official block holds ``qkv`` / ``proj`` / ``attns`` itself; here they are its ``attn``
    (``CSWinAttention``): ``stageN.j.qkv.*`` -> ``stageN.j.attn.qkv.*``. The classifier ``head.*`` is
    ``head.fc.*``. When the model is configured for another size than the checkpoint, the ah / aw / ha / wa
    biases are resampled linearly along their map axis (the official fine-tuning loader's rule)."""
    state_dict = classifier_to_head_fc(unwrap_checkpoint(state_dict))
    own = model.state_dict()
    out = {}
    for k, v in state_dict.items():
        k = re.sub(r"^(stage\d+\.\d+)\.(qkv|proj|attns)\.", r"\1.attn.\2.", k)
        target = own.get(k)
        if target is not None and v.shape != target.shape and k.rsplit(".", 1)[-1] in _AGENT_BIAS_KEYS:
            v = _resize_axis(v, target.shape)
        out[k] = v
    return out


# ----------------------------------------------------------------------------------------------------------
# registration

_cswin = partial(_cfg, first_conv="stage1_conv_embed.0", pool_size=(7, 7))

default_cfgs = generate_default_cfgs({
    "agent_cswin_t.in1k": _cswin("8c562a74441e46d5902b", "agent_cswin_t_max_acc.pth"),
    "agent_cswin_s.in1k": _cswin("30eb8af675bc4b7a8747", "agent_cswin_s_max_acc.pth"),
    "agent_cswin_b.in1k": _cswin("c8035b0839b2410c8c9f", "agent_cswin_b_max_acc.pth"),
    # the official eval crops at 384 too (TEST.CROP stays True: resize 438, center crop 384)
    "agent_cswin_b.in1k_384": _cswin("1239be0df44b47719432", "agent_cswin_b_384_max_acc.pth",
                                     input_size=(3, 384, 384), pool_size=(12, 12)),
})


def _create(variant, pretrained=False, **kwargs):
    return build(AgentCSWinTransformer, variant, pretrained, filter_fn=checkpoint_filter_fn, **kwargs)


@register_model
def agent_cswin_t(pretrained=False, **kwargs) -> AgentCSWinTransformer:
    """Agent-CSwin-T (official Agent_CSWin_64_24181_tiny_224): attn type AABB, agents 9-16-49-49."""
    args = dict(embed_dim=64, depths=(2, 4, 18, 1), num_heads=(2, 4, 8, 16), attn_type="AABB",
                agent_num=(9, 16, 49, 49))
    return _create("agent_cswin_t", pretrained, **dict(args, **kwargs))


@register_model
def agent_cswin_s(pretrained=False, **kwargs) -> AgentCSWinTransformer:
    """Agent-CSwin-S (official Agent_CSWin_64_36292_small_224): attn type AABB, agents 9-16-49-49."""
    args = dict(embed_dim=64, depths=(3, 6, 29, 2), num_heads=(2, 4, 8, 16), attn_type="AABB",
                agent_num=(9, 16, 49, 49))
    return _create("agent_cswin_s", pretrained, **dict(args, **kwargs))


@register_model
def agent_cswin_b(pretrained=False, **kwargs) -> AgentCSWinTransformer:
    """Agent-CSwin-B (official Agent_CSWin_96_36292_base_224; the 384 tag builds Agent_CSWin_96_36292_base_384,
    stripes 12 and agent biases on the 96-48 maps): attn type AABB, agents 9-16-49-49."""
    args = dict(embed_dim=96, depths=(3, 6, 29, 2), num_heads=(4, 8, 16, 32), attn_type="AABB",
                agent_num=(9, 16, 49, 49))
    return _create("agent_cswin_b", pretrained, **dict(args, **kwargs))
