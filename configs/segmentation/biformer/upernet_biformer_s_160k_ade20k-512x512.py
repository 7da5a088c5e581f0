# BiFormer (CVPR 2023) Table 4: UperNet 160k on ADE20K 512x512, BiFormer-S: mIoU 49.8 (ms + flip 50.8)
# (official semantic_segmentation/README.md, configs/ade20k/upernet.biformer_small.py).
# 8 GPUs x 2 images (batch 16), AdamW lr 6e-5, weight decay 0.01 (none on norms / position tables),
# linear warm-up 1500 iterations then poly decay (power 1), drop path 0.3; regions n_win 8, per-level
# LayerNorm outputs, auxiliary FCN head on stage 3. Official runs used fp16; this config is fp32.
_base_ = '../_base_/upernet_160k_ade20k-512x512.py'
model = dict(
    backbone=dict(model_name='biformer_s', drop_path_rate=0.3, out_norm=dict(type='LN', eps=1e-6),
                  model_kwargs=dict(n_win=8)),
    decode_head=dict(in_channels=[64, 128, 256, 512]),
    auxiliary_head=dict(in_channels=256))
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={
        'absolute_pos_embed': dict(decay_mult=0.0),
        'relative_position_bias_table': dict(decay_mult=0.0),
        'norm': dict(decay_mult=0.0)}))
