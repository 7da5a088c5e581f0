# ConViT (ICML 2021): No paper number (the paper reports no ADE20K result).
# Swin-T's UperNet 160k recipe (Swin paper Table 3 setting): 8 GPUs x 2 images (batch 16), 512x512
# crops, AdamW lr 6e-5, weight decay 0.01 (none on norms, position embedding and class token),
# linear warm-up 1500 iterations then poly decay (power 1), drop path 0.3, auxiliary FCN head on the
# stride-16 level.
# Backbone: the plain stride-16 ViT gives four levels from blocks 2, 5, 8, 11 resampled to strides 4-32
# without parameters (visionattn.models.convit); per-level LayerNorm outputs (the token maps have no norm).
_base_ = [
    'mmseg::_base_/models/upernet_r50.py',
    'mmseg::_base_/datasets/ade20k.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_160k.py',
]
custom_imports = dict(imports=['visionattn.mm'], allow_failed_imports=False)
# official release (timm tag va_convit_small.fb_orig_in1k; the default tag .fb_in1k is hub-only)
pretrained = 'https://dl.fbaipublicfiles.com/convit/convit_small.pth'
crop_size = (512, 512)
model = dict(
    data_preprocessor=dict(size=crop_size),
    pretrained=None,
    backbone=dict(
        _delete_=True, type='VisionAttnBackbone', model_name='va_convit_small', out_indices=(0, 1, 2, 3),
        drop_path_rate=0.3, out_norm='LN', norm_eval=False, with_cp=False,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    decode_head=dict(in_channels=[432, 432, 432, 432], num_classes=150),
    auxiliary_head=dict(in_channels=432, num_classes=150))
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=6e-5, betas=(0.9, 0.999), weight_decay=0.01),
    paramwise_cfg=dict(custom_keys={
        'norm': dict(decay_mult=0.0),
        'pos_embed': dict(decay_mult=0.0),
        'cls_token': dict(decay_mult=0.0)}))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500),
    dict(type='PolyLR', eta_min=0.0, power=1.0, begin=1500, end=160000, by_epoch=False),
]
train_dataloader = dict(batch_size=2)
val_dataloader = dict(batch_size=1)
test_dataloader = val_dataloader
