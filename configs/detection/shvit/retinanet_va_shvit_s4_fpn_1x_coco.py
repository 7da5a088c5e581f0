# SHViT (CVPR 2024), COCO RetinaNet 1x, SHViT-S4: box AP 38.8 (the paper's COCO results; the same number
# in the RetinaNet Table of the official downstream/README.md, config
# downstream/configs/retinanet_shvit_s4_fpn_1x_coco.py).
# 8 GPUs x 2 images (batch 16), 1333x800, AdamW lr 1e-4, weight decay 0.05 on every parameter (the
# official custom keys attention_biases / attention_bias_idxs name no SHViT parameter), linear warm-up
# 500 iterations, step decay at epochs 8 and 11; BatchNorm in eval mode (the official backbone always
# keeps its BatchNorms in eval mode), no drop path (SHViT has none), no extra output norms.
# Levels: SHViT gives 3 maps at strides 16, 32, 64. The official neck (EfficientViTFPN, not in mmdet 3.3)
# adds transposed-conv levels finer than stride 16 (stride 8); mmdet's FPN cannot, so here
# the FPN runs on the 3 maps from level 0 plus 2 coarser extra levels (strides 16-256) and the anchors
# are rescaled (octave base scale 2 instead of 4) so that the anchor sizes stay 32-512 as in the official run.
_base_ = [
    'mmdet::_base_/models/retinanet_r50_fpn.py',
    'mmdet::_base_/datasets/coco_detection.py',
    'mmdet::_base_/schedules/schedule_1x.py',
    'mmdet::_base_/default_runtime.py',
]
custom_imports = dict(imports=['visionattn.mm'], allow_failed_imports=False)
# official release (timm tag va_shvit_s4.orig_in1k; the default tag va_shvit_s4.in1k is hub-only)
pretrained = 'https://github.com/ysj9909/SHViT/releases/download/v1.0/shvit_s4.pth'
model = dict(
    backbone=dict(
        _delete_=True, type='VisionAttnBackbone', model_name='va_shvit_s4', out_indices=(0, 1, 2),
        out_norm=None, norm_eval=True, with_cp=False,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    neck=dict(in_channels=[224, 336, 448], start_level=0, add_extra_convs='on_input', num_outs=5),
    bbox_head=dict(anchor_generator=dict(octave_base_scale=2, strides=[16, 32, 64, 128, 256])))
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(_delete_=True, type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.05))
train_dataloader = dict(batch_size=2)
auto_scale_lr = dict(enable=False, base_batch_size=16)
