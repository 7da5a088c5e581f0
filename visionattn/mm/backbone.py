"""Every registered visionattn / timm model as an mmdet / mmseg backbone.

    backbone=dict(type='VisionAttnBackbone', model_name='biformer_s', out_indices=(0, 1, 2, 3),  # None: all
                  drop_path_rate=0.3, frozen_stages=-1, norm_eval=False, with_cp=False, out_norm='LN',
                  model_kwargs=dict(n_win=16),
                  init_cfg=dict(type='Pretrained', checkpoint='timm'))   # or a file / URL

``checkpoint='timm'`` takes the variant's own release from its timm pretrained cfg (the same file as
``pretrained=True``; the tag in ``model_name``, e.g. ``'agent_swin_s.in1k_288'``, picks another release).

The timm feature model of the variant (``features_only=True``) gives the levels; ``init_cfg`` loads an
official release (classification, or an mmdet / mmseg checkpoint of the backbone) through the family's
own ``checkpoint_filter_fn``, the same conversion as ``pretrained=True``, after timm's initialisation and
instead of mmengine's (no double initialisation).

``out_norm``: a norm on every output level ('LN', 'BN', 'SyncBN', dict(type='LN', eps=1e-6)), or a list with one
per level (None: none there, e.g. [None, 'LN', 'LN', 'LN'] as LITv2's official detection backbone).
"""
import hashlib
import logging
import os
from urllib.parse import urlparse

import timm
from timm.layers import LayerNorm2d
from mmengine.model import BaseModule
from torch import nn

from visionattn.checkpoint import CheckpointError, pretrained_file, read_checkpoint, unwrap_checkpoint
from visionattn.models import check_model_name, load_checkpoint
from visionattn.models._base import checkpoint_filter_of

LOG = logging.getLogger("visionattn.mm")


def _out_norm(kind, channels):
    """``kind``: 'LN' (eps 1e-5, nn.LayerNorm's, as Swin's official per-level norms), 'BN', 'SyncBN', or a dict
    with a type and its options, e.g. dict(type='LN', eps=1e-6) (timm's LayerNorm2d default, BiFormer's)."""
    kind, options = (kind.get("type"), {k: v for k, v in kind.items() if k != "type"}) if isinstance(kind, dict) \
        else (kind, {})
    types = {"LN": lambda c, eps=1e-5: LayerNorm2d(c, eps=eps), "BN": nn.BatchNorm2d, "SyncBN": nn.SyncBatchNorm}
    if kind not in types:
        raise ValueError(f"out_norm must be None, 'LN', 'BN', 'SyncBN' or a dict(type=..., eps=...) of them, "
                         f"got {kind!r}")
    try:
        return types[kind](channels, **options)
    except TypeError as e:
        raise ValueError(f"out_norm {kind!r}: unsupported options {options} ({e})") from e


def _out_norms(out_norm, channels):
    """One norm per output level: ``out_norm`` for all, or a list with one entry per level (None: no norm, as
    LITv2's official detection backbone on level 0)."""
    if not out_norm:
        return None
    kinds = list(out_norm) if isinstance(out_norm, (list, tuple)) else [out_norm] * len(channels)
    if len(kinds) != len(channels):
        raise ValueError(f"out_norm lists {len(kinds)} norms for {len(channels)} output levels")
    return nn.ModuleList([_out_norm(k, c) if k else nn.Identity() for k, c in zip(kinds, channels)])


class VisionAttnBackbone(BaseModule):
    def __init__(self, model_name, out_indices=None, frozen_stages=-1, norm_eval=False, with_cp=False,
                 drop_path_rate=None, out_norm=None, model_kwargs=None, init_cfg=None):
        super().__init__(init_cfg=None)   # init_cfg is applied by init_weights below, through the family's filter
        import visionattn  # noqa: F401  (registers the zoo)
        check_model_name(model_name, KeyError, "VisionAttnBackbone: ")
        if init_cfg is not None and init_cfg.get("type") != "Pretrained":
            raise ValueError(f"VisionAttnBackbone supports init_cfg=dict(type='Pretrained', checkpoint=...) only, "
                             f"got {init_cfg}")
        self.model_name, self.pretrained = model_name, (init_cfg or {}).get("checkpoint")
        self.frozen_stages, self.norm_eval = frozen_stages, norm_eval
        kwargs = dict(model_kwargs or {})
        if drop_path_rate is not None:   # not every family has drop path (SHViT has none)
            kwargs["drop_path_rate"] = drop_path_rate
        if out_indices is not None:   # default: every level the family gives (SHViT 3, HaloNet 5 with stride 2)
            kwargs["out_indices"] = tuple(out_indices)
        self.model = timm.create_model(model_name, features_only=True, **kwargs)
        if with_cp:
            self.net.set_grad_checkpointing(True)
        self.channels = self.model.feature_info.channels()
        self.out_norms = _out_norms(out_norm, self.channels)
        self._freeze()
        # whole detector / segmentor checkpoints in the official layout (load_from, tools/test.py, any
        # model.load_state_dict) are converted when they reach this module
        self.register_load_state_dict_pre_hook(convert_official_keys)

    @property
    def net(self):
        """The wrapped timm model (inside timm's feature wrapper)."""
        return self.model.model

    def weights_file(self):
        """The local file ``init_cfg`` names: ``'timm'`` (the variant's release, as ``pretrained=True``), a URL
        (downloaded under the release's file name when it is the variant's own URL, else a name that keeps URLs
        apart), or a path."""
        if self.pretrained == "timm":
            return pretrained_file(self.net.pretrained_cfg, self.model_name)
        if not self.pretrained.startswith(("http://", "https://")):
            return self.pretrained
        cfg = dict(self.net.pretrained_cfg)
        url = cfg.get("url")
        if isinstance(url, (tuple, list)) and url[0] == self.pretrained:
            name = url[1]
        else:   # share links often name no file ('.../content', '.../?dl=1'): the URL's hash keeps them apart
            base = os.path.basename(urlparse(self.pretrained).path) or "weights"
            name = f"{hashlib.sha256(self.pretrained.encode()).hexdigest()[:12]}-{base}"
        return pretrained_file(dict(cfg, url=(self.pretrained, name), hf_hub_id=None, file=None), self.model_name)

    def init_weights(self):
        """``init_cfg``'s weights into the backbone through the family's conversion (``load_checkpoint``): official
        releases, official dense checkpoints (keys under ``backbone.``, per-level norms), this adapter's own. Every
        backbone tensor must be filled; the classifier and layers after the last level are ignored."""
        if not self.pretrained:
            return
        path = self.weights_file()
        state = unwrap_checkpoint(read_checkpoint(path))
        if any(k.startswith("backbone.") for k in state):   # an mmdet / mmseg checkpoint: keep the backbone
            state = {k[len("backbone."):]: v for k, v in state.items() if k.startswith("backbone.")}
        own = "model.model."                                   # saved by this adapter
        if any(k.startswith(own) for k in state):
            norms = {k[len("out_norms."):]: v for k, v in state.items() if k.startswith("out_norms.")}
            if norms and self.out_norms is not None:
                self.out_norms.load_state_dict(norms)
            state = {k[len(own):]: v for k, v in state.items() if k.startswith(own)}
        elif self.out_norms is not None:
            norms = self._take_official_level_norms(state)
            if norms:   # a dense checkpoint's level norms fill them all; a classification release has none
                self.out_norms.load_state_dict(norms)
            else:
                LOG.info(f"{self.model_name}: {path!r} has no per-level output norms; they keep their initialisation")
        report = load_checkpoint(self.net, state, strict=False)
        if report["missing"] or report["mismatched"]:
            raise CheckpointError(f"checkpoint {path!r} does not fill backbone {self.model_name!r}: "
                                  f"{len(report['missing'])} missing keys {report['missing'][:20]}, mismatched "
                                  f"{report['mismatched'][:5]}")
        if report["unexpected"]:   # the classifier and layers after the last taken level
            LOG.info(f"{self.model_name}: ignored checkpoint keys {report['unexpected'][:20]}")

    def _take_official_level_norms(self, state):
        """Official dense backbones keep one output norm per level, Swin's as ``norm{level}``, BiFormer's as
        ``extra_norms.{level}``: they are this adapter's ``out_norms``; taken out of ``state`` as ``out_norms``'
        state dict."""
        norms = {}
        levels = self.model.feature_info.out_indices
        for j, level in enumerate(levels):
            for name in (f"norm{level}.", f"extra_norms.{level}."):
                for k in [k for k in state if k.startswith(name)]:
                    norms[f"{j}.{k[len(name):]}"] = state.pop(k)
        return norms

    def to_adapter_layout(self, state):
        """An official dense backbone's state dict (keys as in the official backbone: the family's classification
        layout, plus per-level norms) -> this module's keys (``model.model.*``, ``out_norms.*``), through the
        family's ``checkpoint_filter_fn``; keys the conversion does not place stay visible to a strict load."""
        state = dict(state)
        norms = self._take_official_level_norms(state) if self.out_norms is not None else {}
        filter_fn = checkpoint_filter_of(self.net)
        if filter_fn is not None and state:
            state = filter_fn(state, self.net)
        out = {f"model.model.{k}": v for k, v in state.items()}
        out.update({f"out_norms.{k}": v for k, v in norms.items()})
        return out

    def _freeze(self):
        if self.frozen_stages < 0:
            return
        from timm.models._manipulate import group_parameters
        groups = group_parameters(self.net, self.net.group_matcher(coarse=True))
        names = dict(self.net.named_parameters())
        for ordinal, (_, params) in enumerate(sorted(groups.items())):
            if ordinal > self.frozen_stages:   # group 0: the stem; group i: stage i - 1
                break
            for n in params:
                names[n].requires_grad_(False)

    def train(self, mode=True):
        super().train(mode)
        if mode and self.frozen_stages >= 0:   # frozen parts stay in eval mode (norm statistics, dropout)
            for m in self.net.modules():
                params = list(m.parameters())
                if params and not any(p.requires_grad for p in params):
                    m.eval()
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, nn.modules.batchnorm._BatchNorm):
                    m.eval()
        return self

    def forward(self, x):
        feats = self.model(x)
        if self.out_norms is not None:
            feats = [norm(f) for norm, f in zip(self.out_norms, feats)]
        return tuple(feats)


def convert_official_keys(module, state_dict, prefix, *args):
    """In place: the official-layout keys of ``module`` (a ``VisionAttnBackbone``) under ``prefix`` in a whole
    model's ``state_dict`` -> the adapter's (a load_state_dict pre-hook; our own keys pass unchanged)."""
    own = (prefix + "model.", prefix + "out_norms.")
    official = [k for k in state_dict if k.startswith(prefix) and not k.startswith(own)]
    if not official:
        return
    converted = module.to_adapter_layout({k[len(prefix):]: state_dict.pop(k) for k in official})
    state_dict.update({prefix + k: v for k, v in converted.items()})
