# HaloNet (CVPR 2021): No paper number (no COCO result for timm's halonet50ts configuration).
# Swin-T's Mask R-CNN 1x recipe (Swin-Transformer-Object-Detection README Table, Swin-T 43.7 / 39.8):
# 8 GPUs x 2 images (batch 16), multi-scale training (short side 480-800, random crop), AdamW lr 1e-4,
# weight decay 0.05 (none on norms and relative position tables),
# step decay at epochs 8 and 11, drop path 0.1.
# Backbone: levels 1-4 of timm's five (strides 4-32), BatchNorm in eval mode (2 images per GPU; timm's
# BatchNormAct2d would lose its activation in torch's SyncBatchNorm conversion), no extra output norms.
_base_ = '../_base_/swin_multiscale_1x.py'
model = dict(
    backbone=dict(model_name='va_halonet50ts', out_indices=(1, 2, 3, 4), drop_path_rate=0.1, out_norm=None,
                  norm_eval=True),
    neck=dict(in_channels=[256, 512, 1024, 2048]))
optim_wrapper = dict(paramwise_cfg=dict(norm_decay_mult=0.0, custom_keys={'pos_embed': dict(decay_mult=0.0)}))
