# BiFormer (CVPR 2023) Table 3: RetinaNet 1x on COCO, BiFormer-B: box AP 47.1
# (official object_detection/README.md, configs/coco/retinanet.1x.biformer_base.py).
# 8 GPUs x 2 images (batch 16), 1333x800, AdamW lr 1e-4, weight decay 1e-4 (WaveViT recipe, no
# parameter-wise exemptions), step decay at epochs 8 and 11, drop path 0.3; regions n_win 16, per-level
# LayerNorm outputs, BatchNorm in eval mode (official norm_eval=True). Official runs: fp16; this is fp32.
_base_ = './retinanet_biformer_s_fpn_1x_coco.py'
model = dict(
    backbone=dict(model_name='biformer_b', drop_path_rate=0.3),
    neck=dict(in_channels=[96, 192, 384, 768]))
