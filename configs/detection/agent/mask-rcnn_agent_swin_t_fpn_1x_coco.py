# Agent Attention (ECCV 2024), COCO Mask R-CNN 1x, Agent-Swin-T: box AP 44.6, mask AP 40.7
# (the paper's COCO results; the same numbers in the Mask R-CNN Table of the official
# downstream/detection/README.md, config configs/agent_swin/agent_swin_t_mrcnn_1x_9-12-14-7.py).
# 2 images per GPU (official base config; 8 GPUs = batch 16 assumed, the mmdet 1x convention: the
# README does not state the GPU count), Swin's multi-scale training (short side 480-800, random crop),
# AdamW lr 1e-4, weight decay 0.05 (none on norms, position tables and agent biases), step decay at
# epochs 8 and 11, drop path 0.1; attention types AAAB, window 56 (window blocks 7), agent grids
# 9-12-14-7 (downstream_agent_shapes), per-level LayerNorm outputs (as the official backbone).
_base_ = '../_base_/swin_multiscale_1x.py'
model = dict(
    backbone=dict(
        model_name='agent_swin_t', drop_path_rate=0.1, out_norm='LN',
        model_kwargs=dict(agent_shapes=((9, 9), (12, 12), (14, 14), (7, 7)))),
    neck=dict(in_channels=[96, 192, 384, 768]))
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={
        'absolute_pos_embed': dict(decay_mult=0.0),
        'relative_position_bias_table': dict(decay_mult=0.0),
        'norm': dict(decay_mult=0.0),
        'an_bias': dict(decay_mult=0.0),
        'na_bias': dict(decay_mult=0.0),
        'ah_bias': dict(decay_mult=0.0),
        'aw_bias': dict(decay_mult=0.0),
        'ha_bias': dict(decay_mult=0.0),
        'wa_bias': dict(decay_mult=0.0)}))
