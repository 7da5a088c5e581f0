# BiFormer (CVPR 2023) Table 3: Mask R-CNN 1x on COCO, BiFormer-B: box AP 48.6, mask AP 43.7
# (official object_detection/README.md, configs/coco/maskrcnn.1x.biformer_base.py).
# 8 GPUs x 2 images (batch 16), 1333x800, AdamW lr 1e-4, weight decay 0.05 (none on norms / position
# tables), step decay at epochs 8 and 11, drop path 0.3; regions n_win 16, per-level LayerNorm outputs (eps 1e-6)
# (the official BiFormer_mm extra_norms), BatchNorm in eval mode (the official norm_eval=True).
# Official runs used AMP; this config is fp32.
_base_ = './mask-rcnn_biformer_s_fpn_1x_coco.py'
model = dict(
    backbone=dict(model_name='biformer_b', drop_path_rate=0.3),
    neck=dict(in_channels=[96, 192, 384, 768]))
