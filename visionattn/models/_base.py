"""The timm model API every family shares, written once: building through timm, input checks, the classifier
head (timm's ``ClassifierHead``), ``forward_intermediates`` / ``prune_intermediate_layers`` over a family's
stages, gradient checkpointing, and loading official files that timm's plain loader cannot read.

A family's model class mixes in ``PyramidMixin`` (stem -> stages -> final norm -> ClassifierHead) or
``VitLevelsMixin`` (a plain ViT giving four pyramid levels from four blocks) and provides the small hooks they
name; everything timm's ``tests/test_models.py`` exercises then behaves the same in every family."""
import inspect
import os
import sys
from typing import List, Optional, Tuple, Union

import torch
from timm.layers import get_device_dtype, register_notrace_function, trunc_normal_
from timm.models import adapt_input_conv, build_model_with_cfg, resolve_pretrained_cfg
from timm.models._features import feature_take_indices as _timm_take_indices
from torch import nn

from visionattn.checkpoint import (EMA_STATE_DICT_KEYS, STATE_DICT_KEYS, CheckpointError,
                                   PretrainedUnavailableError, check_pretrained_available,
                                   download_errors, pretrained_file, read_checkpoint, unavailable_message,
                                   unwrap_checkpoint)
from visionattn.layers.helpers import exporting, vit_level
from visionattn.ops._checks import autocasting

# features_only=True goes through each model's forward_intermediates (timm's FeatureGetterNet)
FEATURE_CFG = dict(feature_cls="getter", out_indices=(0, 1, 2, 3))
OUTPUT_FMTS = ("NCHW", "NHWC")


def build(model_cls, variant, pretrained=False, filter_fn=None, feature_cfg=None, **kwargs):
    """timm's build_model_with_cfg with the project's defaults: official checkpoints converted on load by
    ``filter_fn``, ``features_only=True`` through forward_intermediates. An option the model does not take is an
    error that says what it takes (``out_indices`` beyond its levels: ``feature_take_indices``)."""
    if pretrained:   # fails within seconds, saying what to do, when the weights cannot be fetched
        overlay = kwargs.get("pretrained_cfg_overlay") or {}
        if overlay.get("file") and "custom_load" not in overlay and \
                resolve_pretrained_cfg(variant, kwargs.get("pretrained_cfg")).custom_load:
            # a local copy of a release is read as the release is: timm resets custom_load for a file overlay, and
            # its plain loader refuses the files that need the family's reader (Agent's yacs-carrying training
            # checkpoints) with advice to unpickle code
            kwargs["pretrained_cfg_overlay"] = dict(overlay, custom_load=True)
        cfg = resolve_pretrained_cfg(variant, kwargs.get("pretrained_cfg"), kwargs.get("pretrained_cfg_overlay"))
        cfg = cfg.to_dict()
        source = check_pretrained_available(variant, cfg)
        if source[0] == "url":   # our downloader: the release's file name, its hash prefix checked, failures explained
            path = pretrained_file(cfg, variant)
            kwargs["pretrained_cfg_overlay"] = dict(kwargs.get("pretrained_cfg_overlay") or {}, file=path,
                                                    custom_load=cfg.get("custom_load", False))
    # timm's factory options create_model(..., device=, dtype=): every family built as usual, then moved
    device, dtype = kwargs.pop("device", None), kwargs.pop("dtype", None)
    try:
        model = build_model_with_cfg(model_cls, variant, pretrained, pretrained_filter_fn=filter_fn,
                                     feature_cfg=dict(FEATURE_CFG, **(feature_cfg or {})), **kwargs)
        return model if device is None and dtype is None else model.to(device=device, dtype=dtype)
    except download_errors() as e:
        if not pretrained or source[0] == "file":
            raise
        raise PretrainedUnavailableError(unavailable_message(variant, cfg, source, f"{type(e).__name__}: {e}")) from e
    except TypeError as e:
        if "unexpected keyword argument" not in str(e):
            raise
        options = ", ".join(constructor_options(model_cls))
        raise TypeError(f"{variant}: {e}; {model_cls.__name__} takes: {options} (and timm's pretrained_cfg, "
                        "features_only, out_indices, feature_cls)") from e


def constructor_options(model_cls):
    """The keyword arguments a model class takes, along its bases while they pass ``**kwargs`` on."""
    names = []
    for klass in model_cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None or klass in (nn.Module, object):
            continue
        params = inspect.signature(init).parameters
        names += [p for p in params if p not in ("self", "args", "kwargs", "device", "dtype") and p not in names]
        if not any(p.kind == p.VAR_KEYWORD for p in params.values()):
            break
    return names


@register_notrace_function
def check_image(x: torch.Tensor, in_chans: int, min_size: int, name: str,
                dtype: Optional[torch.dtype] = None) -> torch.Tensor:
    """Images (B, C, H, W), at least one, floating, with the model's channel count and at least its minimum size.
    Returns them in ``dtype`` (the model's), cast if they come in another floating dtype (e.g. float64 or float16
    images into a float32 model); under autocast they are left to autocast."""
    if torch.jit.is_scripting():
        return x
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} expects a tensor of images (batch, channels, height, width), got {type(x).__name__}")
    if x.dim() != 4:
        raise ValueError(f"{name} expects images of shape (batch, channels, height, width), got {list(x.shape)}")
    if x.shape[0] == 0:
        raise ValueError(f"{name} got an empty batch (input shape {list(x.shape)}); give at least one image")
    if x.shape[1] != in_chans:
        raise ValueError(f"{name} was built for {in_chans} input channels but got {x.shape[1]} (input shape "
                         f"{list(x.shape)}); create it with in_chans={x.shape[1]} or convert the images")
    if x.shape[2] < min_size or x.shape[3] < min_size:
        raise ValueError(f"{name} needs images of at least {min_size}x{min_size} pixels, got "
                         f"{x.shape[2]}x{x.shape[3]}")
    if not x.is_floating_point():
        raise TypeError(f"{name} expects floating-point images (normalised, e.g. with timm's transforms from "
                        f"timm.data.resolve_data_config), got {x.dtype}; convert them with .float() and normalise")
    if dtype is not None and x.dtype != dtype and not autocasting(x):
        x = x.to(dtype)
    return x


@register_notrace_function
def conv_layout(x: torch.Tensor) -> torch.Tensor:
    """Images in channels-last memory on CPU: oneDNN's native convolution layout, so conv-heavy families
    (HaloNet, SHViT, BiFormer) skip a layout reorder at every convolution (1.1-1.4x img/s on CPU,
    `tools/benchmark.py`); the values are unchanged. Not under torch.export: the memory format is not part of an
    exported graph, and choosing the convolution's layout would make the program require a batch > 1."""
    if x.device.type == "cpu" and not exporting():
        return x.contiguous(memory_format=torch.channels_last)
    return x


def feature_take_indices(num_levels, indices):
    """timm's: the level indices to take (an int n: the last n; negative indices count from the end) and the
    highest; indices out of range raise ValueError naming the range (timm asserts)."""
    try:
        return _timm_take_indices(num_levels, indices)
    except AssertionError as e:
        raise ValueError(f"indices {indices!r} are out of range for {num_levels} feature levels: {e} (negative "
                         "indices count from the last level)") from e


def check_output_fmt(output_fmt, allowed=OUTPUT_FMTS):
    if output_fmt not in allowed:
        raise ValueError(f"output_fmt must be one of {', '.join(allowed)}, got {output_fmt!r}")


def to_format(x, fmt_in, fmt_out):
    """A 4-D map from one layout ('NCHW' / 'NHWC') to another."""
    if fmt_in == fmt_out:
        return x
    return (x.permute(0, 3, 1, 2) if fmt_in == "NHWC" else x.permute(0, 2, 3, 1)).contiguous()


def init_linear(m):
    """The official initialisation of these transformers' linear layers (truncated normal, std 0.02, zero bias);
    ``model.apply(init_linear)``. (LayerNorms start at ones / zeros as constructed.)"""
    if isinstance(m, nn.Linear):
        trunc_normal_(m.weight, std=0.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)


def checkpoint_filter_of(model):
    """The ``checkpoint_filter_fn`` of the family file that defines ``model``'s class (None if it has none)."""
    return getattr(sys.modules[type(model).__module__], "checkpoint_filter_fn", None)


def check_model_name(name, error=KeyError, who=""):
    """Raise ``error`` for a name timm does not know (a pretrained tag may follow it), with the closest names."""
    import difflib

    import timm
    if not timm.is_model(name):
        close = difflib.get_close_matches(name, timm.list_models(), n=3)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise error(f"{who}unknown model {name!r}{hint} (timm.list_models() lists every registered name)")


def load_checkpoint(model, source, strict=True, new_head=True, ema=False):
    """Load weights into ``model`` the one way every path does (``pretrained=True`` of the families with their own
    loader, ``model.pretrained=FILE`` of the training engine, tools/test.py, the mm backbone).

    ``source``: a file (read safely, ``visionattn.checkpoint.read_checkpoint``) or a state dict, in any container
    or official layout the family's ``checkpoint_filter_fn`` converts. The first convolution is adapted to the
    model's input channels (timm's ``adapt_input_conv``). ``new_head``: a classifier of another class count is
    left at its initialisation (fine-tuning); else it is a mismatch. ``strict``: any model tensor the file does
    not fill, any file tensor the model does not have, any shape or kind (integer / floating) that differs raises
    ``CheckpointError`` listing them; ``strict=False`` loads what fits and reports the rest. Returns a report:
    ``loaded`` / ``missing`` / ``unexpected`` / ``mismatched`` key lists and ``head_reset``. ``ema``: a container
    holding both takes its EMA weights (``model_ema`` / ``state_dict_ema``) instead of ``model``."""
    name = (getattr(model, "pretrained_cfg", None) or {}).get("architecture") or type(model).__name__
    where = f"checkpoint {os.fspath(source)!r}" if isinstance(source, (str, os.PathLike)) else "the state dict"
    state = read_checkpoint(source) if isinstance(source, (str, os.PathLike)) else source
    if ema and not (isinstance(state, dict) and ("model_ema" in state or "state_dict_ema" in state)):
        raise CheckpointError(f"{where} holds no EMA weights (no 'model_ema' / 'state_dict_ema'; top-level keys "
                              f"{sorted(state)[:10] if isinstance(state, dict) else '-'})")
    state = unwrap_checkpoint(state, EMA_STATE_DICT_KEYS if ema else STATE_DICT_KEYS)
    filter_fn = checkpoint_filter_of(model)
    if filter_fn is not None:
        try:
            state = filter_fn(state, model)
        except (ValueError, RuntimeError, KeyError, IndexError) as e:   # a layout the conversion cannot take
            raise CheckpointError(f"{where} cannot be converted for {name} ({type(e).__name__}: {e}); it may be "
                                  "another model's checkpoint") from e
    own = model.state_dict()
    cfg = getattr(model, "pretrained_cfg", None) or {}
    first_convs = cfg.get("first_conv") or ()
    for conv in (first_convs,) if isinstance(first_convs, str) else first_convs:
        key = conv + ".weight"
        if key in state and key in own and state[key].dim() == 4 and state[key].shape[1] != own[key].shape[1]:
            state[key] = adapt_input_conv(own[key].shape[1], state[key])
    classifiers = cfg.get("classifier") or ()
    head_keys = {f"{c}.{p}" for c in ((classifiers,) if isinstance(classifiers, str) else classifiers)
                 for p in ("weight", "bias")}
    head_reset = []
    for key in sorted(head_keys & set(state)):
        if new_head and (key not in own or state[key].shape != own[key].shape):
            head_reset.append(state.pop(key))   # another class count: the head keeps its initialisation
    mismatched = [f"{k} (file {tuple(v.shape)} {v.dtype}, model {tuple(own[k].shape)} {own[k].dtype})"
                  for k, v in state.items() if k in own and (v.shape != own[k].shape
                                                            or v.is_floating_point() != own[k].is_floating_point())]
    head_reset = bool(head_reset)
    missing = sorted(k for k in own if k not in state and not (head_reset and k in head_keys))
    unexpected = sorted(k for k in state if k not in own)
    report = dict(loaded=sorted(k for k in state if k in own), missing=missing, unexpected=unexpected,
                  mismatched=mismatched, head_reset=head_reset)
    if strict and (missing or unexpected or mismatched):
        raise CheckpointError(
            f"{where} does not fit {name}: {len(missing)} missing ({', '.join(missing[:10]) or '-'}), "
            f"{len(unexpected)} unexpected ({', '.join(unexpected[:10]) or '-'}), {len(mismatched)} mismatched "
            f"({'; '.join(mismatched[:5]) or '-'}); it may be another model's checkpoint. Load it anyway with "
            "strict=False (the training engine's model.pretrained_strict=False), which keeps what fits")
    bad = {k.split(" ")[0] for k in mismatched}
    model.load_state_dict({k: v for k, v in state.items() if k in own and k not in bad}, strict=False)
    return report


def run_checkpointed(module, enabled, *args):
    """``module(*args)``, under activation checkpointing when ``enabled`` (and not scripting)."""
    if enabled and not torch.jit.is_scripting():
        return torch.utils.checkpoint.checkpoint(module, *args, use_reentrant=False)
    return module(*args)


def classifier_to_head_fc(state_dict):
    """Official files name the classifier ``head``; timm's ``ClassifierHead`` (these models' head) holds it as
    ``head.fc``."""
    return {("head.fc." + k[len("head."):] if k in ("head.weight", "head.bias") else k): v
            for k, v in state_dict.items()}


class ModelApiMixin:
    """timm's API pieces every family shares. ``output_fmt``: the layout of ``forward_features``' maps. The
    model sets ``in_chans``, ``min_size``, ``num_features``, ``head_hidden_size``, ``num_classes`` and a ``head``
    (timm's ``ClassifierHead`` unless it overrides the head methods), and ``output_fmt`` when its maps are not
    NCHW."""

    output_fmt = "NCHW"   # a model with NHWC maps sets its own in __init__ (TorchScript reads instance attributes)

    @torch.jit.unused
    def check_input(self, x: torch.Tensor) -> torch.Tensor:
        """The images checked (``check_image``) and in the model's dtype."""
        return check_image(x, self.in_chans, self.min_size, type(self).__name__, next(self.parameters()).dtype)

    @torch.jit.ignore
    def set_grad_checkpointing(self, enable: bool = True):
        """Activation checkpointing in every part that supports it (stages / blocks with a
        ``grad_checkpointing`` flag)."""
        for m in self.modules():
            if hasattr(m, "grad_checkpointing"):
                m.grad_checkpointing = enable

    @torch.jit.ignore
    def get_classifier(self) -> nn.Module:
        return self.head.fc

    @torch.jit.ignore
    def reset_classifier(self, num_classes: int, global_pool: Optional[str] = None):
        self.num_classes = num_classes
        self.head.reset(num_classes, pool_type=global_pool, in_features=self.num_features, **get_device_dtype(self))
        self.head_hidden_size = self.head.num_features
        if global_pool is not None:
            self.global_pool = global_pool

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        if self.output_fmt == "NCHW" and not pre_logits and self.head.global_pool.pool_type == "":
            # no pooling: the classifier on every position (a Linear wants the channels last)
            return self.head(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        return self.head(x, pre_logits=pre_logits)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))

    @torch.jit.ignore
    def load_pretrained(self, checkpoint_path, prefix=""):
        """timm's ``custom_load`` hook, for official files timm's plain loader cannot read (training checkpoints
        holding a yacs config, URLs without a file name): ``load_checkpoint`` (strict; a classifier of another
        class count keeps its initialisation, as timm does)."""
        load_checkpoint(self, checkpoint_path)


class PyramidMixin(ModelApiMixin):
    """A backbone of stages: ``stem`` -> stage 0 .. n-1 -> ``norm`` (of the last stage) -> head.

    Hooks: ``stem(x)`` (checked images -> the map entering stage 0), ``run_stage(i, x)`` -> (the stage's
    feature map, the map entering stage i + 1), ``num_stages()``, ``keep_stages(n)`` (drop the stages after the
    first n, and the last kept one's downsampling). The defaults run the modules of ``self.<stage_attr>`` one
    after the other (a stage's output is both its features and the next stage's input). ``output_fmt``: the
    layout of the stage maps ('NCHW' or 'NHWC'); ``forward_features`` returns the normed last map in it."""

    stage_attr = "stages"

    def stem(self, x):
        return x

    def run_stage(self, i, x):
        x = getattr(self, self.stage_attr)[i](x)
        return x, x

    def num_stages(self):
        return len(getattr(self, self.stage_attr))

    def keep_stages(self, n):
        setattr(self, self.stage_attr, getattr(self, self.stage_attr)[:n])

    def forward_features(self, x):
        """(B, C, H, W) images -> the last stage's normed map."""
        x = self.check_input(x)
        x = feat = self.stem(x)
        for i in range(self.num_stages()):
            feat, x = self.run_stage(i, x)
        return self.norm(feat)

    @torch.jit.ignore
    def forward_intermediates(
            self,
            x: torch.Tensor,
            indices: Optional[Union[int, List[int]]] = None,
            norm: bool = False,
            stop_early: bool = False,
            output_fmt: str = "NCHW",
            intermediates_only: bool = False,
    ) -> Union[List[torch.Tensor], Tuple[torch.Tensor, List[torch.Tensor]]]:
        """Stage feature maps (before each stage's downsampling), in ``output_fmt`` ('NCHW' or 'NHWC').

        Args:
            x: images (B, C, H, W) of any size >= ``min_size``.
            indices: take the last n stages if int, all if None, the listed ones if a sequence.
            norm: apply the final norm to the last stage's map (the only one it is sized for).
            stop_early: stop after the last stage needed.
            output_fmt: layout of the returned maps.
            intermediates_only: return only the list of maps.
        Returns:
            (final features as ``forward_features`` gives them, maps), or the maps alone.
        """
        check_output_fmt(output_fmt)
        x = self.check_input(x)
        num_stages = self.num_stages()
        take_indices, max_index = feature_take_indices(num_stages, indices)
        last = max_index if stop_early else num_stages - 1
        intermediates = []
        x = self.stem(x)
        feat = x
        for i in range(last + 1):
            feat, x = self.run_stage(i, x)
            if i in take_indices:
                y = self.norm(feat) if norm and i == num_stages - 1 else feat
                intermediates.append(to_format(y, self.output_fmt, output_fmt))
        if intermediates_only:
            return intermediates
        if last == num_stages - 1:
            feat = self.norm(feat)
        return feat, intermediates

    @torch.jit.ignore
    def prune_intermediate_layers(self, indices: Union[int, List[int]] = 1, prune_norm: bool = False,
                                  prune_head: bool = True) -> List[int]:
        """Drop the stages after the last wanted one. When that is not the last stage, the final norm and the head
        (sized for the last stage) go too and ``num_features`` becomes the last kept stage's width."""
        take_indices, max_index = feature_take_indices(self.num_stages(), indices)
        prune_end = max_index < self.num_stages() - 1
        self.keep_stages(max_index + 1)
        if prune_norm or prune_end:
            self.norm = nn.Identity()
        if prune_end:
            self.num_features = self.head_hidden_size = self.feature_info[max_index]["num_chs"]
        if prune_head or prune_end:
            self.reset_classifier(0, "")
        return take_indices


class VitLevelsMixin(ModelApiMixin):
    """A plain ViT (one stride-``patch_size`` token grid) giving four pyramid levels from the blocks
    ``feature_blocks`` (``visionattn.layers.vit_level``: strides patch / 4, patch / 2, patch, 2 * patch).

    Hooks: ``embed(x)`` (checked images -> (tokens, grid)), ``run_block(i, x, grid)``, ``patch_tokens(i, x)``
    (the grid tokens of block i's output). Linear ``head`` with 'token' / 'avg' / '' pooling, as timm's ViTs."""

    @torch.jit.ignore
    def get_classifier(self) -> nn.Module:
        return self.head

    @torch.jit.ignore
    def reset_classifier(self, num_classes: int, global_pool: Optional[str] = None):
        if global_pool is not None:
            if global_pool not in ("", "avg", "token"):
                raise ValueError(f"global_pool must be '', 'avg' or 'token', got {global_pool!r}")
            if global_pool == "token" and self.cls_token is None:
                raise ValueError("token pooling needs the class token, which pruning removed")
            self.global_pool = global_pool
        self.num_classes = num_classes
        self.head = nn.Linear(self.embed_dim, num_classes, **get_device_dtype(self)) if num_classes > 0 \
            else nn.Identity()

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        if self.global_pool == "avg":
            x = x[:, self.num_prefix_tokens:].mean(dim=1)
        elif self.global_pool == "token":
            x = x[:, 0]
        x = self.head_drop(x)
        return x if pre_logits else self.head(x)

    @torch.jit.ignore
    def forward_intermediates(
            self,
            x: torch.Tensor,
            indices: Optional[Union[int, List[int]]] = None,
            norm: bool = False,
            stop_early: bool = False,
            output_fmt: str = "NCHW",
            intermediates_only: bool = False,
    ) -> Union[List[torch.Tensor], Tuple[torch.Tensor, List[torch.Tensor]]]:
        """The four pyramid levels (strides 4, 8, 16, 32 for 16-pixel patches) at any input size.

        Args:
            x: images (B, C, H, W), H, W >= the patch size.
            indices: feature levels (0-3): the last n if int, all if None, the listed ones if a sequence.
            norm: apply the final norm to the tokens of each feature block first.
            stop_early: stop after the last feature block needed.
            output_fmt: 'NCHW' or 'NHWC'.
            intermediates_only: return only the list of levels.
        Returns:
            (final tokens after the norm, levels), or the levels alone.
        """
        check_output_fmt(output_fmt)
        x = self.check_input(x)
        take_indices, max_index = feature_take_indices(len(self.feature_blocks), indices)
        wanted = {self.feature_blocks[i]: i for i in take_indices}
        image_size = (x.shape[-2], x.shape[-1])
        x, grid = self.embed(x)
        last = self.feature_blocks[max_index] if stop_early else len(self.blocks) - 1
        levels = {}
        for i in range(last + 1):
            x = self.run_block(i, x, grid)
            if i in wanted:
                y = self.patch_tokens(i, self.norm(x) if norm else x)
                level = vit_level(y, grid, wanted[i], image_size, self.patch_size)
                levels[wanted[i]] = to_format(level, "NCHW", output_fmt)
        intermediates = [levels[i] for i in take_indices]
        if intermediates_only:
            return intermediates
        return self.norm(x), intermediates

    @torch.jit.ignore
    def prune_intermediate_layers(self, indices: Union[int, List[int]] = 1, prune_norm: bool = False,
                                  prune_head: bool = True) -> List[int]:
        """Drop the blocks after the last wanted level's block (every block has the same width, so
        ``num_features`` stays)."""
        take_indices, max_index = feature_take_indices(len(self.feature_blocks), indices)
        self.blocks = self.blocks[:self.feature_blocks[max_index] + 1]
        if prune_norm:
            self.norm = nn.Identity()
        if prune_head:
            self.reset_classifier(0, "")
        return take_indices
