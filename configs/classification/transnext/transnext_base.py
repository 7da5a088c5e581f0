# TransNeXt-Base on ImageNet-1k, 224: DaiShiResearch/TransNeXt classification/configs/transnext_base.py (drop path
# 0.6, clip grad 1.0, 300 epochs), top-1 84.8 (classification/README.md).
# batch: 8 GPUs x 128 per GPU = 1024
# (The 384 fine-tune, configs/finetune/transnext_base_384_ft.py -> tag transnext_base.in1k_384, 86.2: 5 epochs,
# lr 1e-5, no schedule, cutmix 0, drop path 0.8, clip 1.0; not a separate config here.)
_base_ = ['./_transnext_base.py']
model = dict(name='transnext_base', drop_path_rate=0.6)
