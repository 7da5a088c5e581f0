# TransNeXt base: DaiShiResearch/TransNeXt classification/main.py defaults (PVT / DeiT codebase): 300 epochs,
# AdamW, lr 1e-3 as given (main.py does not scale it by batch), weight decay 0.05, cosine, 5 warmup epochs,
# warmup_lr 1e-6, min_lr 1e-5, RandAugment rand-m9-mstd0.5-inc1, mixup 0.8 / cutmix 1.0, label smoothing 0.1,
# random erasing 0.25; every config sets clip grad 1.0. README: "we use a batch size of 1024 for training in the
# paper" (8 GPUs x 128). No EMA (README: the best checkpoint is kept, as in BiFormer).
# Not reproduced: repeated augmentation (on by default; the engine has no repeated-augment sampler).
_base_ = ['../_base_/imagenet_deit_recipe.py']
data = dict(batch_size=128)
optim = dict(opt='adamw', lr=1e-3, lr_scale_batch=None, weight_decay=0.05, clip_grad=1.0)
sched = dict(sched='cosine', epochs=300, warmup_epochs=5, warmup_lr=1e-6, min_lr=1e-5, cooldown_epochs=10)
