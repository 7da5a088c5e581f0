# Agent Attention (ECCV 2024), COCO RetinaNet 1x, Agent-PVT-T, the official checkpoint: box AP 40.3 (the RetinaNet
# Table of the official downstream/detection/README.md; single scale, val2017).
# The model of ../retinanet_agent_pvt_t_fpn_1x_coco.py (the official one: Agent-PVT-T, agent grids 12-16-28-28, no
# output norms; mmdet's FPN (from level 1, extra convs on the input) and RetinaNet head; test at 1333x800 keep
# ratio, no flip, padded to 32), its weights from the release, an mmdet 2.25 file converted on load (backbone keys
# through Agent-PVT's filter; neck and head keys are named as in mmdet 3.3).
# Backbone: the official one (its shortcut for a stage of exactly 3136 tokens, where it skips resampling the
# position embedding, cannot occur at this test size: with the 1333x800 resize and the padding to 32 only a 56x56
# stage-1 map has 3136 tokens, where resampling is the identity; model card, "Dense prediction at any size").
# The release is a Tsinghua Cloud link ('?dl=1': a direct download) that publishes no file name: its file_name
# in visionattn/mm/releases.json is ours, the official config's name.
#   python tools/test.py configs/detection/agent/released/retinanet_agent_pvt_t_fpn_1x_coco.py pretrained
_base_ = '../retinanet_agent_pvt_t_fpn_1x_coco.py'
load_from = 'https://cloud.tsinghua.edu.cn/f/d3c1dbe0243d4775aafd/?dl=1'
model = dict(backbone=dict(init_cfg=None))   # every weight comes from the release
