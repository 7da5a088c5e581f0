# LITv2 (NeurIPS 2022) Table 2: Mask R-CNN 1x on COCO, LITv2-B: box AP 47.3, mask AP 42.6 (official README
# Mask R-CNN Table, window size 2: detection/configs/litv2/mask_rcnn_litv2_b_fpn_1x_coco.py).
# 8 GPUs x 2 images (batch 16), 1333x800, AdamW lr 2e-4, weight decay 1e-4 (none on norms), linear warm-up 500
# iterations, step decay at epochs 8 and 11, drop path 0.3; HiLo alpha 0.9, local windows (0, 0, 2, 1)
# (stage-3 Hi-Fi windows 2x2); LayerNorm outputs on levels 1-3 and none on level 0, as the official detection
# backbone (norm1-norm3, no norm0). Official runs used AMP (apex) and gradient checkpointing; this config is
# fp32.
_base_ = './mask-rcnn_litv2_s_fpn_1x_coco.py'
model = dict(
    backbone=dict(model_name='litv2_b', drop_path_rate=0.3, with_cp=True),
    neck=dict(in_channels=[128, 256, 512, 1024]))
