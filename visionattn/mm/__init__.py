"""mmdet / mmseg adapters, imported by configs through
``custom_imports=dict(imports=['visionattn.mm'], allow_failed_imports=False)``: registers
``VisionAttnBackbone`` in the mmdet and mmseg model registries (whichever is installed), and the official necks
mmdet 3.3 does not have (``visionattn.mm.necks``) in mmdet's."""
import importlib

from .backbone import VisionAttnBackbone
from .compat import allow_mmengine_checkpoints, safe_url_checkpoints
from .necks import EfficientViTFPN

allow_mmengine_checkpoints()
safe_url_checkpoints()

REGISTERED = []
for _scope in ("mmdet", "mmseg"):
    try:
        _registry = importlib.import_module(f"{_scope}.registry").MODELS
    except ImportError:
        continue
    _registry.register_module(name="VisionAttnBackbone", module=VisionAttnBackbone, force=True)
    if _scope == "mmdet":
        _registry.register_module(name="EfficientViTFPN", module=EfficientViTFPN, force=True)
    REGISTERED.append(_scope)

if not REGISTERED:
    raise ImportError("visionattn.mm needs mmdet or mmsegmentation: install the dense extra (make dense)")

__all__ = ["VisionAttnBackbone", "EfficientViTFPN", "REGISTERED"]
