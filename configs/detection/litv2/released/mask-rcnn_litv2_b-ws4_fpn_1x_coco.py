# LITv2 (NeurIPS 2022), COCO Mask R-CNN 1x, LITv2-B with window size 4, the official checkpoint: box AP 46.8,
# mask AP 42.3 (the Mask R-CNN Table of the official detection/README.md, row LITv2-B / window size 4; single
# scale, val2017).
# The model of ../mask-rcnn_litv2_b-ws4_fpn_1x_coco.py (the official one: LITv2-B, HiLo local windows (0, 0,
# 4, 1), LayerNorm outputs on levels 1-3 and none on level 0; mmdet's FPN, RPN and Mask R-CNN heads; test at
# 1333x800 keep ratio, no flip, padded to 32), its weights from the release, an mmdet 2.11 file converted on
# load (backbone keys through LITv2's filter, norm1-norm3 to the level norms; neck and head keys are named as
# in mmdet 3.3).
# The window size is not in the file (the ws=2 and ws=4 checkpoints hold the same tensors): this config's
# local_ws=(0, 0, 4, 1) is what makes it the ws=4 model.
#   python tools/test.py configs/detection/litv2/released/mask-rcnn_litv2_b-ws4_fpn_1x_coco.py pretrained
_base_ = '../mask-rcnn_litv2_b-ws4_fpn_1x_coco.py'
load_from = 'https://github.com/ziplab/LITv2/releases/download/v1.0/mask_rcnn_litv2_b_fpn_1x_coco_ws_4.pth'
model = dict(backbone=dict(init_cfg=None))   # every weight comes from the release
