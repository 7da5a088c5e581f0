# HaloNet (CVPR 2021): No paper number (the paper reports no ADE20K result).
# Swin-T's UperNet 160k recipe (Swin paper Table 3 setting): 8 GPUs x 2 images (batch 16), 512x512
# crops, AdamW lr 6e-5, weight decay 0.01 (none on norms and relative position tables),
# linear warm-up 1500 iterations then poly decay (power 1), drop path 0.3, auxiliary FCN head on the
# stride-16 level.
# Backbone: levels 1-4 of timm's five (strides 4-32), BatchNorm in eval mode (2 images per GPU; timm's
# BatchNormAct2d would lose its activation in torch's SyncBatchNorm conversion), no extra output norms.
_base_ = [
    'mmseg::_base_/models/upernet_r50.py',
    'mmseg::_base_/datasets/ade20k.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_160k.py',
]
custom_imports = dict(imports=['visionattn.mm'], allow_failed_imports=False)
# timm pretrained_cfg url (timm's a1h recipe, 256px)
pretrained = 'https://github.com/rwightman/pytorch-image-models/releases/download/v0.1-attn-weights/halonet50ts_a1h2_256-f3a3daee.pth'
crop_size = (512, 512)
model = dict(
    data_preprocessor=dict(size=crop_size),
    pretrained=None,
    backbone=dict(
        _delete_=True, type='VisionAttnBackbone', model_name='va_halonet50ts', out_indices=(1, 2, 3, 4),
        drop_path_rate=0.3, out_norm=None, norm_eval=True, with_cp=False,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    decode_head=dict(in_channels=[256, 512, 1024, 2048], num_classes=150),
    auxiliary_head=dict(in_channels=1024, num_classes=150))
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=6e-5, betas=(0.9, 0.999), weight_decay=0.01),
    paramwise_cfg=dict(norm_decay_mult=0.0, custom_keys={'pos_embed': dict(decay_mult=0.0)}))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500),
    dict(type='PolyLR', eta_min=0.0, power=1.0, begin=1500, end=160000, by_epoch=False),
]
train_dataloader = dict(batch_size=2)
val_dataloader = dict(batch_size=1)
test_dataloader = val_dataloader
