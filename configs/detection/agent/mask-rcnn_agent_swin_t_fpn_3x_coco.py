# Agent Attention (ECCV 2024), COCO Mask R-CNN 3x, Agent-Swin-T: box AP 47.3, mask AP 42.7
# (the paper's COCO results; the same numbers in the Mask R-CNN Table of the official
# downstream/detection/README.md, config configs/agent_swin/agent_swin_t_mrcnn_3x_9-12-14-7.py).
# The model of ./mask-rcnn_agent_swin_t_fpn_1x_coco.py (the official 3x config differs from the 1x one only in its
# schedule): 36 epochs, step decay at epochs 27 and 33 after the 1x base's linear warm-up (500 iterations, ratio
# 0.001); the same multi-scale training (short side 480-800, random crop), AdamW lr 1e-4, weight decay 0.05 (none
# on norms, position tables and agent biases), 2 images per GPU (8 GPUs = batch 16 assumed: the README does not
# state the GPU count), drop path 0.1; attention types AAAB, agent grids 9-12-14-7, per-level LayerNorm outputs.
_base_ = './mask-rcnn_agent_swin_t_fpn_1x_coco.py'
max_epochs = 36
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[27, 33], gamma=0.1),
]
