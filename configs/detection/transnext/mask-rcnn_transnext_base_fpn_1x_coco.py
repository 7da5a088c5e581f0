# TransNeXt (CVPR 2024), COCO Mask R-CNN 1x, TransNeXt-Base: box AP 51.7, mask AP 45.9
# (the paper's COCO results, arXiv v3; the same numbers in the Model Zoo Table of the official
# detection/maskrcnn/README.md, config configs/mask_rcnn_transnext_base_fpn_1x_coco.py, mmdet 2.28).
# The recipe of ./mask-rcnn_transnext_tiny_fpn_1x_coco.py (AdamW lr 1e-4, weight decay 0.05 with the official
# exemptions, 1x schedule, batch 16, mmdet's FPN / RPN / Mask R-CNN heads, test at 1333x800) with drop path 0.7
# (the official transnext_base backbone class); position biases in the official img_size=800 'interpolation'
# mode (pos_bias_mode='interpolate', pos_bias_size=800).
# Mixed precision: the official Base config alone sets fp16 = dict(loss_scale=512.): it trained with mmcv's
# Fp16OptimizerHook (autocast, gradient scaler starting at 512), here AmpOptimWrapper(loss_scale=512.). Its
# test (detection/maskrcnn/test.py: wrap_fp16_model) ran the detector under CUDA autocast with the image cast to
# fp16 and mmcv's force_fp32 sections (RoI extraction, box / mask post-processing) in fp32. mmengine's
# TestLoop(fp16=True) would run everything, heads included, under autocast (mmdet 3.3 has no force_fp32), which
# is not that protocol either, so this config tests in fp32 (a numerical difference only, not measured).
_base_ = './mask-rcnn_transnext_tiny_fpn_1x_coco.py'
model = dict(
    backbone=dict(model_name='transnext_base', drop_path_rate=0.7),
    neck=dict(in_channels=[96, 192, 384, 768]))
optim_wrapper = dict(type='AmpOptimWrapper', loss_scale=512.0)
