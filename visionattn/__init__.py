"""visionattn: vision backbones on efficient attention, registered with timm on import."""
__version__ = "0.1.0"
