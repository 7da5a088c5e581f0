# Swin Transformer (ICCV 2021) paper Table 3: UperNet 160k, ADE20K 512x512, Swin-B, ImageNet-1k pretrained:
# mIoU 48.1 single scale (49.7 multi-scale + flip).
# Checkpoint: the ImageNet-1k release (timm tag va_swin_base_patch4_window7_224.ms_in1k) the paper used at 512;
# timm's default tag for this variant is the ImageNet-22k fine-tuned one.
# 8 GPUs x 2 images (batch 16), AdamW lr 6e-5, weight decay 0.01 (none on norms and position tables),
# linear warm-up 1500 iterations then poly decay (power 1), drop path 0.3, auxiliary FCN head on stage 3.
_base_ = [
    'mmseg::_base_/models/upernet_swin.py',
    'mmseg::_base_/datasets/ade20k.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_160k.py',
]
custom_imports = dict(imports=['visionattn.mm'], allow_failed_imports=False)
pretrained = 'https://github.com/SwinTransformer/storage/releases/download/v1.0.0/swin_base_patch4_window7_224.pth'
crop_size = (512, 512)
model = dict(
    data_preprocessor=dict(size=crop_size),
    pretrained=None,
    backbone=dict(_delete_=True, type='VisionAttnBackbone', model_name='va_swin_base_patch4_window7_224',
                  out_indices=(0, 1, 2, 3), drop_path_rate=0.3, out_norm='LN',
                  init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    decode_head=dict(in_channels=[128, 256, 512, 1024], num_classes=150),
    auxiliary_head=dict(in_channels=512, num_classes=150))
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=6e-5, betas=(0.9, 0.999), weight_decay=0.01),
    paramwise_cfg=dict(custom_keys={'relative_position_bias_table': dict(decay_mult=0.0),
                                    'norm': dict(decay_mult=0.0)}))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500),
    dict(type='PolyLR', eta_min=0.0, power=1.0, begin=1500, end=160000, by_epoch=False),
]
train_dataloader = dict(batch_size=2)
val_dataloader = dict(batch_size=1)
test_dataloader = val_dataloader
