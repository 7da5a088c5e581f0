"""Keep mmengine 0.10.7 working on torch >= 2.6.

Since torch 2.6 ``torch.load`` defaults to ``weights_only=True``; mmengine 0.10.7 calls it without the
argument, and its own checkpoints (the message hub's history buffers hold numpy scalars and arrays) are
then refused, so ``--resume`` fails. Rather than unpickling arbitrary code, the few classes mmengine
checkpoints need are added to torch's allowlist of safe globals.
"""
import torch


def allow_mmengine_checkpoints():
    import numpy as np
    from mmengine.logging.history_buffer import HistoryBuffer
    np_core = np._core if hasattr(np, "_core") else np.core
    safe = [HistoryBuffer, np_core.multiarray.scalar, np_core.multiarray._reconstruct, np.ndarray, np.dtype]
    safe += [type(np.dtype(t)) for t in ("float64", "float32", "int64", "int32", "uint8", "bool")]
    torch.serialization.add_safe_globals(safe)
