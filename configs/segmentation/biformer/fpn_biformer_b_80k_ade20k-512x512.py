# BiFormer (CVPR 2023) Table 4: Semantic FPN 80k on ADE20K 512x512, BiFormer-B: mIoU 49.9
# (official semantic_segmentation/README.md, configs/ade20k/sfpn.biformer_base.py).
# 8 GPUs x 4 images (batch 32; UniFormer's 4-GPU recipe with lr x2 and half the iterations), AdamW
# lr 2e-4, weight decay 1e-4, linear warm-up 1000 iterations (from 0.1x) and cosine decay to 1e-8x,
# drop path 0.3; regions n_win 8 (training resolution 512), per-level LayerNorm outputs (eps 1e-6). Official runs
# used fp16 and a test-time AlignResize to a multiple of 32 (BiFormer pads itself here).
_base_ = './fpn_biformer_s_80k_ade20k-512x512.py'
model = dict(
    backbone=dict(model_name='biformer_b', drop_path_rate=0.3),
    neck=dict(in_channels=[96, 192, 384, 768]))
