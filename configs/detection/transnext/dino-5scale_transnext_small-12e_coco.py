# TransNeXt (CVPR 2024), COCO DINO 5-scale 12 epochs, TransNeXt-Small: box AP 56.6 (the DINO Model Zoo Table of
# the official detection/dino/README.md, config configs/dino-5scale_transnext_small-12e_coco.py, mmdet 3.0; the
# main README's COCO Table gives the same number).
# The model and recipe of ./dino-5scale_transnext_tiny-12e_coco.py (mmdet's 5-level DINO, AdamW lr 1e-4 with the
# official backbone custom keys, batch 16 by 2 accumulated steps, 12 epochs, test at 1333x800, fp32, position
# biases in the official img_size=800 'interpolation' mode) with TransNeXt-Small, drop path 0.5.
_base_ = './dino-5scale_transnext_tiny-12e_coco.py'
model = dict(backbone=dict(model_name='transnext_small', drop_path_rate=0.5))
# the block-norm keys of the deeper stages (the other custom keys do not depend on the depths)
depths = (5, 5, 22, 5)
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={
    f'backbone.model.model.stages.{i}.blocks.{j}.norm': dict(lr_mult=0.1, decay_mult=0.0)
    for i, depth in enumerate(depths) for j in range(depth)}))
