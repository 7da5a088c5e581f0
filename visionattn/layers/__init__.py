"""Public building blocks: every attention module of the eight families, on ``visionattn.ops``, for use in any
network (``from visionattn.layers import BiLevelRoutingAttention``). Each class documents its input layout
((B, H, W, C) maps for the transformer families, NCHW for the convolutional ones, tokens for the ViTs), how it
handles sizes that are not a multiple of its window / region / pool, and its parameters (named as the official
checkpoints name them)."""
from .agent_attention import DeitAgentAttention, PvtAgentAttention, SwinAgentAttention, agent_attention
from .aggregated_attention import AggregatedAttention, ScaledCosineAttention
from .cswin_attention import CSWinAttention
from .dense_attention import Attention, AttentionLePE, SpatialReductionAttention
from .gpsa import GPSA
from .halo_attention import HaloAttn
from .helpers import DWConv, merge_heads, pad_to_multiple, split_heads, swin_shift, vit_level
from .hilo import HiLo
from .routing_attention import BiLevelRoutingAttention
from .single_head_attention import SHSA, Conv2dNorm
from .window_attention import WindowAttention

__all__ = [
    "AggregatedAttention", "Attention", "AttentionLePE", "BiLevelRoutingAttention", "CSWinAttention", "Conv2dNorm",
    "DWConv", "DeitAgentAttention", "GPSA", "HaloAttn", "HiLo", "PvtAgentAttention", "SHSA", "ScaledCosineAttention",
    "SpatialReductionAttention", "SwinAgentAttention", "WindowAttention", "agent_attention", "merge_heads",
    "pad_to_multiple", "split_heads", "swin_shift", "vit_level",
]
