"""nn.Modules built on visionattn.ops: attention modules and shared blocks."""
