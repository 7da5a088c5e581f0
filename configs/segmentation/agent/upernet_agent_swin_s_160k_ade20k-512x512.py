# Agent Attention (ECCV 2024), ADE20K UperNet 160k, Agent-Swin-S: mIoU 48.08
# (the paper's ADE20K results; the same number in the UperNet Table of the official
# downstream/segmentation/README.md, config configs/agent_swin/upernet_agent_swin_s_9-12-14-7.py).
# 8 GPUs x 2 images (batch 16), 512x512 crops, 160k iterations, AdamW lr 6e-5, weight decay 0.01 (none
# on norms, position tables and agent biases), linear warm-up 1500 iterations then poly decay (power 1),
# drop path 0.3; agent grids 9-12-7-7 (downstream_agent_shapes), per-level LayerNorm outputs, auxiliary
# FCN head on stage 3.
_base_ = [
    'mmseg::_base_/models/upernet_r50.py',
    'mmseg::_base_/datasets/ade20k.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_160k.py',
]
custom_imports = dict(imports=['visionattn.mm'], allow_failed_imports=False)
# timm pretrained_cfg url of agent_swin_s (a (url, file name) pair: the official file is agent_swin_s_max_acc.pth)
pretrained = 'https://cloud.tsinghua.edu.cn/f/f607172c9fea4d6e99bb/?dl=1'
crop_size = (512, 512)
model = dict(
    data_preprocessor=dict(size=crop_size),
    pretrained=None,
    backbone=dict(
        _delete_=True, type='VisionAttnBackbone', model_name='agent_swin_s', out_indices=(0, 1, 2, 3),
        drop_path_rate=0.3, out_norm='LN', norm_eval=False, with_cp=False,
        model_kwargs=dict(agent_shapes=((9, 9), (12, 12), (7, 7), (7, 7))),
        init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    decode_head=dict(in_channels=[96, 192, 384, 768], num_classes=150),
    auxiliary_head=dict(in_channels=384, num_classes=150))
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=6e-5, betas=(0.9, 0.999), weight_decay=0.01),
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
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500),
    dict(type='PolyLR', eta_min=0.0, power=1.0, begin=1500, end=160000, by_epoch=False),
]
train_dataloader = dict(batch_size=2)
val_dataloader = dict(batch_size=1)
test_dataloader = val_dataloader
