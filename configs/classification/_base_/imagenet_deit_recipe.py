# ImageNet-1k at 224 with the DeiT training recipe that BiFormer, Agent Attention, LITv2, TransNeXt, Swin, ConViT
# and HaloNet-style transformers follow (300 epochs, AdamW, lr 5e-4 x batch / 512, cosine, RandAugment, mixup 0.8,
# cutmix 1.0, label smoothing 0.1, random erasing 0.25). Variant configs override what their paper changes.
_base_ = ['./default_runtime.py']
data = dict(type='imagenet', root='data/imagenet', train_split='train', val_split='val', num_classes=1000,
            img_size=224, batch_size=128, num_workers=8, interpolation='bicubic', crop_pct=0.875,
            auto_augment='rand-m9-mstd0.5-inc1', color_jitter=0.4, reprob=0.25, mixup=0.8, cutmix=1.0,
            label_smoothing=0.1)
optim = dict(opt='adamw', lr=5e-4, lr_scale_batch=512, weight_decay=0.05, clip_grad=None)
sched = dict(sched='cosine', epochs=300, warmup_epochs=5, warmup_lr=1e-6, min_lr=1e-5, cooldown_epochs=10)
