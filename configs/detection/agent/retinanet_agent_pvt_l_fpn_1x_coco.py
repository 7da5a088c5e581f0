# Agent Attention (ECCV 2024), COCO RetinaNet 1x, Agent-PVT-L: box AP 46.8
# (the paper's COCO results; the same number in the RetinaNet Table of the official
# downstream/detection/README.md, config configs/agent_pvt/agent_pvt_l_rtn_1x_12-16-28-28.py).
# 2 images per GPU (official base config; 8 GPUs = batch 16 assumed, the mmdet 1x convention: the
# README does not state the GPU count), 1333x800,
# AdamW lr 1e-4, weight decay 1e-4 (no parameter-wise exemptions), step decay at epochs 8 and 11,
# drop path 0.3; agent grids 12-16-28-28 (downstream_agent_shapes), no per-level output norms (as the
# official AgentPVT backbone).
_base_ = './retinanet_agent_pvt_t_fpn_1x_coco.py'
model = dict(backbone=dict(model_name='agent_pvt_l', drop_path_rate=0.3))
