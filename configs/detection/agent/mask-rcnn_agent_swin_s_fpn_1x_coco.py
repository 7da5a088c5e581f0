# Agent Attention (ECCV 2024), COCO Mask R-CNN 1x, Agent-Swin-S: box AP 47.2, mask AP 42.7
# (the paper's COCO results; the same numbers in the Mask R-CNN Table of the official
# downstream/detection/README.md, config configs/agent_swin/agent_swin_s_mrcnn_1x_9-12-14-7.py).
# 2 images per GPU (official base config; 8 GPUs = batch 16 assumed, the mmdet 1x convention: the
# README does not state the GPU count), Swin's multi-scale training (short side 480-800, random crop),
# AdamW lr 1e-4, weight decay 0.05 (none on norms, position tables and agent biases), step decay at
# epochs 8 and 11, drop path 0.1; attention types AABB, window 56 (window blocks 7), agent grids
# 9-12-14-7 (downstream_agent_shapes), per-level LayerNorm outputs (as the official backbone).
_base_ = './mask-rcnn_agent_swin_t_fpn_1x_coco.py'
model = dict(backbone=dict(model_name='agent_swin_s'))
