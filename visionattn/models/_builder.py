"""Pieces every family file shares: building through timm, input checks, checkpoint containers."""
import torch
from timm.models import build_model_with_cfg

# features_only=True goes through each model's forward_intermediates (timm's FeatureGetterNet)
FEATURE_CFG = dict(feature_cls="getter", out_indices=(0, 1, 2, 3))


def build(model_cls, variant, pretrained=False, filter_fn=None, feature_cfg=None, **kwargs):
    """timm's build_model_with_cfg with the project's defaults: official checkpoints converted on load by
    ``filter_fn``, ``features_only=True`` through forward_intermediates."""
    return build_model_with_cfg(model_cls, variant, pretrained, pretrained_filter_fn=filter_fn,
                                feature_cfg=dict(FEATURE_CFG, **(feature_cfg or {})), **kwargs)


def unwrap_checkpoint(checkpoint, keys=("model", "state_dict", "model_ema", "state_dict_ema", "module")):
    """A bare state dict from the containers official releases use ({"model": ...}, {"state_dict": ...}),
    without the ``module.`` prefix of checkpoints saved from DataParallel / DDP wrappers."""
    if not isinstance(checkpoint, dict):
        raise TypeError(f"a checkpoint must be a dict of tensors (or wrap one), got {type(checkpoint).__name__}")
    for key in keys:
        inner = checkpoint.get(key)
        if isinstance(inner, dict) and inner and all(isinstance(v, torch.Tensor) for v in inner.values()):
            return _strip_module(inner)
    tensors = {k: v for k, v in checkpoint.items() if isinstance(v, torch.Tensor)}
    if not tensors:
        raise ValueError(f"the checkpoint holds no tensors (top-level keys: {sorted(checkpoint)[:10]})")
    return _strip_module(tensors)


def _strip_module(state):
    if all(k.startswith("module.") for k in state):
        return {k[len("module."):]: v for k, v in state.items()}
    return state


def conv_layout(x):
    """Images in channels-last memory on CPU: oneDNN's native convolution layout, so conv-heavy families
    (HaloNet, SHViT, BiFormer) skip a layout reorder at every convolution (1.1-1.4x img/s on CPU,
    `tools/benchmark.py`); the values are unchanged."""
    return x.contiguous(memory_format=torch.channels_last) if x.device.type == "cpu" else x


def check_image(x, in_chans, min_size, name):
    """Images (B, C, H, W) with the model's channel count and at least its minimum size."""
    if not isinstance(x, torch.Tensor) or x.dim() != 4:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"{name} expects images of shape (batch, channels, height, width), got {shape}")
    if x.shape[1] != in_chans:
        raise ValueError(f"{name} was built for {in_chans} input channels but got {x.shape[1]} "
                         f"(input shape {tuple(x.shape)}); create it with in_chans={x.shape[1]} or convert the images")
    h, w = x.shape[-2:]
    if h < min_size or w < min_size:
        raise ValueError(f"{name} needs images of at least {min_size}x{min_size} pixels, got {h}x{w}")


def feature_take_indices(num_stages, indices):
    """Stage indices to return from forward_intermediates: an int n means the last n, a sequence is taken
    as given (negative indices count from the end); returns (sorted indices, max index)."""
    from timm.models._features import feature_take_indices as _take
    return _take(num_stages, indices)
