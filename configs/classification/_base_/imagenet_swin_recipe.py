# ImageNet-1k at 224 with the Swin Transformer codebase's recipe (microsoft/Swin-Transformer config.py defaults),
# which Swin, LITv2 and Agent-Swin / Agent-DeiT train with: 300 epochs, AdamW, lr 5e-4 x batch / 512, weight decay
# 0.05, cosine, 20 warmup epochs, clip grad 5.0, RandAugment rand-m9-mstd0.5-inc1, mixup 0.8 / cutmix 1.0, label
# smoothing 0.1, random erasing 0.25, bicubic, val center crop 224 / 256.
# The codebase also scales warmup_lr (5e-7) and min_lr (5e-6) by batch / 512; the engine scales only lr, so the
# absolute values for a total batch of 1024 are set here (2x) and a variant with another batch overrides them.
_base_ = ['./default_runtime.py']
data = dict(type='imagenet', root='data/imagenet', train_split='train', val_split='val', num_classes=1000,
            img_size=224, batch_size=128, num_workers=8, interpolation='bicubic', crop_pct=0.875,
            auto_augment='rand-m9-mstd0.5-inc1', color_jitter=0.4, reprob=0.25, mixup=0.8, cutmix=1.0,
            mixup_prob=1.0, mixup_switch_prob=0.5, label_smoothing=0.1)
optim = dict(opt='adamw', lr=5e-4, lr_scale_batch=512, weight_decay=0.05, clip_grad=5.0)
sched = dict(sched='cosine', epochs=300, warmup_epochs=20, warmup_lr=1e-6, min_lr=1e-5, cooldown_epochs=0)
