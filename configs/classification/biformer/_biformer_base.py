# BiFormer family base: rayleizhu/BiFormer main.py / configs/train_args.yaml defaults (the DeiT recipe: 300 epochs,
# AdamW, lr 5e-4 x total batch / 512, weight decay 0.05, cosine, 5 warmup epochs, warmup_lr 1e-6, min_lr 1e-5,
# RandAugment rand-m9-mstd0.5-inc1, mixup 0.8 / cutmix 1.0, label smoothing 0.1, random erasing 0.25, no clipping)
# with the README's launch: 8 GPUs x batch 128 = 1024 (lr 1e-3, the paper's Sec. 4.1 value).
# model_ema is on by default in the official main.py (decay 0.99996); the reported top-1 is the raw model's.
# Not reproduced: repeated augmentation (DeiT RASampler, on by default; the engine has no such sampler).
_base_ = ['../_base_/imagenet_deit_recipe.py']
data = dict(batch_size=128)
optim = dict(opt='adamw', lr=5e-4, lr_scale_batch=512, weight_decay=0.05, clip_grad=None)
sched = dict(sched='cosine', epochs=300, warmup_epochs=5, warmup_lr=1e-6, min_lr=1e-5, cooldown_epochs=10)
train = dict(ema_decay=0.99996)
