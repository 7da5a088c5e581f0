# SHViT (CVPR 2024), COCO RetinaNet 1x, SHViT-S4: box AP 38.8 (the paper's COCO results; the same number
# in the RetinaNet Table of the official downstream/README.md, config
# downstream/configs/retinanet_shvit_s4_fpn_1x_coco.py).
# 8 GPUs x 2 images (batch 16), 1333x800, AdamW lr 1e-4, weight decay 0.05 on every parameter (the
# official custom keys attention_biases / attention_bias_idxs name no SHViT parameter), linear warm-up
# 500 iterations, step decay at epochs 8 and 11; BatchNorm in eval mode (the official backbone always
# keeps its BatchNorms in eval mode), no drop path (SHViT has none), no extra output norms.
# Levels: SHViT gives 3 maps at strides 16, 32, 64; the official neck (EfficientViTFPN, visionattn.mm.necks)
# adds one transposed-conv level (stride 8) and one 3x3 stride-2 convolution on the last map (stride 128), so
# the pyramid is RetinaNet's usual 8-128 (standard anchors).
_base_ = '../_base_/retinanet_fpn_1x_coco.py'
model = dict(
    # the official release (timm's default tag .in1k is hub-only); no drop_path_rate (SHViT has none)
    backbone=dict(model_name='va_shvit_s4.orig_in1k', out_indices=(0, 1, 2), out_norm=None, norm_eval=True),
    neck=dict(_delete_=True, type='EfficientViTFPN', in_channels=[224, 336, 448], out_channels=256, start_level=0,
              num_outs=5, num_extra_trans_convs=1, add_extra_convs='on_input'))
optim_wrapper = dict(
    optimizer=dict(_delete_=True, type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.05))
