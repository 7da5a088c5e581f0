# Agent Attention (ECCV 2024), COCO Mask R-CNN 3x, Agent-Swin-S: box AP 48.9, mask AP 43.8
# (the Mask R-CNN Table of the official downstream/detection/README.md, config
# configs/agent_swin/agent_swin_s_mrcnn_3x_9-12-14-7.py; the paper's COCO table has no Swin-S 3x row).
# The model of ./mask-rcnn_agent_swin_s_fpn_1x_coco.py (the official 3x config differs from the 1x one only in its
# schedule): 36 epochs, step decay at epochs 27 and 33 after a linear warm-up (500 iterations, ratio 0.001); the
# same multi-scale training (short side 480-800, random crop), AdamW lr 1e-4, weight decay 0.05 (none on norms,
# position tables and agent biases), 2 images per GPU (8 GPUs = batch 16 assumed), drop path 0.1; attention types
# AABB, agent grids 9-12-14-7, per-level LayerNorm outputs.
_base_ = './mask-rcnn_agent_swin_t_fpn_3x_coco.py'
model = dict(backbone=dict(model_name='agent_swin_s'))
