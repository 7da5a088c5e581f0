# LITv2 (NeurIPS 2022) Table 2: Mask R-CNN 1x on COCO, LITv2-B: box AP 47.3, mask AP 42.6
# (official README Mask R-CNN Table, window size 2: detection/configs/litv2/mask_rcnn_litv2_b_fpn_1x_coco.py).
# 8 GPUs x 2 images (batch 16), 1333x800, AdamW lr 2e-4, weight decay 1e-4 (none on norms), step decay
# at epochs 8 and 11, drop path 0.3; HiLo alpha 0.9, local windows (0, 0, 2, 1),
# per-level LayerNorm outputs (the official dense backbone has them on levels 1-3 only; the adapter puts
# one on every level, so level 0 gets one more than the official model).
# Official runs used AMP and gradient checkpointing; this config is fp32.
_base_ = [
    'mmdet::_base_/models/mask-rcnn_r50_fpn.py',
    'mmdet::_base_/datasets/coco_instance.py',
    'mmdet::_base_/schedules/schedule_1x.py',
    'mmdet::_base_/default_runtime.py',
]
custom_imports = dict(imports=['visionattn.mm'], allow_failed_imports=False)
pretrained = 'https://github.com/ziplab/LITv2/releases/download/v1.0/litv2_b.pth'
model = dict(
    backbone=dict(
        _delete_=True, type='VisionAttnBackbone', model_name='litv2_b', out_indices=(0, 1, 2, 3),
        drop_path_rate=0.3, out_norm='LN', norm_eval=False, with_cp=True,
        model_kwargs=dict(alpha=0.9, local_ws=(0, 0, 2, 1)),
        init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    neck=dict(in_channels=[128, 256, 512, 1024]))
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(_delete_=True, type='AdamW', lr=2e-4, weight_decay=1e-4),
    paramwise_cfg=dict(custom_keys={
        'norm': dict(decay_mult=0.0)}))
train_dataloader = dict(batch_size=2)
auto_scale_lr = dict(enable=False, base_batch_size=16)
