# Swin Transformer (ICCV 2021) paper Table 3: UperNet 160k, ADE20K 512x512, Swin-T, ImageNet-1k pretrained:
# mIoU 44.5 single scale (45.8 multi-scale + flip).
# 8 GPUs x 2 images (batch 16), AdamW lr 6e-5, weight decay 0.01 (none on norms and position tables),
# linear warm-up 1500 iterations then poly decay (power 1), drop path 0.3, auxiliary FCN head on stage 3.
_base_ = [
    'mmseg::_base_/models/upernet_swin.py',
    '../_base_/swin_upernet_160k.py',
]
custom_imports = dict(imports=['visionattn.mm'], allow_failed_imports=False)
crop_size = (512, 512)
model = dict(
    data_preprocessor=dict(size=crop_size),
    pretrained=None,
    backbone=dict(_delete_=True, type='VisionAttnBackbone', model_name='va_swin_tiny_patch4_window7_224',
                  out_indices=(0, 1, 2, 3), drop_path_rate=0.3, out_norm='LN',
                  init_cfg=dict(type='Pretrained', checkpoint='timm')),
    decode_head=dict(in_channels=[96, 192, 384, 768], num_classes=150),
    auxiliary_head=dict(in_channels=384, num_classes=150))
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={'relative_position_bias_table': dict(decay_mult=0.0),
                                    'norm': dict(decay_mult=0.0)}))
