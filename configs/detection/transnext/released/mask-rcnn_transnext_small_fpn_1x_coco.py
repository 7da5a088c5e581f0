# TransNeXt (CVPR 2024), COCO Mask R-CNN 1x, TransNeXt-Small, the official checkpoint: box AP 51.1, mask AP 45.5
# (the Model Zoo Table of the official detection/maskrcnn/README.md, also in the main README; single scale,
# val2017).
# The model of ../mask-rcnn_transnext_small_fpn_1x_coco.py (the official one: TransNeXt-Small with the official
# img_size=800 'interpolation' position bias, its stage norms as outputs, no extra norms; mmdet's FPN, RPN and Mask
# R-CNN heads; test at 1333x800 keep ratio, no flip, padded to 32), its weights from the release, an mmdet 2.28 file
# converted on load (backbone keys through TransNeXt's filter; neck and head keys are named as in mmdet 3.3).
#   python tools/test.py configs/detection/transnext/released/mask-rcnn_transnext_small_fpn_1x_coco.py pretrained
_base_ = '../mask-rcnn_transnext_small_fpn_1x_coco.py'
load_from = 'https://huggingface.co/DaiShiResearch/maskrcnn-transnext-small-coco/resolve/main/mask_rcnn_transnext_small_fpn_1x_coco_in1k.pth?download=true'
model = dict(backbone=dict(init_cfg=None))   # every weight comes from the release
