"""Dense (global) attention: every query attends to every key (ConViT, SHViT, Agent attention's two steps,
LITv2's Lo-Fi heads, BiFormer's and TransNeXt's last stages, PVT's spatial-reduction attention).

Semantics (every backend computes exactly this):

- ``q`` (B, heads, Nq, Dqk), ``k`` (B, heads, Nk, Dqk), ``v`` (B, heads, Nk, Dv): token sequences, the layout
  of ``torch.nn.functional.scaled_dot_product_attention``;
- scores = scale * q.k (scale defaults to Dqk ** -0.5) + ``bias`` (broadcastable to (B, heads, Nq, Nk));
  probabilities p = softmax over the keys;
- ``mix`` (broadcastable to (B, heads, Nq, Nk), rows summing to 1) with ``mix_weight`` g (broadcastable to
  (B, heads, 1, 1), in [0, 1]): p = (1 - g) p + g mix, renormalised over the keys (ConViT's gated positional
  self-attention, whose positional probabilities do not depend on the input);
- ``dropout_p``: dropout on p (pass 0 outside training, as with SDPA);
- returns p v, (B, heads, Nq, Dv).

Backends: ``reference`` writes the probabilities out; ``torch`` calls SDPA (with a mix, one mixed matrix up to
``MIXED_MAX_TOKENS`` keys, which is faster on CPU, else SDPA plus one product with the mix); ``triton`` is
SDPA on CUDA (torch's flash / memory-efficient kernels are the fast path there).
"""
from typing import Optional

import torch
import torch.nn.functional as F

from ._backend import select_backend
from ._checks import FLOAT_DTYPES, autocasting, check_bias, compute_dtype

_OP = "attention"
# With a mix, up to this many keys one explicit (Nq, Nk) matrix holds both parts: faster on CPU than SDPA plus
# a second (Nq, Nk) product (tools/benchmark.py --suite cpu: ConViT-Ti 36 vs 29 img/s at 196 tokens).
MIXED_MAX_TOKENS = 1024


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, bias: Optional[torch.Tensor] = None,
              scale: Optional[float] = None, dropout_p: float = 0.0, mix: Optional[torch.Tensor] = None,
              mix_weight: Optional[torch.Tensor] = None, backend: Optional[str] = None) -> torch.Tensor:
    """Dense attention on (B, heads, tokens, head_dim) tensors; see the module docstring for the semantics."""
    if torch.jit.is_scripting():   # TorchScript: the torch backend, unchecked
        return _attention_torch(q, k, v, bias, scale, dropout_p, mix, mix_weight, 1024)
    return _attention_dispatch(q, k, v, bias, scale, dropout_p, mix, mix_weight, backend)


def _attention_dispatch(q, k, v, bias, scale, dropout_p, mix, mix_weight, backend):
    if isinstance(q, torch.Tensor) and autocasting(q):
        # as SDPA under autocast: q, k and v in the autocast dtype (they may arrive in two dtypes)
        dtype = torch.get_autocast_dtype(q.device.type)
        q, k, v = q.to(dtype), k.to(dtype), v.to(dtype)
    _check(q, k, v, bias, dropout_p, mix, mix_weight)
    name = select_backend(_OP, backend, q, kernel=False)
    if name == "reference":
        return _attention_reference(q, k, v, bias, scale, dropout_p, mix, mix_weight)
    return _attention_torch(q, k, v, bias, scale, dropout_p, mix, mix_weight, MIXED_MAX_TOKENS)


def _check(q, k, v, bias, dropout_p, mix, mix_weight):
    for name, t in (("q", q), ("k", k), ("v", v)):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"{_OP}: {name} must be a torch.Tensor, got {type(t).__name__}")
        if t.dim() != 4:
            raise ValueError(f"{_OP}: {name} must be a 4-D (batch, heads, tokens, head_dim) tensor, got shape "
                             f"{tuple(t.shape)}")
        if t.dtype not in FLOAT_DTYPES or t.dtype != q.dtype:
            raise TypeError(f"{_OP}: q, k and v must share one floating dtype, got {q.dtype}, {k.dtype}, {v.dtype}")
        if t.device != q.device:
            raise ValueError(f"{_OP}: q, k and v must be on one device, got {q.device}, {k.device}, {v.device}")
    if q.shape[:2] != k.shape[:2] or k.shape[:3] != v.shape[:3] or q.shape[-1] != k.shape[-1]:
        raise ValueError(f"{_OP}: shapes q {tuple(q.shape)}, k {tuple(k.shape)}, v {tuple(v.shape)} do not fit "
                         "(batch, heads, tokens, head_dim) with one batch / head count, k and v of one length, "
                         "q and k of one head dim")
    full = (q.shape[0], q.shape[1], q.shape[2], k.shape[2])
    check_bias(_OP, "bias", bias, q, full, "(batch, heads, query tokens, key tokens)")
    check_bias(_OP, "mix", mix, q, full, "(batch, heads, query tokens, key tokens)")
    if (mix is None) != (mix_weight is None):
        raise ValueError(f"{_OP}: pass mix and mix_weight together (or neither)")
    if mix_weight is not None:
        check_bias(_OP, "mix_weight", mix_weight, q, (q.shape[0], q.shape[1], 1, 1), "(batch, heads, 1, 1)")
    if not 0.0 <= dropout_p < 1.0:
        raise ValueError(f"{_OP}: dropout_p must lie in [0, 1), got {dropout_p}")


def _mixed(probs: torch.Tensor, mix: torch.Tensor, mix_weight: torch.Tensor) -> torch.Tensor:
    probs = (1.0 - mix_weight) * probs + mix_weight * mix
    return probs / probs.sum(dim=-1, keepdim=True)


def _attention_reference(q, k, v, bias, scale, dropout_p, mix, mix_weight):
    in_dtype, dtype = q.dtype, compute_dtype(q.dtype)
    scale = q.shape[-1] ** -0.5 if scale is None else scale
    scores = (q.to(dtype) @ k.to(dtype).transpose(-2, -1)) * scale
    if bias is not None:
        scores = scores + bias.to(dtype)
    probs = scores.softmax(dim=-1)
    if mix is not None:
        probs = _mixed(probs, mix.to(dtype), mix_weight.to(dtype))
    if dropout_p > 0.0:
        probs = F.dropout(probs, dropout_p)
    return (probs @ v.to(dtype)).to(in_dtype)


def _attention_torch(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, bias: Optional[torch.Tensor],
                     scale: Optional[float], dropout_p: float, mix: Optional[torch.Tensor],
                     mix_weight: Optional[torch.Tensor], mixed_max_tokens: int) -> torch.Tensor:
    mask: Optional[torch.Tensor] = None
    if bias is not None:
        mask = bias.to(q.dtype)
    if mix is None or mix_weight is None:
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout_p, scale=scale)
    mix, gate = mix.to(q.dtype), mix_weight.to(q.dtype)
    if k.shape[2] <= mixed_max_tokens or dropout_p > 0.0:
        # the explicit form: dropout acts on the mixed matrix, one mask for both parts (as the official GPSA)
        s = q.shape[-1] ** -0.5 if scale is None else scale
        scores = (q @ k.transpose(-2, -1)) * s
        if mask is not None:
            scores = scores + mask
        probs = _mixed(scores.softmax(dim=-1), mix, gate)
        if dropout_p > 0.0:
            probs = F.dropout(probs, dropout_p)
        return probs @ v
    # a convex mix of two distributions sums to 1, so the renormalisation is the identity and p v is linear in p
    content = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=scale)
    return (1.0 - gate) * content + gate * (mix @ v)
