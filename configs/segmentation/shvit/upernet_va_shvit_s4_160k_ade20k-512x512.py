# SHViT (CVPR 2024): No paper number (the paper reports no ADE20K result; this config exists so that the
# family has a segmentation setting). Swin-T's UperNet 160k recipe (Swin paper Table 3 setting):
# 8 GPUs x 2 images (batch 16), 512x512 crops, AdamW lr 6e-5, weight decay 0.01 (none on norms),
# linear warm-up 1500 iterations then poly decay (power 1); BatchNorm in eval mode (as the official
# SHViT dense backbone), no drop path (SHViT has none). SHViT gives 3 levels (strides 16, 32, 64): the
# UperNet head takes all three, the auxiliary FCN head the stride-32 level.
_base_ = [
    'mmseg::_base_/models/upernet_r50.py',
    'mmseg::_base_/datasets/ade20k.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_160k.py',
]
custom_imports = dict(imports=['visionattn.mm'], allow_failed_imports=False)
# official release (timm tag va_shvit_s4.orig_in1k; the default tag va_shvit_s4.in1k is hub-only)
pretrained = 'https://github.com/ysj9909/SHViT/releases/download/v1.0/shvit_s4.pth'
crop_size = (512, 512)
model = dict(
    data_preprocessor=dict(size=crop_size),
    pretrained=None,
    backbone=dict(
        _delete_=True, type='VisionAttnBackbone', model_name='va_shvit_s4', out_indices=(0, 1, 2),
        out_norm=None, norm_eval=True, with_cp=False,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    decode_head=dict(in_channels=[224, 336, 448], num_classes=150, in_index=[0, 1, 2]),
    auxiliary_head=dict(in_channels=336, num_classes=150, in_index=1))
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=6e-5, betas=(0.9, 0.999), weight_decay=0.01),
    paramwise_cfg=dict(norm_decay_mult=0.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500),
    dict(type='PolyLR', eta_min=0.0, power=1.0, begin=1500, end=160000, by_epoch=False),
]
train_dataloader = dict(batch_size=2)
val_dataloader = dict(batch_size=1)
test_dataloader = val_dataloader
