# LITv2 (NeurIPS 2022) Table 2: Mask R-CNN 1x on COCO, LITv2-S: box AP 44.9, mask AP 40.8 (official README
# Mask R-CNN Table, window size 2: detection/configs/litv2/mask_rcnn_litv2_s_fpn_1x_coco.py).
# 8 GPUs x 2 images (batch 16), 1333x800, AdamW lr 2e-4, weight decay 1e-4 (none on norms), linear warm-up 500
# iterations, step decay at epochs 8 and 11, drop path 0.2; HiLo alpha 0.9, local windows (0, 0, 2, 1)
# (stage-3 Hi-Fi windows 2x2); LayerNorm outputs on levels 1-3 and none on level 0, as the official detection
# backbone (norm1-norm3, no norm0). Official runs used AMP (apex); this config is fp32.
_base_ = '../_base_/mask-rcnn_fpn_1x_coco.py'
model = dict(
    backbone=dict(model_name='litv2_s', drop_path_rate=0.2, out_norm=[None, 'LN', 'LN', 'LN'],
                  model_kwargs=dict(alpha=0.9, local_ws=(0, 0, 2, 1))),
    neck=dict(in_channels=[96, 192, 384, 768]))
optim_wrapper = dict(
    optimizer=dict(_delete_=True, type='AdamW', lr=2e-4, weight_decay=1e-4),
    paramwise_cfg=dict(custom_keys={'norm': dict(decay_mult=0.0)}))
