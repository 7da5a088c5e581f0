# SHViT (CVPR 2024): No paper number (the paper reports no ADE20K result; this config exists so that the
# family has a segmentation setting). Swin-T's UperNet 160k recipe (Swin paper Table 3 setting):
# 8 GPUs x 2 images (batch 16), 512x512 crops, AdamW lr 6e-5, weight decay 0.01 (none on norms),
# linear warm-up 1500 iterations then poly decay (power 1); BatchNorm in eval mode (as the official
# SHViT dense backbone), no drop path (SHViT has none). SHViT gives 3 levels (strides 16, 32, 64): the
# UperNet head takes all three, the auxiliary FCN head the stride-32 level.
_base_ = '../_base_/upernet_160k_ade20k-512x512.py'
model = dict(
    # the official release (timm's default tag .in1k is hub-only); no drop_path_rate (SHViT has none)
    backbone=dict(model_name='va_shvit_s4.orig_in1k', out_indices=(0, 1, 2), out_norm=None, norm_eval=True),
    decode_head=dict(in_channels=[224, 336, 448], in_index=[0, 1, 2]),
    auxiliary_head=dict(in_channels=336, in_index=1))
optim_wrapper = dict(paramwise_cfg=dict(norm_decay_mult=0.0))
