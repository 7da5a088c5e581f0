# ConViT (ICML 2021): No paper number (the paper reports no ADE20K result).
# Swin-T's UperNet 160k recipe (Swin paper Table 3 setting): 8 GPUs x 2 images (batch 16), 512x512
# crops, AdamW lr 6e-5, weight decay 0.01 (none on norms, position embedding and class token),
# linear warm-up 1500 iterations then poly decay (power 1), drop path 0.3, auxiliary FCN head on the
# stride-16 level.
# Backbone: the plain stride-16 ViT gives four levels from blocks 2, 5, 8, 11 resampled to strides 4-32
# without parameters (visionattn.models.convit); per-level LayerNorm outputs (the token maps have no norm).
_base_ = '../_base_/upernet_160k_ade20k-512x512.py'
model = dict(
    # the official release (timm's default tag .fb_in1k is hub-only)
    backbone=dict(model_name='va_convit_small.fb_orig_in1k', drop_path_rate=0.3, out_norm='LN'),
    decode_head=dict(in_channels=[432, 432, 432, 432]),
    auxiliary_head=dict(in_channels=432))
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={
        'norm': dict(decay_mult=0.0),
        'pos_embed': dict(decay_mult=0.0),
        'cls_token': dict(decay_mult=0.0)}))
