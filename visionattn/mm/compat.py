"""Keep mmengine 0.10.7 working on torch >= 2.6.

Since torch 2.6 ``torch.load`` defaults to ``weights_only=True``; mmengine 0.10.7 calls it without the
argument, so its own checkpoints were refused and ``--resume`` failed. Two fixes, neither of which unpickles
arbitrary code:

- the few classes mmengine checkpoints hold (the message hub's history buffers, numpy scalars and arrays)
  join torch's allowlist of safe globals;
- history buffers are saved without their table of statistics functions: mmengine pickles those functions
  as ``getattr(HistoryBuffer, 'mean')``, and allowing ``getattr`` would open the unpickler to any
  attribute chain. The table is class-level and rebuilt on load, so nothing is lost.
"""
import torch


def _history_buffer_getstate(self):
    state = dict(self.__dict__)
    state.pop("statistics_methods", None)
    return state


def allow_mmengine_checkpoints():
    import numpy as np
    from mmengine.logging.history_buffer import HistoryBuffer
    HistoryBuffer.__getstate__ = _history_buffer_getstate
    np_core = np._core if hasattr(np, "_core") else np.core
    safe = [HistoryBuffer, np_core.multiarray.scalar, np_core.multiarray._reconstruct, np.ndarray, np.dtype]
    safe += [type(np.dtype(t)) for t in ("float64", "float32", "int64", "int32", "uint8", "bool")]
    torch.serialization.add_safe_globals(safe)
