# TransNeXt (CVPR 2024), ADE20K Mask2Former 160k 512x512, TransNeXt-Base: mIoU 54.7 single scale (the Model Zoo
# Table of the official segmentation/mask2former/README.md, config
# configs/mask2former_transnext_base_160k_ade20k-512x512.py, mmseg 1.0; the main README's ADE20K Table gives the
# same number).
# The model and recipe of ./mask2former_transnext_tiny_160k_ade20k-512x512.py (mmseg's Mask2Former, AdamW lr 1e-4
# with the official custom keys, batch 16, 160k iterations, whole-image test at 2048x512, position biases in the
# official img_size=512 'interpolation' mode) with TransNeXt-Base, drop path 0.6.
_base_ = './mask2former_transnext_tiny_160k_ade20k-512x512.py'
model = dict(
    backbone=dict(model_name='transnext_base', drop_path_rate=0.6),
    decode_head=dict(in_channels=[96, 192, 384, 768]))
# the block-norm keys of the deeper stages (the other custom keys do not depend on the depths)
depths = (5, 5, 23, 5)
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={
    f'backbone.model.model.stages.{i}.blocks.{j}.norm': dict(lr_mult=0.1, decay_mult=0.0)
    for i, depth in enumerate(depths) for j in range(depth)}))
