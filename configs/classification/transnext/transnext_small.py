# TransNeXt-Small on ImageNet-1k, 224: DaiShiResearch/TransNeXt classification/configs/transnext_small.py (drop path
# 0.45, clip grad 1.0, 300 epochs), top-1 84.7 (classification/README.md).
# batch: 8 GPUs x 128 per GPU = 1024
# (The 384 fine-tune, configs/finetune/transnext_small_384_ft.py -> tag transnext_small.in1k_384, 86.0: 5 epochs,
# lr 1e-5, no schedule, cutmix 0, drop path 0.7, clip 1.0; not a separate config here.)
_base_ = ['./_transnext_base.py']
model = dict(name='transnext_small', drop_path_rate=0.45)
