# Agent Attention (ECCV 2024), ADE20K UperNet 160k (512x512), Agent-Swin-T, the official checkpoint: mIoU 46.68,
# mAcc 58.53 (the UperNet Table of the official downstream/segmentation/README.md; single scale, val).
# The model of ../upernet_agent_swin_t_160k_ade20k-512x512.py (the official one: Agent-Swin-T, attention types
# AAAB, agent grids 9-12-14-7, LayerNorm outputs norm0-norm3; mmseg's UPerHead (pool scales 1, 2, 3, 6, 512
# channels) and FCN auxiliary head on level 2 (loaded, unused at test); whole-image test at 2048x512 keep ratio, no
# flip, no padding), its weights from the release, an mmseg 0.28 file converted on load (backbone keys through
# Agent-Swin's filter, norm0-norm3 to the level norms; neck and head keys are named as in mmseg 1.2).
# Backbone: the official one, except that the official code also shifts the odd window blocks along a map side of 7
# or less, which ours (as the classification model) does not: this changes the stride-32 level only for images
# resized to a side of 224 px or less (an aspect ratio above about 9 at 2048x512) (model card, "Dense prediction at
# any size").
# The release is a Tsinghua Cloud link ('?dl=1': a direct download) that publishes no file name: its file_name
# in visionattn/mm/releases.json is ours, the official config's name.
#   python tools/test.py configs/segmentation/agent/released/upernet_agent_swin_t_160k_ade20k-512x512.py pretrained
_base_ = '../upernet_agent_swin_t_160k_ade20k-512x512.py'
load_from = 'https://cloud.tsinghua.edu.cn/f/280481ee38024bce8364/?dl=1'
model = dict(backbone=dict(init_cfg=None))   # every weight comes from the release
