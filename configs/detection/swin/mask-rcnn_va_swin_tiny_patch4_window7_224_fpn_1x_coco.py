# Swin Transformer (ICCV 2021), Mask R-CNN 1x on COCO, Swin-T, ImageNet-1k pretrained: box AP 43.7, mask AP 39.8
# (Swin-Transformer-Object-Detection README Mask R-CNN Table, config
# configs/swin/mask_rcnn_swin_tiny_patch4_window7_mstrain_480-800_adamw_1x_coco.py; the paper's Table 2
# reports 3x schedules only, and no 1x run of Swin-S / Swin-B).
# 8 GPUs x 2 images (batch 16), multi-scale training (short side 480-800, random crop), AdamW lr 1e-4,
# weight decay 0.05 (none on norms and position tables), step decay at epochs 8 and 11, drop path 0.1,
# per-level LayerNorm outputs as the official backbone. Official runs used apex AMP; this config is fp32.
_base_ = '../_base_/swin_multiscale_1x.py'
model = dict(
    backbone=dict(model_name='va_swin_tiny_patch4_window7_224', drop_path_rate=0.1, out_norm='LN'),
    neck=dict(in_channels=[96, 192, 384, 768]))
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={
        'absolute_pos_embed': dict(decay_mult=0.0),
        'relative_position_bias_table': dict(decay_mult=0.0),
        'norm': dict(decay_mult=0.0)}))
