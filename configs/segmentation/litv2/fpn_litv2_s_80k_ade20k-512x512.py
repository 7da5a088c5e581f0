# LITv2 (NeurIPS 2022) Table 3: Semantic FPN 80k on ADE20K 512x512, LITv2-S: mIoU 44.3
# (official README segmentation Table: segmentation/configs/litv2/litv2_s_fpn_r50_512x512_80k_ade20k.py).
# 8 GPUs x 2 images (batch 16), AdamW lr 1e-4, weight decay 1e-4 (no parameter-wise exemptions), poly
# decay (power 0.9) to 1e-6, drop path 0.2; HiLo alpha 0.9, local windows (0, 0, 2, 1), per-level
# LayerNorm outputs on all four levels (as the official segmentation backbone: norm0-norm3).
_base_ = [
    '../_base_/fpn_ade20k-512x512.py',
    'mmseg::_base_/schedules/schedule_80k.py',
]
model = dict(
    backbone=dict(model_name='litv2_s', drop_path_rate=0.2, out_norm='LN',
                  model_kwargs=dict(alpha=0.9, local_ws=(0, 0, 2, 1))),
    neck=dict(in_channels=[96, 192, 384, 768]))
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-4, weight_decay=1e-4))
param_scheduler = [dict(type='PolyLR', eta_min=1e-6, power=0.9, begin=0, end=80000, by_epoch=False)]
