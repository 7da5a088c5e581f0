# SHViT (CVPR 2024), COCO Mask R-CNN 1x, SHViT-S4, the official checkpoint: box AP 39.0, mask AP 35.9
# (the Mask R-CNN Table of the official downstream/README.md; single scale, val2017).
# The model of ../mask-rcnn_va_shvit_s4_fpn_1x_coco.py (the official one: EfficientViTFPN neck, mmdet's
# Mask R-CNN heads, test at 1333x800 keep ratio, no flip), its weights from the release, an mmdet 2.25 file
# converted on load (backbone keys through SHViT's filter; neck and head keys are named as in mmdet 3.3).
#   python tools/test.py configs/detection/shvit/released/mask-rcnn_va_shvit_s4_fpn_1x_coco.py pretrained
_base_ = '../mask-rcnn_va_shvit_s4_fpn_1x_coco.py'
load_from = 'https://github.com/ysj9909/SHViT/releases/download/v1.0/maskrcnn_shvit_s4_1x_coco.pth'
model = dict(backbone=dict(init_cfg=None))   # every weight comes from the release
