# ConViT (ICML 2021): No paper number (the paper reports no COCO result).
# Swin-T's Mask R-CNN 1x recipe (Swin-Transformer-Object-Detection README Table, Swin-T 43.7 / 39.8):
# 8 GPUs x 2 images (batch 16), multi-scale training (short side 480-800, random crop), AdamW lr 1e-4,
# weight decay 0.05 (none on norms, position embedding and class token),
# step decay at epochs 8 and 11, drop path 0.1.
# Backbone: the plain stride-16 ViT gives four levels from blocks 2, 5, 8, 11 resampled to strides 4-32
# without parameters (visionattn.models.convit); per-level LayerNorm outputs (the token maps have no norm).
_base_ = '../_base_/swin_multiscale_1x.py'
model = dict(
    # the official release (timm's default tag .fb_in1k is hub-only)
    backbone=dict(model_name='va_convit_small.fb_orig_in1k', drop_path_rate=0.1, out_norm='LN'),
    neck=dict(in_channels=[432, 432, 432, 432]))
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={
        'norm': dict(decay_mult=0.0),
        'pos_embed': dict(decay_mult=0.0),
        'cls_token': dict(decay_mult=0.0)}))
