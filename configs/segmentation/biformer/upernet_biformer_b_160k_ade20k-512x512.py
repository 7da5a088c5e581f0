# BiFormer (CVPR 2023) Table 4: UperNet 160k on ADE20K 512x512, BiFormer-B: mIoU 51.0 (ms + flip 51.7)
# (official semantic_segmentation/README.md, configs/ade20k/upernet.biformer_base.py).
# 8 GPUs x 2 images (batch 16), AdamW lr 6e-5, weight decay 0.01 (none on norms / position tables),
# linear warm-up 1500 iterations then poly decay (power 1), drop path 0.4; regions n_win 8, per-level
# LayerNorm outputs, auxiliary FCN head on stage 3. Official runs used fp16; this config is fp32.
_base_ = './upernet_biformer_s_160k_ade20k-512x512.py'
model = dict(
    backbone=dict(model_name='biformer_b', drop_path_rate=0.4),
    decode_head=dict(in_channels=[96, 192, 384, 768]),
    auxiliary_head=dict(in_channels=384))
