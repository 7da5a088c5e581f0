# TransNeXt-Tiny on ImageNet-1k, 224: DaiShiResearch/TransNeXt classification/configs/transnext_tiny.py (drop path
# 0.25, clip grad 1.0, 300 epochs), top-1 84.0 (classification/README.md).
# batch: 8 GPUs x 128 per GPU = 1024
_base_ = ['./_transnext_base.py']
model = dict(name='transnext_tiny', drop_path_rate=0.25)
