"""Agent attention (Han et al., Agent Attention: On the Integration of Softmax and Linear Attention, ECCV 2024;
official code https://github.com/LeapLabTHU/Agent-Attention), as the three official modules:
``SwinAgentAttention`` (Agent-Swin), ``PvtAgentAttention`` (Agent-PVT) and ``DeitAgentAttention`` (Agent-DeiT).

- agent tokens are the queries average-pooled to a p x p grid (p * p = ``agent_num``, or ``agent_shape``);
- agent step: the agents attend to the keys / values, softmax(scale * A K^T + B_ak) V, with B_ak = ``an_bias``
  (a 7 x 7 table per agent, resampled bilinearly to the key map) + ``ah_bias`` + ``aw_bias`` (one row and one
  column table per agent);
- broadcast step: the queries attend to the agents, softmax(scale * Q A^T + B_qa) (agent values), with B_qa =
  ``na_bias`` (7 x 7, resampled to the query map) + ``ha_bias`` + ``wa_bias``; Agent-DeiT adds ``ac_bias`` /
  ``ca_bias`` for its class token;
- a 3 x 3 depthwise convolution of the values (``dwc``) is added to the output before ``proj``.

Both steps are dense attention (``visionattn.ops.attention``) with the official scale head_dim ** -0.5. Any map
size: the biases are resampled bilinearly from their trained size (``bias_grid``) to the actual map (an identity
at the trained size), as the official detection backbones do; ``agent_shape`` changes the agent grid (the
official ``downstream_agent_shape``), the biases then also resampled over the agent grid. Parameter names are
the official ones, so the released checkpoints load as saved. ``AgentCore`` (the biases, their resampling and the
two steps, without projection or value convolution) also serves Agent-CSwin's agent branches
(``cswin_attention.py``).
"""
import math
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from timm.layers import register_notrace_module, trunc_normal_
from torch import nn

from visionattn import ops

from .helpers import adaptive_avg_pool2d, check_layout, check_tokens, merge_heads, resize_bilinear, split_heads


def resize_agents(bias: torch.Tensor, agent_shape: Tuple[int, int]) -> torch.Tensor:
    """(heads, p * p, h, w) bias of a p x p agent grid, resampled bilinearly over the agent grid to agent_shape
    (the official detection backbones' ``downstream_agent_shape``); returns (heads, A', h, w)."""
    heads, num_agents, h, w = bias.shape
    p = math.isqrt(num_agents)
    if (p, p) == tuple(agent_shape):
        return bias
    bias = bias.reshape(heads, p, p, h * w).permute(0, 3, 1, 2)
    bias = F.interpolate(bias, size=tuple(agent_shape), mode="bilinear", align_corners=False)
    return bias.flatten(2).transpose(1, 2).reshape(heads, -1, h, w)


def pool_agents(q: torch.Tensor, size: Tuple[int, int], agent_shape: Tuple[int, int]) -> torch.Tensor:
    """Agent tokens: (B, N, C) queries of an (h, w) map average-pooled to agent_shape, as (B, A, C)."""
    b, n, c = q.shape
    # a contiguous NCHW input: CPU adaptive pooling keeps a channels-last input's layout, which the strides
    # predicted when torch.compile traces the model do not (the attention reading the agents then gets garbage)
    grid = q.transpose(1, 2).reshape(b, c, size[0], size[1]).contiguous()
    return adaptive_avg_pool2d(grid, tuple(agent_shape)).flatten(2).transpose(1, 2)


def agent_attention(q, k, v, agent, bias_ak, bias_qa, scale, dropout_p=0.0):
    """The two softmax steps of agent attention on (B, heads, tokens, head_dim) tensors.

    agent values = softmax(scale * agent @ k^T + bias_ak) @ v; out = softmax(scale * q @ agent^T + bias_qa) @ agent
    values. ``bias_ak`` broadcasts to (B, heads, A, Nk), ``bias_qa`` to (B, heads, Nq, A)."""
    agent_v = ops.attention(agent, k, v, bias=bias_ak, scale=scale, dropout_p=dropout_p)
    return ops.attention(q, agent, agent_v, bias=bias_qa, scale=scale, dropout_p=dropout_p)


class AgentCore:
    """Agent attention through the official agent position biases, for an ``nn.Module`` that mixes it in and
    calls ``init_agent`` in its ``__init__``: the head split, the scale, the six bias parameters (``an_bias``,
    ``na_bias``, ``ah_bias``, ``aw_bias``, ``ha_bias``, ``wa_bias``), their resampling to any map size and agent
    grid (``agent_bias``) and the two softmax steps (``attend``). No projection and no value convolution:
    those differ between the official modules."""

    def init_agent(self, dim, num_heads, agent_num, kv_grid, q_grid, agent_shape=None, attn_drop=0.0):
        """Check the configuration and create the biases: ``kv_grid`` / ``q_grid`` are the key / query map
        sizes the biases are trained at, ``agent_shape`` the agent grid (default p x p, p * p = agent_num)."""
        if dim % num_heads:
            raise ValueError(f"{type(self).__name__}: dim {dim} must be divisible by num_heads {num_heads}")
        p = math.isqrt(agent_num)
        if p * p != agent_num:
            raise ValueError(f"{type(self).__name__}: agent_num must be a square (a p x p agent grid), got {agent_num}")
        self.num_heads, self.head_dim = num_heads, dim // num_heads
        self.scale = self.head_dim ** -0.5
        self.agent_shape = tuple(agent_shape or (p, p))
        self.attn_drop = attn_drop
        self.an_bias = nn.Parameter(torch.zeros(num_heads, agent_num, 7, 7))
        self.na_bias = nn.Parameter(torch.zeros(num_heads, agent_num, 7, 7))
        self.ah_bias = nn.Parameter(torch.zeros(1, num_heads, agent_num, kv_grid[0], 1))
        self.aw_bias = nn.Parameter(torch.zeros(1, num_heads, agent_num, 1, kv_grid[1]))
        self.ha_bias = nn.Parameter(torch.zeros(1, num_heads, q_grid[0], 1, agent_num))
        self.wa_bias = nn.Parameter(torch.zeros(1, num_heads, 1, q_grid[1], agent_num))
        for p_ in (self.an_bias, self.na_bias, self.ah_bias, self.aw_bias, self.ha_bias, self.wa_bias):
            trunc_normal_(p_, std=0.02)

    def agent_bias(self, kv_size, q_size, agent_shape=None):
        """Biases of the agent step (heads, A, hk * wk) and of the broadcast step (heads, hq * wq, A), for an
        agent grid of ``agent_shape`` (default: the layer's)."""
        agent_shape = agent_shape or self.agent_shape
        ak = resize_bilinear(self.an_bias, kv_size) + resize_bilinear((self.ah_bias + self.aw_bias).squeeze(0), kv_size)
        qa = (resize_bilinear(self.na_bias, q_size)
              + resize_bilinear((self.ha_bias + self.wa_bias).squeeze(0).permute(0, 3, 1, 2), q_size))
        ak = resize_agents(ak, agent_shape).flatten(2)
        qa = resize_agents(qa, agent_shape).flatten(2).transpose(1, 2)
        return ak, qa

    def attend(self, q, k, v, q_size, bias_ak, bias_qa):
        """Agent attention of (B, Nq, C) queries over (B, Nk, C) keys / values (q's first Nq - hq * wq tokens are
        prefix tokens, left out of the agent pooling); returns (B, Nq, C)."""
        grid_tokens = q[:, q.shape[1] - q_size[0] * q_size[1]:]
        agent = pool_agents(grid_tokens, q_size, self.agent_shape)
        out = agent_attention(split_heads(q, self.num_heads), split_heads(k, self.num_heads),
                              split_heads(v, self.num_heads), split_heads(agent, self.num_heads), bias_ak, bias_qa,
                              self.scale, self.attn_drop if self.training else 0.0)
        return merge_heads(out)


class _AgentAttentionBase(AgentCore, nn.Module):
    """What the three official modules share besides ``AgentCore``: the output projection and the value
    convolution (``dwc``)."""

    def __init__(self, dim, num_heads, agent_num, kv_grid, q_grid, agent_shape=None, attn_drop=0.0, proj_drop=0.0):
        super().__init__()
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)
        self.dwc = nn.Conv2d(dim, dim, kernel_size=3, padding=1, groups=dim)
        self.init_agent(dim, num_heads, agent_num, kv_grid, q_grid, agent_shape, attn_drop)

    def value_conv(self, v, kv_size, q_size):
        """The depthwise conv of the (B, hk * wk, C) values, resampled to the query map: (B, hq, wq, C)."""
        v = v.transpose(1, 2).reshape(v.shape[0], v.shape[2], kv_size[0], kv_size[1])
        return self.dwc(resize_bilinear(v, q_size)).permute(0, 2, 3, 1)


@register_notrace_module
class SwinAgentAttention(_AgentAttentionBase):
    """Agent attention of Agent-Swin's "A" blocks over a whole (B, H, W, C) map of any size.

    ``bias_grid``: the map size the biases were trained at (the stage's map at the pre-training size, at most
    the official window)."""

    def __init__(self, dim: int, num_heads: int, bias_grid: Tuple[int, int], agent_num: int = 49,
                 agent_shape: Optional[Tuple[int, int]] = None, qkv_bias: bool = True, attn_drop: float = 0.0,
                 proj_drop: float = 0.0):
        super().__init__(dim, num_heads, agent_num, bias_grid, bias_grid, agent_shape, attn_drop, proj_drop)
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_layout(x, self.qkv.in_features, "SwinAgentAttention", "NHWC")
        b, h, w, c = x.shape
        q, k, v = self.qkv(x).reshape(b, h * w, 3, c).unbind(2)
        ak, qa = self.agent_bias((h, w), (h, w))
        out = self.attend(q, k, v, (h, w), ak[None], qa[None]).reshape(b, h, w, c)
        return self.proj_drop(self.proj(out + self.value_conv(v, (h, w), (h, w))))


@register_notrace_module
class PvtAgentAttention(_AgentAttentionBase):
    """Agent attention of Agent-PVT on (B, H, W, C) maps of any size: separate ``q`` / ``kv``, keys and values
    from the map reduced by a ``sr_ratio`` strided conv + LayerNorm (floor sizes, as PVT); the value conv reads
    the reduced values resampled bilinearly to the map. ``grid``: the map size the biases were trained at."""

    def __init__(self, dim: int, num_heads: int, grid: Tuple[int, int], agent_num: int = 49, sr_ratio: int = 1,
                 agent_shape: Optional[Tuple[int, int]] = None, qkv_bias: bool = True, attn_drop: float = 0.0,
                 proj_drop: float = 0.0):
        super().__init__(dim, num_heads, agent_num, (grid[0] // sr_ratio, grid[1] // sr_ratio), grid, agent_shape,
                         attn_drop, proj_drop)
        self.q = nn.Linear(dim, dim, bias=qkv_bias)
        self.kv = nn.Linear(dim, dim * 2, bias=qkv_bias)
        self.sr_ratio = sr_ratio
        if sr_ratio > 1:
            self.sr = nn.Conv2d(dim, dim, kernel_size=sr_ratio, stride=sr_ratio)
            self.norm = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_layout(x, self.q.in_features, "PvtAgentAttention", "NHWC")
        b, h, w, c = x.shape
        q = self.q(x).reshape(b, h * w, c)
        if self.sr_ratio > 1:
            xs = self.sr(x.permute(0, 3, 1, 2))
            kv_size = (xs.shape[-2], xs.shape[-1])
            xs = self.norm(xs.flatten(2).transpose(1, 2))
        else:
            xs, kv_size = x.reshape(b, h * w, c), (h, w)
        k, v = self.kv(xs).reshape(b, -1, 2, c).unbind(2)
        ak, qa = self.agent_bias(kv_size, (h, w))
        out = self.attend(q, k, v, (h, w), ak[None], qa[None]).reshape(b, h, w, c)
        return self.proj_drop(self.proj(out + self.value_conv(v, kv_size, (h, w))))


@register_notrace_module
class DeitAgentAttention(_AgentAttentionBase):
    """Agent attention of Agent-DeiT on tokens (B, 1 + H * W, C): the class token first, then the (H, W) grid
    of patch tokens row-major; ``grid`` = (H, W) is passed with the tokens (any size). The class token is a key
    of the agent step and a query of the broadcast step (``ac_bias`` / ``ca_bias``) but not pooled into the
    agents, and gets no value conv. ``bias_grid``: the grid the biases were trained at."""

    def __init__(self, dim: int, num_heads: int, bias_grid: Tuple[int, int], agent_num: int = 49,
                 qkv_bias: bool = True, attn_drop: float = 0.0, proj_drop: float = 0.0):
        super().__init__(dim, num_heads, agent_num, bias_grid, bias_grid, None, attn_drop, proj_drop)
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.ac_bias = nn.Parameter(torch.zeros(1, num_heads, agent_num, 1))
        self.ca_bias = nn.Parameter(torch.zeros(1, num_heads, 1, agent_num))
        trunc_normal_(self.ac_bias, std=0.02)
        trunc_normal_(self.ca_bias, std=0.02)

    def forward(self, x: torch.Tensor, grid: Tuple[int, int]) -> torch.Tensor:
        check_tokens(x, self.qkv.in_features, "DeitAgentAttention", grid, 1)
        b, n, c = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, c).unbind(2)
        ak, qa = self.agent_bias(grid, grid)
        ak = torch.cat([self.ac_bias, ak[None]], dim=-1)      # the class token is the first key
        qa = torch.cat([self.ca_bias, qa[None]], dim=-2)      # and the first query
        out = self.attend(q, k, v, grid, ak, qa)
        dw = self.value_conv(v[:, 1:], grid, grid).reshape(b, -1, c)
        out = torch.cat([out[:, :1], out[:, 1:] + dw], dim=1)
        return self.proj_drop(self.proj(out))
