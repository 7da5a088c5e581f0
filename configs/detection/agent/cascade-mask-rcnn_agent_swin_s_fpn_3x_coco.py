# Agent Attention (ECCV 2024), COCO Cascade Mask R-CNN 3x, Agent-Swin-S: box AP 52.6, mask AP 45.5
# (the paper's COCO results; the same numbers in the Cascade Mask R-CNN Table of the official
# downstream/detection/README.md, config configs/agent_swin/agent_swin_s_crcnn_3x_9-12-14-7.py).
# 36 epochs, step decay at epochs 27 and 33 after a linear warm-up (500 iterations, ratio 0.001), multi-scale
# training (short side 480-800, random crop), AdamW lr 1e-4, weight decay 0.05 (none on norms, position tables and
# agent biases), 2 images per GPU (8 GPUs = batch 16 assumed), drop path 0.1; attention types AABB, window 56
# (window blocks 7), agent grids 9-12-14-7, per-level LayerNorm outputs; 4conv1fc GIoU bbox heads with SyncBN
# (./cascade-mask-rcnn_agent_swin_t_fpn_1x_coco.py).
_base_ = './cascade-mask-rcnn_agent_swin_t_fpn_3x_coco.py'
model = dict(backbone=dict(model_name='agent_swin_s'))
