# Agent Attention (ECCV 2024), ADE20K UperNet 160k, Agent-Swin-T: mIoU 46.68
# (the paper's ADE20K results; the same number in the UperNet Table of the official
# downstream/segmentation/README.md, config configs/agent_swin/upernet_agent_swin_t_9-12-14-7.py).
# 8 GPUs x 2 images (batch 16), 512x512 crops, 160k iterations, AdamW lr 6e-5, weight decay 0.01 (none
# on norms, position tables and agent biases), linear warm-up 1500 iterations then poly decay (power 1),
# drop path 0.3; agent grids 9-12-14-7 (downstream_agent_shapes), per-level LayerNorm outputs, auxiliary
# FCN head on stage 3.
_base_ = '../_base_/upernet_160k_ade20k-512x512.py'
model = dict(
    backbone=dict(
        model_name='agent_swin_t', drop_path_rate=0.3, out_norm='LN',
        model_kwargs=dict(agent_shapes=((9, 9), (12, 12), (14, 14), (7, 7)))),
    decode_head=dict(in_channels=[96, 192, 384, 768]),
    auxiliary_head=dict(in_channels=384))
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
