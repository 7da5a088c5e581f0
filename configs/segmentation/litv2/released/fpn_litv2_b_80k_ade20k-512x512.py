# LITv2 (NeurIPS 2022), ADE20K Semantic FPN 80k (512x512), LITv2-B, the official checkpoint: mIoU 47.2 (the
# segmentation Table of the official segmentation/README.md, row LITv2-B; single scale, val).
# The model of ../fpn_litv2_b_80k_ade20k-512x512.py (the official one: LITv2-B, HiLo local windows (0, 0, 2,
# 1), LayerNorm outputs on all four levels; mmseg's FPN and FPNHead, no auxiliary head; whole-image test at
# 2048x512 keep ratio, no flip, no padding), its weights from the release, an mmseg 0.13 file converted on
# load (backbone keys through LITv2's filter, norm0-norm3 to the level norms; neck and head keys are named as
# in mmseg 1.2).
#   python tools/test.py configs/segmentation/litv2/released/fpn_litv2_b_80k_ade20k-512x512.py pretrained
_base_ = '../fpn_litv2_b_80k_ade20k-512x512.py'
load_from = 'https://github.com/ziplab/LITv2/releases/download/v1.0/litv2_b_fpn_r50_512x512_80k_ade20k.pth'
model = dict(backbone=dict(init_cfg=None))   # every weight comes from the release
