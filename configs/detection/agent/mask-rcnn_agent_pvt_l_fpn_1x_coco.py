# Agent Attention (ECCV 2024), COCO Mask R-CNN 1x, Agent-PVT-L: box AP 46.9, mask AP 42.8
# (the paper's COCO results; the same numbers in the Mask R-CNN Table of the official
# downstream/detection/README.md, config configs/agent_pvt/agent_pvt_l_mrcnn_1x_12-16-28-28.py).
# 2 images per GPU (official base config; 8 GPUs = batch 16 assumed, the mmdet 1x convention: the
# README does not state the GPU count), 1333x800,
# AdamW lr 2e-4, weight decay 1e-4 (no parameter-wise exemptions), step decay at epochs 8 and 11,
# drop path 0.2; agent grids 12-16-28-28 (downstream_agent_shapes), no per-level output norms (as the
# official AgentPVT backbone).
_base_ = './mask-rcnn_agent_pvt_t_fpn_1x_coco.py'
model = dict(backbone=dict(model_name='agent_pvt_l', drop_path_rate=0.2))
