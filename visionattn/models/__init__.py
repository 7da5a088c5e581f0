"""One file per family: architecture, timm registration, default cfgs, checkpoint conversion.

Importing this package imports every family module, which registers its models with timm.
``load_checkpoint(model, file_or_state_dict, strict=True)`` loads weights into any of them the way every path of
the project does (official layouts converted, missing / unexpected keys reported)."""
import importlib
import pkgutil

from ._base import check_model_name, load_checkpoint  # noqa: F401

for _module in pkgutil.iter_modules(__path__):
    if not _module.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_module.name}")
