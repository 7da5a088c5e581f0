# TransNeXt (CVPR 2024), COCO DINO 5-scale 12 epochs, TransNeXt-Base: box AP 57.1 (the DINO Model Zoo Table of
# the official detection/dino/README.md, config configs/dino-5scale_transnext_base-12e_coco.py, mmdet 3.0; the
# main README's COCO Table gives the same number).
# The model and recipe of ./dino-5scale_transnext_tiny-12e_coco.py (mmdet's 5-level DINO, AdamW lr 1e-4 with the
# official backbone custom keys, batch 16 by 2 accumulated steps, 12 epochs, test at 1333x800, fp32, position
# biases in the official img_size=800 'interpolation' mode) with TransNeXt-Base, drop path 0.6.
_base_ = './dino-5scale_transnext_tiny-12e_coco.py'
model = dict(
    backbone=dict(model_name='transnext_base', drop_path_rate=0.6),
    neck=dict(in_channels=[96, 192, 384, 768]))
# the block-norm keys of the deeper stages (the other custom keys do not depend on the depths)
depths = (5, 5, 23, 5)
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={
    f'backbone.model.model.stages.{i}.blocks.{j}.norm': dict(lr_mult=0.1, decay_mult=0.0)
    for i, depth in enumerate(depths) for j in range(depth)}))
