"""One file per family: architecture, timm registration, default cfgs, checkpoint conversion.

Importing this package imports every family module, which registers its models with timm."""
import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__):
    if not _module.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_module.name}")
