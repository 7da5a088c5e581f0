# SHViT base: ysj9909/SHViT main.py defaults with the README's launch (8 GPUs, --batch-size default 256):
# 300 epochs, AdamW, lr 1e-3 x total batch / 512 (= 4e-3 at 2048), cosine, 5 warmup epochs, warmup_lr 1e-6,
# min_lr 1e-5, RandAugment rand-m9-mstd0.5-inc1, mixup 0.8 / cutmix 1.0, label smoothing 0.1, random erasing
# 0.25, model EMA 0.99996 (on by default), no drop path (the models have none), no distillation (the README
# commands leave --distillation-type at 'none'). Weight decay differs per variant (README commands).
# Not reproduced: gradient clipping is adaptive (--clip-grad 0.02 --clip-mode agc); the engine clips the global
# norm only, and a norm clip at 0.02 would be a different, far stronger constraint, so clipping is off here.
# Not reproduced: repeated augmentation (on by default; the engine has no repeated-augment sampler).
_base_ = ['../_base_/imagenet_deit_recipe.py']
data = dict(batch_size=256)
optim = dict(opt='adamw', lr=1e-3, lr_scale_batch=512, clip_grad=None)
sched = dict(sched='cosine', epochs=300, warmup_epochs=5, warmup_lr=1e-6, min_lr=1e-5, cooldown_epochs=10)
train = dict(ema_decay=0.99996)
