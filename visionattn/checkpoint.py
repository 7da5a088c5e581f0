"""Reading and writing weight files, one way for the whole project (models, training engine, mm adapters).

Reading never unpickles code: ``.safetensors`` files through safetensors, anything else through
``torch.load(weights_only=True)``, with one addition to torch's allowlist: the yacs ``CfgNode`` that official
training checkpoints (Agent Attention's) carry is read as a plain OrderedDict, so those files load without yacs
and without running code. Writing is atomic: a temporary file in the same folder, then a rename, so a killed
process leaves either the old file or the new one, never half of one.
"""
import collections
import os
import pickle
import socket
from urllib.parse import urlparse

import torch

STATE_DICT_KEYS = ("model", "state_dict", "model_ema", "state_dict_ema", "module")
EMA_STATE_DICT_KEYS = ("model_ema", "state_dict_ema", "model", "state_dict", "module")


class CheckpointError(RuntimeError):
    """Weights that cannot be read, or that do not fit the model: the message names the file and what was wrong."""


class PretrainedUnavailableError(RuntimeError):
    """The pretrained weights of a variant could not be fetched: the message names the variant, the source tried,
    where the official release lives, the file name, and how to proceed offline."""


class _ConfigStub:
    """Stands for the yacs ``CfgNode`` of official training checkpoints: read as a plain OrderedDict."""

    def __new__(cls, *args, **kwargs):
        return collections.OrderedDict()


def _pickled_globals(path):
    """The classes / functions a plain pickle file names, read by ``pickletools`` (which runs nothing); None when
    the bytes are no pickle."""
    import pickletools
    names, strings = [], []
    try:
        with open(path, "rb") as f:
            for op, arg, _ in pickletools.genops(f):
                if isinstance(arg, str):
                    strings.append(arg)
                if op.name in ("GLOBAL", "INST"):
                    names.append(arg.replace(" ", "."))
                elif op.name == "STACK_GLOBAL":
                    names.append(".".join(strings[-2:]))
                elif op.name == "STOP":
                    return names
    except Exception:   # noqa: BLE001  (an unknown opcode, the end of the bytes, ...)
        return None
    return None


def unpickling_refusal(e, path):
    """What torch.load(weights_only=True)'s ``UnpicklingError`` on ``path`` means, without torch's advice to retry
    with weights_only=False (i.e. to run the file's code): Python objects (a global that torch refused, or one a
    plain pickle names), or bytes that are no weight file at all."""
    lines = [line.strip() for line in str(e).splitlines()]
    refused = [line for line in lines if line.startswith("Unsupported global") or "GLOBAL" in line]
    if not refused:   # torch stops at opcodes it does not know before it meets a global: read the names ourselves
        names = _pickled_globals(path)
        refused = [f"it names {', '.join(names[:3])}"] if names else []
    if refused:
        return ("it holds Python objects other than tensors, which are never unpickled (that would run code from "
                f"the file; {refused[0]}). Convert it where it came from to safetensors or a plain state dict of "
                "tensors")
    found = [line for line in lines if line.startswith("Unsupported")] or [type(e).__name__]
    return f"it is corrupt or not a PyTorch / safetensors weight file (the unpickler found: {found[0]})"


def read_checkpoint(path):
    """The object stored in a weight file (usually a dict), read without unpickling code. A missing, empty,
    truncated or foreign file raises ``CheckpointError`` naming the file and the reason."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no weight file at {path!r}")
    if os.path.getsize(path) == 0:
        raise CheckpointError(f"cannot read weights from {path!r}: the file is empty")
    try:
        if path.endswith(".safetensors"):
            from safetensors.torch import load_file
            return load_file(path)
        with torch.serialization.safe_globals([(_ConfigStub, "yacs.config.CfgNode")]):
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        raise CheckpointError(f"cannot read weights from {path!r}: {unpickling_refusal(e, path)}") from e
    except Exception as e:   # noqa: BLE001  (truncated zip / pickle, not a weight file at all, ...)
        raise CheckpointError(f"cannot read weights from {path!r} ({type(e).__name__}: {e}); the file may be "
                              "truncated or not a PyTorch / safetensors weight file") from e


# hub layouts timm reads, in its order
HUB_FILES = ("model.safetensors", "pytorch_model.bin")


def weights_source(pretrained_cfg):
    """Where timm takes a pretrained cfg's weights from, in its order: ("file", path), ("hf-hub", (repo, file
    name or None)) or ("url", (url, file name)); None when the cfg names no weights."""
    from timm.models._hub import has_hf_hub
    cfg = dict(pretrained_cfg)
    if cfg.get("file"):
        return "file", cfg["file"]
    if cfg.get("hf_hub_id") and has_hf_hub(necessary=False):
        return "hf-hub", (cfg["hf_hub_id"], cfg.get("hf_hub_filename"))
    if cfg.get("url"):
        url = cfg["url"]
        return "url", tuple(url) if isinstance(url, (tuple, list)) else (url, os.path.basename(urlparse(url).path))
    return None


def cached_weights(source):
    """The local copy of a hub or url source if it is already in the cache, else None."""
    kind, where = source
    if kind == "file":
        return where if os.path.isfile(where) else None
    if kind == "hf-hub":
        from huggingface_hub import try_to_load_from_cache
        for name in (where[1],) if where[1] else HUB_FILES:
            path = try_to_load_from_cache(where[0], name)
            if isinstance(path, str) and os.path.isfile(path):
                return path
        return None
    path = os.path.join(torch.hub.get_dir(), "checkpoints", where[1])
    return path if os.path.isfile(path) else None


def unreachable(host, timeout=3.0):
    """Why ``host`` cannot be reached on port 443 within ``timeout`` seconds (no network, DNS, refused), or None."""
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
    except OSError as e:
        return f"{type(e).__name__}: {e}"
    return None


def _host(source):
    kind, where = source
    if kind == "hf-hub":
        return urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co")).hostname
    return urlparse(where[0]).hostname


def unavailable_message(variant, pretrained_cfg, source, reason, use_file=None):
    """The one error text for weights that could not be fetched: what was tried, where the release lives, the file
    name, and the two ways to proceed offline (``use_file``: how to pass a local file, where it is not timm's
    ``pretrained_cfg_overlay``)."""
    cfg = dict(pretrained_cfg)
    kind, where = source
    tried = (f"the Hugging Face hub repository {where[0]!r}" if kind == "hf-hub" else f"the URL {where[0]}")
    name = (where[1] or HUB_FILES[0]) if kind == "hf-hub" else where[1]
    cache = (f"download the repository into the Hugging Face cache once (huggingface-cli download {where[0]}) and "
             "set HF_HUB_OFFLINE=1" if kind == "hf-hub" else
             f"put the file at {os.path.join(torch.hub.get_dir(), 'checkpoints', name)} (the torch hub cache, "
             "$TORCH_HOME/hub/checkpoints)")
    what = f"{variant} (pretrained tag {cfg.get('tag') or 'default'!r})" if use_file is None else variant
    lines = [f"{what}: could not get its weights from {tried}: {reason}."]
    lines += [f"Note: {n}" for n in cfg.get("notes") or ()]
    if cfg.get("origin_url"):
        lines.append(f"The official release is listed at {cfg['origin_url']}.")
    lines.append(f"The file: {name!r}" + (f" of the hub repository {where[0]}." if kind == "hf-hub" else "."))
    use_file = use_file or (f"timm.create_model({variant!r}, pretrained=True, pretrained_cfg_overlay=dict("
                            f"file='/path/to/{name}')) (tools/train.py: model.pretrained=FILE; mm configs: "
                            "init_cfg=dict(type='Pretrained', checkpoint=FILE))")
    lines.append(f"To proceed without the network: pass the file, {use_file}, or {cache}.")
    return "\n".join(lines)


def download_errors():
    """The exception types a failed download raises (urllib / torch.hub, sockets, the Hugging Face hub)."""
    import http.client
    import urllib.error
    errors = [urllib.error.URLError, ConnectionError, TimeoutError, socket.gaierror, http.client.HTTPException]
    try:
        from huggingface_hub import errors as hub
        errors += [hub.HfHubHTTPError, hub.LocalEntryNotFoundError, hub.EntryNotFoundError, hub.RepositoryNotFoundError]
    except ImportError:
        pass
    return tuple(errors)


def check_pretrained_available(variant, pretrained_cfg, use_file=None):
    """Before a download: a local ``file`` must exist, a cached copy is used as is, and a source whose host cannot
    be reached fails at once with ``unavailable_message`` (instead of a minute of retries)."""
    source = weights_source(pretrained_cfg)
    if source is None:
        raise PretrainedUnavailableError(f"{variant}: no pretrained weights are known for it (its pretrained cfg "
                                         "names no file, hub repository or URL); use pretrained=False")
    if source[0] == "file":
        if not os.path.isfile(source[1]):
            raise FileNotFoundError(f"{variant}: pretrained file {source[1]!r} does not exist")
        return source
    if cached_weights(source) is not None:
        return source
    if source[0] == "hf-hub" and os.environ.get("HF_HUB_OFFLINE", "0") not in ("", "0"):
        raise PretrainedUnavailableError(unavailable_message(variant, pretrained_cfg, source,
                                                             "HF_HUB_OFFLINE is set and the hub cache has no copy",
                                                             use_file))
    host = _host(source)
    reason = host and unreachable(host)   # no host: a file:// mirror, read directly
    if reason:
        raise PretrainedUnavailableError(unavailable_message(variant, pretrained_cfg, source,
                                                             f"{host} cannot be reached ({reason})", use_file))
    return source


def pretrained_file(pretrained_cfg, variant=None, use_file=None):
    """A local path to the weights a timm pretrained cfg names (``weights_source``'s order), downloaded into timm's
    / the hub's cache; a failure raises ``PretrainedUnavailableError`` (``use_file``: see ``unavailable_message``)."""
    from timm.models._hub import download_cached_file
    variant = variant or dict(pretrained_cfg).get("architecture") or "model"
    source = check_pretrained_available(variant, pretrained_cfg, use_file)
    cached = cached_weights(source)
    if cached:
        return cached
    kind, where = source
    try:
        if kind == "hf-hub":
            from huggingface_hub import hf_hub_download
            names = (where[1],) if where[1] else HUB_FILES
            for i, name in enumerate(names):
                try:
                    return hf_hub_download(where[0], name)
                except Exception:   # noqa: BLE001  (the next hub layout; the last one's error is raised)
                    if i == len(names) - 1:
                        raise
        return download_cached_file(where, check_hash=True)
    except Exception as e:   # noqa: BLE001  (HTTP errors, dead hosts, hash mismatches, hub errors)
        raise PretrainedUnavailableError(unavailable_message(variant, pretrained_cfg, source,
                                                             f"{type(e).__name__}: {e}", use_file)) from e


def strip_prefix(state, prefix):
    """``state`` without ``prefix`` on its keys, when every key has it (DataParallel / DDP ``module.``)."""
    if state and all(k.startswith(prefix) for k in state):
        return {k[len(prefix):]: v for k, v in state.items()}
    return state


def unwrap_checkpoint(checkpoint, keys=STATE_DICT_KEYS):
    """A bare state dict from the containers official releases use ({"model": ...}, {"state_dict": ...}),
    without the ``module.`` prefix of checkpoints saved from DataParallel / DDP wrappers."""
    if not isinstance(checkpoint, dict):
        raise TypeError(f"a checkpoint must be a dict of tensors (or wrap one), got {type(checkpoint).__name__}")
    for key in keys:
        inner = checkpoint.get(key)
        if isinstance(inner, dict) and inner and all(isinstance(v, torch.Tensor) for v in inner.values()):
            return strip_prefix(inner, "module.")
    tensors = {k: v for k, v in checkpoint.items() if isinstance(v, torch.Tensor)}
    if not tensors:
        raise ValueError(f"the checkpoint holds no tensors (top-level keys: {sorted(checkpoint)[:10]})")
    return strip_prefix(tensors, "module.")


def _atomic(path, write):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)   # as `mkdir -p`: e.g. --json into a new folder
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def atomic_write_text(path, text):
    def write(tmp):
        with open(tmp, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
    _atomic(path, write)


def write_failure(error):
    """Why a write failed when ``error`` is a failed file write (a full disk, a file-size limit, a lost mount), else
    None. Besides OSError, the writers report one as their own errors: safetensors' SafetensorError ("I/O error")
    and torch.save's zip writer RuntimeError (no errno kept)."""
    if isinstance(error, OSError):
        return str(error.strerror or error)
    text = " ".join(str(error).split())
    if type(error).__name__ == "SafetensorError" and "I/O error" in text:
        return text
    if isinstance(error, RuntimeError) and ("inline_container" in text or "StreamWriter" in text):
        return f"torch's file writer failed ({text}): a full disk or a file-size limit"
    return None


def atomic_save_safetensors(tensors, path, metadata=None):
    from safetensors.torch import save_file
    _atomic(path, lambda tmp: save_file({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, tmp,
                                        metadata=metadata))


def sha256_of(path, chunk=1 << 20):
    """The sha256 hex digest of a file, read in chunks."""
    import hashlib
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()
