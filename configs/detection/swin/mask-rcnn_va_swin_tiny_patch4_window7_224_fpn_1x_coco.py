# Swin Transformer (ICCV 2021), Mask R-CNN 1x on COCO, Swin-T, ImageNet-1k pretrained: box AP 43.7, mask AP 39.8
# (Swin-Transformer-Object-Detection README Mask R-CNN Table, config
# configs/swin/mask_rcnn_swin_tiny_patch4_window7_mstrain_480-800_adamw_1x_coco.py; the paper's Table 2
# reports 3x schedules only, and no 1x run of Swin-S / Swin-B).
# 8 GPUs x 2 images (batch 16), multi-scale training (short side 480-800, random crop), AdamW lr 1e-4,
# weight decay 0.05 (none on norms and position tables), step decay at epochs 8 and 11, drop path 0.1,
# per-level LayerNorm outputs as the official backbone. Official runs used apex AMP; this config is fp32.
_base_ = [
    'mmdet::_base_/models/mask-rcnn_r50_fpn.py',
    'mmdet::_base_/datasets/coco_instance.py',
    'mmdet::_base_/schedules/schedule_1x.py',
    'mmdet::_base_/default_runtime.py',
]
custom_imports = dict(imports=['visionattn.mm'], allow_failed_imports=False)
pretrained = 'https://github.com/SwinTransformer/storage/releases/download/v1.0.0/swin_tiny_patch4_window7_224.pth'
model = dict(
    backbone=dict(
        _delete_=True, type='VisionAttnBackbone', model_name='va_swin_tiny_patch4_window7_224',
        out_indices=(0, 1, 2, 3), drop_path_rate=0.1, out_norm='LN', norm_eval=False, with_cp=False,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    neck=dict(in_channels=[96, 192, 384, 768]))
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(_delete_=True, type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.05),
    paramwise_cfg=dict(custom_keys={
        'absolute_pos_embed': dict(decay_mult=0.0),
        'relative_position_bias_table': dict(decay_mult=0.0),
        'norm': dict(decay_mult=0.0)}))
# multi-scale training of the Swin-Transformer-Object-Detection 1x configs (DETR / Sparse R-CNN augmentation)
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='RandomFlip', prob=0.5),
    dict(
        type='RandomChoice',
        transforms=[[
            dict(type='RandomChoiceResize',
                 scales=[(1333, 480), (1333, 512), (1333, 544), (1333, 576), (1333, 608), (1333, 640),
                         (1333, 672), (1333, 704), (1333, 736), (1333, 768), (1333, 800)],
                 keep_ratio=True)
        ], [
            dict(type='RandomChoiceResize', scales=[(1333, 400), (1333, 500), (1333, 600)], keep_ratio=True),
            dict(type='RandomCrop', crop_type='absolute_range', crop_size=(384, 600), allow_negative_crop=True),
            dict(type='RandomChoiceResize',
                 scales=[(1333, 480), (1333, 512), (1333, 544), (1333, 576), (1333, 608), (1333, 640),
                         (1333, 672), (1333, 704), (1333, 736), (1333, 768), (1333, 800)],
                 keep_ratio=True)
        ]]),
    dict(type='PackDetInputs')
]
train_dataloader = dict(batch_size=2, dataset=dict(pipeline=train_pipeline))
auto_scale_lr = dict(enable=False, base_batch_size=16)
