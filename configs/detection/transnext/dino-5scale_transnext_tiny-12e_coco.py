# TransNeXt (CVPR 2024), COCO DINO 5-scale 12 epochs, TransNeXt-Tiny: box AP 55.7 (the DINO Model Zoo Table of
# the official detection/dino/README.md, config configs/dino-5scale_transnext_tiny-12e_coco.py, mmdet 3.0; the
# main README's COCO Table gives the same number).
# The model and recipe of ./dino-4scale_transnext_tiny-12e_coco.py (mmdet's DINO, AdamW lr 1e-4 with the
# official backbone custom keys, batch 16 by 2 accumulated steps, 12 epochs, test at 1333x800, fp32, position
# biases in the official img_size=800 'interpolation' mode) on 5 levels: all four stages (the official scales=5)
# and a 3x3 stride-2 conv on the last one; the deformable attentions take 5 levels.
_base_ = './dino-4scale_transnext_tiny-12e_coco.py'
num_levels = 5
model = dict(
    num_feature_levels=num_levels,
    backbone=dict(out_indices=(0, 1, 2, 3)),
    neck=dict(in_channels=[72, 144, 288, 576], num_outs=num_levels),
    encoder=dict(layer_cfg=dict(self_attn_cfg=dict(num_levels=num_levels))),
    decoder=dict(layer_cfg=dict(cross_attn_cfg=dict(num_levels=num_levels))))
