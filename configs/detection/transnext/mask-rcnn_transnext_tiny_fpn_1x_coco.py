# TransNeXt (CVPR 2024), COCO Mask R-CNN 1x, TransNeXt-Tiny: box AP 49.9, mask AP 44.6
# (the paper's COCO results, arXiv v3; the same numbers in the Model Zoo Table of the official
# detection/maskrcnn/README.md, config configs/mask_rcnn_transnext_tiny_fpn_1x_coco.py, mmdet 2.28).
# 8 GPUs x 2 images (batch 16), 1333x800, AdamW lr 1e-4, weight decay 0.05 (none on query embeddings,
# local position biases, cpb MLPs, temperatures and norms), linear warm-up 500 iterations, step decay at
# epochs 8 and 11, drop path 0.4 (the official transnext_tiny backbone class); no extra output norms (the
# per-stage norms norm1-norm4 are part of the model). mmdet's FPN, RPN and Mask R-CNN heads with the R50
# settings; test at 1333x800 keep ratio, no flip, padded to 32.
# Position biases: the official 'interpolation' mode with img_size=800 (is_extrapolation=False): every stage's
# continuous position bias is computed for an 800x800 image and resized bilinearly to the actual map
# (pos_bias_mode='interpolate', pos_bias_size=800), as the official run trained and tested.
_base_ = '../_base_/mask-rcnn_fpn_1x_coco.py'
model = dict(
    backbone=dict(model_name='transnext_tiny', drop_path_rate=0.4, out_norm=None,
                  model_kwargs=dict(pretrain_size=224, pos_bias_mode='interpolate', pos_bias_size=800)),
    neck=dict(in_channels=[72, 144, 288, 576]))
optim_wrapper = dict(
    optimizer=dict(_delete_=True, type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.05),
    paramwise_cfg=dict(custom_keys={
        'query_embedding': dict(decay_mult=0.0),
        'relative_pos_bias_local': dict(decay_mult=0.0),
        'cpb': dict(decay_mult=0.0),
        'temperature': dict(decay_mult=0.0),
        'norm': dict(decay_mult=0.0)}))
