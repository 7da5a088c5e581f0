"""mmdet / mmseg adapters, imported by configs through
``custom_imports=dict(imports=['visionattn.mm'], allow_failed_imports=False)``: registers
``VisionAttnBackbone`` in the mmdet and mmseg model registries (whichever is installed)."""
import importlib

from .backbone import VisionAttnBackbone
from .compat import allow_mmengine_checkpoints

allow_mmengine_checkpoints()

REGISTERED = []
for _scope in ("mmdet", "mmseg"):
    try:
        _registry = importlib.import_module(f"{_scope}.registry").MODELS
    except ImportError:
        continue
    _registry.register_module(name="VisionAttnBackbone", module=VisionAttnBackbone, force=True)
    REGISTERED.append(_scope)

if not REGISTERED:
    raise ImportError("visionattn.mm needs mmdet or mmsegmentation: install the dense extra (make dense)")

__all__ = ["VisionAttnBackbone", "REGISTERED"]
