"""Triton kernels: the GPU path of visionattn.ops (imported lazily; a CPU-only install has no triton)."""
