"""One file per family: architecture, timm registration, default cfgs, checkpoint conversion."""
