# ConViT base: facebookresearch/convit main.py defaults (the DeiT recipe: 300 epochs, AdamW, lr 5e-4 x total
# batch / 512, weight decay 0.05, cosine, 5 warmup epochs, warmup_lr 1e-6, min_lr 1e-5, drop path 0.1,
# RandAugment rand-m9-mstd0.5-inc1, mixup 0.8 / cutmix 1.0, label smoothing 0.1, random erasing 0.25, no
# clipping, no EMA (model_ema defaults to False here)); total batch 1024 in every launch the README gives.
# Not reproduced: repeated augmentation (on by default; the engine has no repeated-augment sampler).
_base_ = ['../_base_/imagenet_deit_recipe.py']
optim = dict(opt='adamw', lr=5e-4, lr_scale_batch=512, weight_decay=0.05, clip_grad=None)
sched = dict(sched='cosine', epochs=300, warmup_epochs=5, warmup_lr=1e-6, min_lr=1e-5, cooldown_epochs=10)
