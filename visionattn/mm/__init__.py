"""mmdet / mmseg backbone adapters (imported only through custom_imports)."""
