"""The shared attention core: three patterns (window, neighborhood, routed) and dense attention, one semantics
each, several backends (see ``_backend``)."""
from ._backend import (BACKENDS, ENV_VAR, current_backend, resolve_backend, select_backend, triton_unsupported,
                       use_backend)
from .dense import attention
from .neighborhood import neighborhood_aggregate, neighborhood_attention, neighborhood_scores
from .routed import routed_attention
from .window import SHIFT_MASK_VALUE, window_attention

__all__ = [
    "BACKENDS", "ENV_VAR", "SHIFT_MASK_VALUE", "attention", "current_backend", "neighborhood_aggregate",
    "neighborhood_attention", "neighborhood_scores", "resolve_backend", "routed_attention", "select_backend",
    "triton_unsupported", "use_backend", "window_attention",
]
