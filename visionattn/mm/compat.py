"""Keep mmengine 0.10.7 working on torch >= 2.6, and its URL checkpoints safe.

Since torch 2.6 ``torch.load`` defaults to ``weights_only=True``; mmengine 0.10.7 calls it without the
argument, so its own checkpoints were refused and ``--resume`` failed. Two fixes, neither of which unpickles
arbitrary code:

- the few classes mmengine checkpoints hold (the message hub's history buffers, numpy scalars and arrays)
  join torch's allowlist of safe globals;
- history buffers are saved without their table of statistics functions: mmengine pickles those functions
  as ``getattr(HistoryBuffer, 'mean')``, and allowing ``getattr`` would open the unpickler to any
  attribute chain. The table is class-level and rebuilt on load, so nothing is lost.

mmengine reads ``http(s)://`` checkpoints (``load_from``, ``init_cfg``) with torch.hub's
``load_state_dict_from_url``, whose ``weights_only`` defaults to False (it would unpickle anything the file holds)
and which names the cached file after the URL's last path part (share links such as ``.../?dl=1`` have none).
``safe_url_checkpoints`` replaces that scheme: the file is downloaded under a name that keeps URLs apart and read
with ``visionattn.checkpoint.read_checkpoint`` (``weights_only=True``).
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


def _load_from_url(filename, map_location=None, model_dir=None, progress=False):
    import torch.distributed as dist
    from mmengine.dist import get_dist_info

    from visionattn.checkpoint import read_checkpoint

    from .runner import release_file
    rank, world_size = get_dist_info()
    if rank == 0:
        path = release_file(None, filename)
    if world_size > 1:   # rank 0 downloads, the others read its copy
        dist.barrier()
        if rank > 0:
            path = release_file(None, filename)
    return read_checkpoint(path)


def safe_url_checkpoints():
    from mmengine.runner.checkpoint import CheckpointLoader
    CheckpointLoader.register_scheme(prefixes=("http://", "https://"), force=True)(_load_from_url)
