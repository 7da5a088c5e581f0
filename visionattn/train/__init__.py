"""Classification training engine (accelerate): ``tools/train.py`` and ``tools/test.py`` call into it."""
from .config import ConfigError, is_classification, load_config, resolve
from .engine import Trainer, create_model, find_checkpoint, load_weights

__all__ = ["ConfigError", "Trainer", "create_model", "find_checkpoint", "is_classification", "load_config",
           "load_weights", "resolve"]
