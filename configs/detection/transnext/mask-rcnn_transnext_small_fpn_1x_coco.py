# TransNeXt (CVPR 2024), COCO Mask R-CNN 1x, TransNeXt-Small: box AP 51.1, mask AP 45.5
# (the paper's COCO results, arXiv v3; the same numbers in the Model Zoo Table of the official
# detection/maskrcnn/README.md, config configs/mask_rcnn_transnext_small_fpn_1x_coco.py, mmdet 2.28).
# The recipe of ./mask-rcnn_transnext_tiny_fpn_1x_coco.py (AdamW lr 1e-4, weight decay 0.05 with the official
# exemptions, 1x schedule, batch 16, mmdet's FPN / RPN / Mask R-CNN heads, test at 1333x800) with drop path 0.6
# (the official transnext_small backbone class); position biases in the official img_size=800 'interpolation'
# mode (pos_bias_mode='interpolate', pos_bias_size=800).
_base_ = './mask-rcnn_transnext_tiny_fpn_1x_coco.py'
model = dict(backbone=dict(model_name='transnext_small', drop_path_rate=0.6))
