# LITv2 (NeurIPS 2022) Table 3: Semantic FPN 80k on ADE20K 512x512, LITv2-M: mIoU 45.7
# (official README segmentation Table: segmentation/configs/litv2/litv2_m_fpn_r50_512x512_80k_ade20k.py).
# 8 GPUs x 2 images (batch 16), AdamW lr 1e-4, weight decay 1e-4 (no parameter-wise exemptions), poly
# decay (power 0.9) to 1e-6, drop path 0.2; HiLo alpha 0.9, local windows (0, 0, 2, 1), per-level
# LayerNorm outputs on all four levels (as the official segmentation backbone: norm0-norm3).
_base_ = './fpn_litv2_s_80k_ade20k-512x512.py'
model = dict(backbone=dict(model_name='litv2_m'))
