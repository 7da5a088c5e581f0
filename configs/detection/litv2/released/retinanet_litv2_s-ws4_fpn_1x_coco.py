# LITv2 (NeurIPS 2022), COCO RetinaNet 1x, LITv2-S with window size 4, the official checkpoint: box AP 43.7
# (the RetinaNet Table of the official detection/README.md, row LITv2-S / window size 4; single scale,
# val2017).
# The model of ../retinanet_litv2_s-ws4_fpn_1x_coco.py (the official one: LITv2-S, HiLo local windows (0, 0,
# 4, 1), LayerNorm outputs on levels 1-3 and none on level 0; mmdet's FPN from level 1 with extra convs on the
# input, RetinaNet head; test at 1333x800 keep ratio, no flip, padded to 32), its weights from the release, an
# mmdet 2.11 file converted on load (backbone keys through LITv2's filter, norm1-norm3 to the level norms;
# neck and head keys are named as in mmdet 3.3).
# The window size is not in the file (the ws=2 and ws=4 checkpoints hold the same tensors): this config's
# local_ws=(0, 0, 4, 1) is what makes it the ws=4 model.
# Not exactly the official protocol: mmdet 3.3's RetinaNet inference keeps, per level, the nms_pre=1000 best
# (anchor, class) scores above score_thr; mmdet 2.11 kept the 1000 anchors with the highest class score, then
# thresholded. A small AP difference (about 0.1) may follow.
#   python tools/test.py configs/detection/litv2/released/retinanet_litv2_s-ws4_fpn_1x_coco.py pretrained
_base_ = '../retinanet_litv2_s-ws4_fpn_1x_coco.py'
load_from = 'https://github.com/ziplab/LITv2/releases/download/v1.0/retinanet_litv2_s_fpn_1x_coco_ws_4.pth'
model = dict(backbone=dict(init_cfg=None))   # every weight comes from the release
