# Agent Attention (ECCV 2024), ADE20K Semantic FPN 40k (512x512), Agent-PVT-L, the official checkpoint: mIoU 46.52,
# mAcc 58.50 (the Semantic FPN Table of the official downstream/segmentation/README.md; single scale, val).
# The model of ../fpn_agent_pvt_l_40k_ade20k-512x512.py (the official one: Agent-PVT-L, agent grids 12-16-28-28, no
# output norms; mmseg's FPN and FPNHead, no auxiliary head; whole-image test at 2048x512 keep ratio, no flip, no
# padding), its weights from the release, an mmseg 0.28 file converted on load (backbone keys through Agent-PVT's
# filter; neck and head keys are named as in mmseg 1.2).
# Backbone: the official one (its shortcut for a stage of exactly 3136 tokens, where it skips resampling the
# position embedding, cannot occur at stage 1 at this test size; a 512 x 1568-1583 image would have 3136 tokens at
# stage 3, where the official code fails with a shape mismatch and ours resamples; model card, "Dense prediction at
# any size").
# The release is a Tsinghua Cloud link ('?dl=1': a direct download) that publishes no file name: its file_name
# in visionattn/mm/releases.json is ours, the official config's name.
#   python tools/test.py configs/segmentation/agent/released/fpn_agent_pvt_l_40k_ade20k-512x512.py pretrained
_base_ = '../fpn_agent_pvt_l_40k_ade20k-512x512.py'
load_from = 'https://cloud.tsinghua.edu.cn/f/0da8b58581214f85974f/?dl=1'
model = dict(backbone=dict(init_cfg=None))   # every weight comes from the release
