# ConViT (ICML 2021): No paper number (the paper reports no COCO result).
# Swin-T's Mask R-CNN 1x recipe (Swin-Transformer-Object-Detection README Table, Swin-T 43.7 / 39.8):
# 8 GPUs x 2 images (batch 16), multi-scale training (short side 480-800, random crop), AdamW lr 1e-4,
# weight decay 0.05 (none on norms, position embedding and class token),
# step decay at epochs 8 and 11, drop path 0.1.
# Backbone: the plain stride-16 ViT gives four levels from blocks 2, 5, 8, 11 resampled to strides 4-32
# without parameters (visionattn.models.convit); per-level LayerNorm outputs (the token maps have no norm).
_base_ = [
    'mmdet::_base_/models/mask-rcnn_r50_fpn.py',
    'mmdet::_base_/datasets/coco_instance.py',
    'mmdet::_base_/schedules/schedule_1x.py',
    'mmdet::_base_/default_runtime.py',
]
custom_imports = dict(imports=['visionattn.mm'], allow_failed_imports=False)
# official release (timm tag va_convit_small.fb_orig_in1k; the default tag .fb_in1k is hub-only)
pretrained = 'https://dl.fbaipublicfiles.com/convit/convit_small.pth'
model = dict(
    backbone=dict(
        _delete_=True, type='VisionAttnBackbone', model_name='va_convit_small', out_indices=(0, 1, 2, 3),
        drop_path_rate=0.1, out_norm='LN', norm_eval=False, with_cp=False,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    neck=dict(in_channels=[432, 432, 432, 432]))
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(_delete_=True, type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.05),
    paramwise_cfg=dict(custom_keys={
        'norm': dict(decay_mult=0.0),
        'pos_embed': dict(decay_mult=0.0),
        'cls_token': dict(decay_mult=0.0)}))
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
