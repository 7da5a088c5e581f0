# Swin Transformer (ICCV 2021), Swin-Transformer-Object-Detection README / paper Table 2 setting:
# Mask R-CNN 1x (12 epochs), Swin-T, ImageNet-1k pretrained: box AP 43.7, mask AP 39.8.
# 8 GPUs x 2 images (batch 16), AdamW lr 1e-4, weight decay 0.05 (none on norms and position tables),
# drop path 0.2, 1333x800, per-level LayerNorm outputs as the official backbone.
_base_ = [
    'mmdet::_base_/models/mask-rcnn_r50_fpn.py',
    'mmdet::_base_/datasets/coco_instance.py',
    'mmdet::_base_/schedules/schedule_1x.py',
    'mmdet::_base_/default_runtime.py',
]
custom_imports = dict(imports=['visionattn.mm'], allow_failed_imports=False)
pretrained = 'https://github.com/SwinTransformer/storage/releases/download/v1.0.0/swin_tiny_patch4_window7_224.pth'
model = dict(
    backbone=dict(_delete_=True, type='VisionAttnBackbone', model_name='va_swin_tiny_patch4_window7_224',
                  out_indices=(0, 1, 2, 3), drop_path_rate=0.2, out_norm='LN', with_cp=False,
                  init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    neck=dict(in_channels=[96, 192, 384, 768]))
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(_delete_=True, type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.05),
    paramwise_cfg=dict(custom_keys={'relative_position_bias_table': dict(decay_mult=0.0),
                                    'norm': dict(decay_mult=0.0)}))
train_dataloader = dict(batch_size=2)
auto_scale_lr = dict(enable=False, base_batch_size=16)
