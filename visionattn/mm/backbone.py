"""Every registered visionattn / timm model as an mmdet / mmseg backbone.

    backbone=dict(type='VisionAttnBackbone', model_name='biformer_s', out_indices=(0, 1, 2, 3),  # None: all
                  drop_path_rate=0.3, frozen_stages=-1, norm_eval=False, with_cp=False, out_norm='LN',
                  model_kwargs=dict(n_win=16),
                  init_cfg=dict(type='Pretrained', checkpoint='https://.../biformer_small_best.pth'))

The timm feature model of the variant (``features_only=True``) gives the levels; ``init_cfg`` loads an
official release (classification, or an mmdet / mmseg checkpoint of the backbone) through the family's
own ``checkpoint_filter_fn``, the same conversion as ``pretrained=True``, after timm's initialisation and
instead of mmengine's (no double initialisation).
"""
import importlib
import logging

import timm
import torch
from mmengine.model import BaseModule
from timm.models._registry import model_entrypoint
from torch import nn

from visionattn.models._builder import unwrap_checkpoint

LOG = logging.getLogger("visionattn.mm")


class _LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels of an NCHW map (Swin's / BiFormer's per-level output norms)."""

    def forward(self, x):
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


def _out_norm(kind, channels):
    if kind == "LN":
        return _LayerNorm2d(channels)
    if kind == "BN":
        return nn.BatchNorm2d(channels)
    if kind == "SyncBN":
        return nn.SyncBatchNorm(channels)
    raise ValueError(f"out_norm must be None, 'LN', 'BN' or 'SyncBN', got {kind!r}")


def load_checkpoint_file(path):
    """A state dict from a local file or URL, without unpickling code (safetensors or weights_only)."""
    if path.startswith(("http://", "https://")):
        return torch.hub.load_state_dict_from_url(path, map_location="cpu", weights_only=True, check_hash=False)
    from timm.models import load_state_dict
    return load_state_dict(path, use_ema=False)


class VisionAttnBackbone(BaseModule):
    def __init__(self, model_name, out_indices=None, frozen_stages=-1, norm_eval=False, with_cp=False,
                 drop_path_rate=None, out_norm=None, model_kwargs=None, init_cfg=None):
        super().__init__(init_cfg=None)   # init_cfg is applied by init_weights below, through the family's filter
        import visionattn  # noqa: F401  (registers the zoo)
        if not timm.is_model(model_name):
            raise KeyError(f"VisionAttnBackbone: unknown model {model_name!r}")
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
        self.out_norms = nn.ModuleList([_out_norm(out_norm, c) for c in self.channels]) if out_norm else None
        self._freeze()

    @property
    def net(self):
        """The wrapped timm model (inside timm's feature wrapper)."""
        return self.model.model

    def init_weights(self):
        if not self.pretrained:
            return
        state = unwrap_checkpoint(load_checkpoint_file(self.pretrained))
        if any(k.startswith("backbone.") for k in state):   # an mmdet / mmseg checkpoint: keep the backbone
            state = {k[len("backbone."):]: v for k, v in state.items() if k.startswith("backbone.")}
        own = "model.model."                                   # saved by this adapter
        if any(k.startswith(own) for k in state):
            norms = {k[len("out_norms."):]: v for k, v in state.items() if k.startswith("out_norms.")}
            if norms and self.out_norms is not None:
                self.out_norms.load_state_dict(norms)
            state = {k[len(own):]: v for k, v in state.items() if k.startswith(own)}
        else:                                                  # an official release: the family's conversion
            self._load_official_level_norms(state)
            module = importlib.import_module(model_entrypoint(self.model_name).__module__)
            filter_fn = getattr(module, "checkpoint_filter_fn", None)
            if filter_fn is not None:
                state = filter_fn(state, self.net)
        result = self.net.load_state_dict(state, strict=False)
        if result.missing_keys:
            raise RuntimeError(f"checkpoint {self.pretrained!r} does not fill backbone {self.model_name!r}: "
                               f"missing keys {result.missing_keys[:20]}")
        if result.unexpected_keys:   # the classifier and layers after the last taken level
            LOG.info(f"{self.model_name}: ignored checkpoint keys {result.unexpected_keys[:20]}")

    def _load_official_level_norms(self, state):
        """Official dense checkpoints (Swin's, BiFormer's mmdet / mmseg backbones) keep one output norm per
        level as ``norm{i}``; they are this adapter's ``out_norms``."""
        if self.out_norms is None:
            return
        levels = self.model.feature_info.out_indices
        for norm, level in zip(self.out_norms, levels):
            own = {k.split(".", 1)[1]: state.pop(k) for k in list(state) if k.startswith(f"norm{level}.")}
            if own:
                norm.load_state_dict(own)

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
