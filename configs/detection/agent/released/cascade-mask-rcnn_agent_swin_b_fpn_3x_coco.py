# Agent Attention (ECCV 2024), COCO Cascade Mask R-CNN 3x, Agent-Swin-B, the official checkpoint: box AP 52.6, mask
# AP 45.3 (the Cascade Mask R-CNN Table of the official downstream/detection/README.md; single scale, val2017; the
# paper's COCO table adds box AP50 / AP75 71.1 / 57.1, mask 68.6 / 49.2).
# The README's config link for this row names configs/agent_swin/agent_swin_b_mrcnn_3x_9-12-14-7.py, which the
# repository does not have; the row (Cascade Mask R-CNN Table, 145M params / 990G FLOPs) is
# configs/agent_swin/agent_swin_b_crcnn_3x_9-12-14-7.py.
# The model of ../cascade-mask-rcnn_agent_swin_b_fpn_3x_coco.py (the official one: Agent-Swin-B, attention types
# AAMB2, agent grids 9-12-14-7, LayerNorm outputs norm0-norm3; mmdet's FPN, RPN and Cascade Mask R-CNN (3 stages,
# 4conv1fc bbox heads with SyncBN, class-specific regression, a mask head per stage); test at 1333x800 keep ratio,
# no flip, padded to 32), its weights from the release, an mmdet 2.25 file converted on load (backbone keys through
# Agent-Swin's filter, norm0-norm3 to the level norms; neck and head keys are named as in mmdet 3.3).
# Backbone: the official one, except that the official code also shifts the odd window blocks along a map side of 7
# or less, which ours (as the classification model) does not: this changes the stride-32 level (from 112 px down
# also the stride-16 level) only for images resized to a side of 224 px or less (an aspect ratio above about 6 at
# 1333x800) (model card, "Dense prediction at any size").
# The release is a Tsinghua Cloud link ('?dl=1': a direct download) that publishes no file name: its file_name
# in visionattn/mm/releases.json is ours, the official config's name.
#   python tools/test.py configs/detection/agent/released/cascade-mask-rcnn_agent_swin_b_fpn_3x_coco.py pretrained
_base_ = '../cascade-mask-rcnn_agent_swin_b_fpn_3x_coco.py'
load_from = 'https://cloud.tsinghua.edu.cn/f/b3a628e668eb460ca532/?dl=1'
model = dict(backbone=dict(init_cfg=None))   # every weight comes from the release
