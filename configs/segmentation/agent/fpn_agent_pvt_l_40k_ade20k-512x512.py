# Agent Attention (ECCV 2024), ADE20K Semantic FPN, Agent-PVT-L: mIoU 46.52
# (the paper's ADE20K results; the same number in the Semantic FPN Table of the official
# downstream/segmentation/README.md, config configs/agent_pvt/fpn_agent_pvt_l_12-16-28-28.py).
# The official schedule is 40k iterations (PVT's Semantic FPN recipe), not 80k.
# 8 GPUs x 2 images (batch 16), 512x512 crops, AdamW lr 2e-4, weight decay 1e-4, poly decay (power 0.9)
# to 0, drop path 0.1; agent grids 12-16-28-28, no per-level output norms.
_base_ = './fpn_agent_pvt_t_40k_ade20k-512x512.py'
model = dict(backbone=dict(model_name='agent_pvt_l'))
