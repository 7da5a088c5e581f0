"""Classification training engine (accelerate)."""
