# Agent Attention (ECCV 2024), COCO Mask R-CNN 1x, Agent-Swin-T: box AP 44.6, mask AP 40.7
# (the paper's COCO results; the same numbers in the Mask R-CNN Table of the official
# downstream/detection/README.md, config configs/agent_swin/agent_swin_t_mrcnn_1x_9-12-14-7.py).
# 2 images per GPU (official base config; 8 GPUs = batch 16 assumed, the mmdet 1x convention: the
# README does not state the GPU count), Swin's multi-scale training (short side 480-800, random crop),
# AdamW lr 1e-4, weight decay 0.05 (none on norms, position tables and agent biases), step decay at
# epochs 8 and 11, drop path 0.1; attention types AAAB, window 56 (window blocks 7), agent grids
# 9-12-14-7 (downstream_agent_shapes), per-level LayerNorm outputs (as the official backbone).
_base_ = [
    'mmdet::_base_/models/mask-rcnn_r50_fpn.py',
    'mmdet::_base_/datasets/coco_instance.py',
    'mmdet::_base_/schedules/schedule_1x.py',
    'mmdet::_base_/default_runtime.py',
]
custom_imports = dict(imports=['visionattn.mm'], allow_failed_imports=False)
# timm pretrained_cfg url of agent_swin_t (a (url, file name) pair: the official file is agent_swin_t_max_acc.pth)
pretrained = 'https://cloud.tsinghua.edu.cn/f/a2ddc1190c224f768a41/?dl=1'
model = dict(
    backbone=dict(
        _delete_=True, type='VisionAttnBackbone', model_name='agent_swin_t', out_indices=(0, 1, 2, 3),
        drop_path_rate=0.1, out_norm='LN', norm_eval=False, with_cp=False,
        model_kwargs=dict(agent_shapes=((9, 9), (12, 12), (14, 14), (7, 7))),
        init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    neck=dict(in_channels=[96, 192, 384, 768]))
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(_delete_=True, type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.05),
    paramwise_cfg=dict(custom_keys={
        'absolute_pos_embed': dict(decay_mult=0.0),
        'relative_position_bias_table': dict(decay_mult=0.0),
        'norm': dict(decay_mult=0.0),
        'an_bias': dict(decay_mult=0.0),
        'na_bias': dict(decay_mult=0.0),
        'ah_bias': dict(decay_mult=0.0),
        'aw_bias': dict(decay_mult=0.0),
        'ha_bias': dict(decay_mult=0.0),
        'wa_bias': dict(decay_mult=0.0)}))
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
