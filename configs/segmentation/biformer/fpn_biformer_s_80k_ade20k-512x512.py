# BiFormer (CVPR 2023) Table 4: Semantic FPN 80k on ADE20K 512x512, BiFormer-S: mIoU 48.9
# (official semantic_segmentation/README.md, configs/ade20k/sfpn.biformer_small.py).
# 8 GPUs x 4 images (batch 32; UniFormer's 4-GPU recipe with lr x2 and half the iterations), AdamW
# lr 2e-4, weight decay 1e-4, linear warm-up 1000 iterations (from 0.1x) and cosine decay to 1e-8x,
# drop path 0.15; regions n_win 8 (training resolution 512), per-level LayerNorm outputs (eps 1e-6). Official runs
# used fp16 and a test-time AlignResize to a multiple of 32 (BiFormer pads itself here).
_base_ = [
    '../_base_/fpn_ade20k-512x512.py',
    'mmseg::_base_/schedules/schedule_80k.py',
]
model = dict(
    backbone=dict(model_name='biformer_s', drop_path_rate=0.15, out_norm=dict(type='LN', eps=1e-6),
                  model_kwargs=dict(n_win=8)),
    neck=dict(in_channels=[64, 128, 256, 512]))
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-4, weight_decay=1e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=1000),
    dict(type='CosineAnnealingLR', T_max=80000, eta_min_ratio=1e-8, by_epoch=False, begin=0, end=80000),
]
train_dataloader = dict(batch_size=4)
