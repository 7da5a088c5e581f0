# HaloNet family base (timm ByoaNet variants; timm trained the released weights with its own train.py).
# APPROXIMATION: the per-model commands behind timm's halo weights are unpublished. Their pretrained tags name a
# recipe family only (timm hfdocs/source/hparams.mdx): 'a1h' = ResNet Strikes Back A1 with stronger dropout, stochastic
# depth and RandAugment (values not given); 'c1' = RSB 'C' (SGD Nesterov + AGC, cosine); 'ra2' / 'ra3' = RandAugment
# recipes (RMSProp-TF, EMA, step decay). This base is the fully published RSB A1 procedure (Wightman, Touvron,
# Jegou 2021, arXiv:2110.00476, Table 1), the documented base of the 'a1h' tag most of these weights carry:
# 600 epochs, LAMB, lr 5e-3 at batch 2048 (absolute), weight decay 0.01, cosine, 5 warmup epochs, drop path 0.05,
# RandAugment rand-m7-mstd0.5-inc1, mixup 0.2 / cutmix 1.0, no label smoothing, no random erasing, no color
# jitter, no EMA, no clipping, test crop 0.95 (variants use their weights' timm eval crop, 0.94 or 0.95); one
# node of 4 GPUs (RSB: 4 x V100 32GB).
# warmup_lr 1e-4 / min_lr 1e-6: timm train.py's defaults of that time.
# Not reproduced: BCE loss (RSB trains with binary cross-entropy on mixed targets; the engine uses soft-target
# cross-entropy), repeated augmentation (3 repeats), and mixed precision (set train.mixed_precision to taste).
_base_ = ['../_base_/default_runtime.py']
data = dict(type='imagenet', root='data/imagenet', train_split='train', val_split='val', num_classes=1000,
            img_size=256, batch_size=512, num_workers=8, interpolation='bicubic', crop_pct=0.95,
            auto_augment='rand-m7-mstd0.5-inc1', color_jitter=0.0, reprob=0.0, mixup=0.2, cutmix=1.0,
            mixup_prob=1.0, mixup_switch_prob=0.5, label_smoothing=0.0)
model = dict(drop_path_rate=0.05)
optim = dict(opt='lamb', lr=5e-3, lr_scale_batch=None, weight_decay=0.01, clip_grad=None)
sched = dict(sched='cosine', epochs=600, warmup_epochs=5, warmup_lr=1e-4, min_lr=1e-6, cooldown_epochs=0)
