# Agent Attention (ECCV 2024), COCO Mask R-CNN 3x, Agent-Swin-T, the official checkpoint: box AP 47.3, mask AP 42.7
# (the Mask R-CNN Table of the official downstream/detection/README.md; single scale, val2017; the paper's COCO
# table adds box AP50 / AP75 69.5 / 51.9, mask 66.4 / 46.2).
# The model of ../mask-rcnn_agent_swin_t_fpn_3x_coco.py (the official one: Agent-Swin-T, attention types AAAB,
# agent grids 9-12-14-7, LayerNorm outputs norm0-norm3; mmdet's FPN, RPN and Mask R-CNN heads; test at 1333x800
# keep ratio, no flip, padded to 32), its weights from the release, an mmdet 2.25 file converted on load (backbone
# keys through Agent-Swin's filter, norm0-norm3 to the level norms; neck and head keys are named as in mmdet 3.3).
# Backbone: the official one, except that the official code also shifts the odd window blocks along a map side of 7
# or less, which ours (as the classification model) does not: this changes the stride-32 level only for images
# resized to a side of 224 px or less (an aspect ratio above about 6 at 1333x800) (model card, "Dense prediction at
# any size").
# The release is a Tsinghua Cloud link ('?dl=1': a direct download) that publishes no file name: its file_name
# in visionattn/mm/releases.json is ours, the official config's name.
#   python tools/test.py configs/detection/agent/released/mask-rcnn_agent_swin_t_fpn_3x_coco.py pretrained
_base_ = '../mask-rcnn_agent_swin_t_fpn_3x_coco.py'
load_from = 'https://cloud.tsinghua.edu.cn/f/e0ab821875704960a505/?dl=1'
model = dict(backbone=dict(init_cfg=None))   # every weight comes from the release
