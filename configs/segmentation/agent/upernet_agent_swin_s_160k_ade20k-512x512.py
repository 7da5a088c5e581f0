# Agent Attention (ECCV 2024), ADE20K UperNet 160k, Agent-Swin-S: mIoU 48.08
# (the paper's ADE20K results; the same number in the UperNet Table of the official
# downstream/segmentation/README.md, config configs/agent_swin/upernet_agent_swin_s_9-12-14-7.py).
# 8 GPUs x 2 images (batch 16), 512x512 crops, 160k iterations, AdamW lr 6e-5, weight decay 0.01 (none
# on norms, position tables and agent biases), linear warm-up 1500 iterations then poly decay (power 1),
# drop path 0.3; agent grids 9-12-7-7 (downstream_agent_shapes), per-level LayerNorm outputs, auxiliary
# FCN head on stage 3.
_base_ = './upernet_agent_swin_t_160k_ade20k-512x512.py'
model = dict(
    backbone=dict(model_name='agent_swin_s', model_kwargs=dict(agent_shapes=((9, 9), (12, 12), (7, 7), (7, 7)))))
