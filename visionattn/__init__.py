"""visionattn: vision backbones on efficient attention; importing it registers every model with timm."""
__version__ = "0.1.0"

from . import models  # noqa: E402,F401  (registers the zoo with timm)
