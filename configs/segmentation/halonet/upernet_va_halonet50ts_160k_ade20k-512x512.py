# HaloNet (CVPR 2021): No paper number (the paper reports no ADE20K result).
# Swin-T's UperNet 160k recipe (Swin paper Table 3 setting): 8 GPUs x 2 images (batch 16), 512x512
# crops, AdamW lr 6e-5, weight decay 0.01 (none on norms and relative position tables),
# linear warm-up 1500 iterations then poly decay (power 1), drop path 0.3, auxiliary FCN head on the
# stride-16 level.
# Backbone: levels 1-4 of timm's five (strides 4-32), BatchNorm in eval mode (2 images per GPU; timm's
# BatchNormAct2d would lose its activation in torch's SyncBatchNorm conversion), no extra output norms.
_base_ = '../_base_/upernet_160k_ade20k-512x512.py'
model = dict(
    backbone=dict(model_name='va_halonet50ts', out_indices=(1, 2, 3, 4), drop_path_rate=0.3, out_norm=None,
                  norm_eval=True),
    decode_head=dict(in_channels=[256, 512, 1024, 2048]),
    auxiliary_head=dict(in_channels=1024))
optim_wrapper = dict(paramwise_cfg=dict(norm_decay_mult=0.0, custom_keys={'pos_embed': dict(decay_mult=0.0)}))
