# BiFormer (CVPR 2023) Table 3: Mask R-CNN 1x on COCO, BiFormer-S: box AP 47.8, mask AP 43.2
# (official object_detection/README.md, configs/coco/maskrcnn.1x.biformer_small.py).
# 8 GPUs x 2 images (batch 16), 1333x800, AdamW lr 1e-4, weight decay 0.05 (none on norms / position
# tables), step decay at epochs 8 and 11, drop path 0.2; regions n_win 16, per-level LayerNorm outputs (eps 1e-6)
# (the official BiFormer_mm extra_norms), BatchNorm in eval mode (the official norm_eval=True).
# Official runs used AMP; this config is fp32.
_base_ = '../_base_/mask-rcnn_fpn_1x_coco.py'
model = dict(
    backbone=dict(model_name='biformer_s', drop_path_rate=0.2, out_norm=dict(type='LN', eps=1e-6), norm_eval=True,
                  model_kwargs=dict(n_win=16)),
    neck=dict(in_channels=[64, 128, 256, 512]))
optim_wrapper = dict(
    optimizer=dict(_delete_=True, type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.05),
    paramwise_cfg=dict(custom_keys={
        'absolute_pos_embed': dict(decay_mult=0.0),
        'relative_position_bias_table': dict(decay_mult=0.0),
        'norm': dict(decay_mult=0.0)}))
