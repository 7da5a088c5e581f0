# Agent Attention (ECCV 2024), ADE20K Semantic FPN, Agent-PVT-T: mIoU 40.18
# (the paper's ADE20K results; the same number in the Semantic FPN Table of the official
# downstream/segmentation/README.md, config configs/agent_pvt/fpn_agent_pvt_t_12-16-28-28.py).
# The official schedule is 40k iterations (PVT's Semantic FPN recipe), not 80k.
# 8 GPUs x 2 images (batch 16), 512x512 crops, AdamW lr 2e-4, weight decay 1e-4, poly decay (power 0.9)
# to 0, drop path 0.1; agent grids 12-16-28-28, no per-level output norms.
_base_ = [
    '../_base_/fpn_ade20k-512x512.py',
    'mmseg::_base_/schedules/schedule_40k.py',
]
model = dict(
    backbone=dict(
        model_name='agent_pvt_t', drop_path_rate=0.1, out_norm=None,
        model_kwargs=dict(agent_shapes=((12, 12), (16, 16), (28, 28), (28, 28)))),
    neck=dict(in_channels=[64, 128, 320, 512]))
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-4, weight_decay=1e-4))
param_scheduler = [dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=40000, by_epoch=False)]
