# TransNeXt-Micro on ImageNet-1k, 224: DaiShiResearch/TransNeXt classification/configs/transnext_micro.py (drop path
# 0.15, clip grad 1.0, 300 epochs), top-1 82.5 (classification/README.md).
# batch: 8 GPUs x 128 per GPU = 1024
_base_ = ['./_transnext_base.py']
model = dict(name='transnext_micro', drop_path_rate=0.15)
