# BiFormer (CVPR 2023) Table 3: Mask R-CNN 1x on COCO, BiFormer-B: box AP 48.6, mask AP 43.7
# (official object_detection/README.md, configs/coco/maskrcnn.1x.biformer_base.py).
# 8 GPUs x 2 images (batch 16), 1333x800, AdamW lr 1e-4, weight decay 0.05 (none on norms / position
# tables), step decay at epochs 8 and 11, drop path 0.3; regions n_win 16, per-level LayerNorm outputs
# (the official BiFormer_mm extra_norms), BatchNorm in eval mode (the official norm_eval=True).
# Official runs used AMP; this config is fp32.
_base_ = [
    'mmdet::_base_/models/mask-rcnn_r50_fpn.py',
    'mmdet::_base_/datasets/coco_instance.py',
    'mmdet::_base_/schedules/schedule_1x.py',
    'mmdet::_base_/default_runtime.py',
]
custom_imports = dict(imports=['visionattn.mm'], allow_failed_imports=False)
# timm pretrained_cfg url of biformer_b (a (url, file name) pair: the official file is biformer_base_in1k.pth)
pretrained = 'https://api.onedrive.com/v1.0/shares/s!AkBbczdRlZvChHI_XPhoadjaNxtO/root/content'
model = dict(
    backbone=dict(
        _delete_=True, type='VisionAttnBackbone', model_name='biformer_b', out_indices=(0, 1, 2, 3),
        drop_path_rate=0.3, out_norm='LN', norm_eval=True, with_cp=False,
        model_kwargs=dict(n_win=16),
        init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    neck=dict(in_channels=[96, 192, 384, 768]))
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(_delete_=True, type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.05),
    paramwise_cfg=dict(custom_keys={
        'absolute_pos_embed': dict(decay_mult=0.0),
        'relative_position_bias_table': dict(decay_mult=0.0),
        'norm': dict(decay_mult=0.0)}))
train_dataloader = dict(batch_size=2)
auto_scale_lr = dict(enable=False, base_batch_size=16)
