# Swin Transformer ImageNet-1k-from-scratch base: microsoft/Swin-Transformer config.py defaults (300 epochs,
# AdamW, lr 5e-4 x total batch / 512, weight decay 0.05, cosine with 20 warmup epochs, warmup_lr 5e-7 / min_lr 5e-6
# x batch / 512, clip grad 5.0, RandAugment rand-m9-mstd0.5-inc1, mixup 0.8 / cutmix 1.0, label smoothing 0.1,
# random erasing 0.25, val crop 224 / 256) with get_started.md's 8-GPU launches (total batch 1024).
# Not reproduced: LR_SCHEDULER.WARMUP_PREFIX=True (the official cosine spans epochs - warmup after the warmup; the
# engine's spans all epochs), and no EMA (none in the official recipe either).
_base_ = ['../_base_/imagenet_swin_recipe.py']
data = dict(crop_pct=0.875)
