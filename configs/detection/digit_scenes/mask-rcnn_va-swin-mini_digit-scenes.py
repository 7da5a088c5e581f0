# The dense demo (`make demo-dense`): Mask R-CNN with a small Swin (va_swin, 1.4 M backbone parameters, from
# scratch) on the embedded digit scenes, trained on one CPU. No paper number: it shows the full mmdet path
# (training, COCO bbox / segm evaluation, checkpoints, resume) working with no download.
_base_ = [
    'mmdet::_base_/models/mask-rcnn_r50_fpn.py',
    'mmdet::_base_/default_runtime.py',
    '../_base_/digit_scenes_instance.py',
]
custom_imports = dict(imports=['visionattn.mm'], allow_failed_imports=False)
channels = [32, 64, 128, 256]
model = dict(
    data_preprocessor=dict(pad_size_divisor=32),
    backbone=dict(_delete_=True, type='VisionAttnBackbone', model_name='va_swin_tiny_patch4_window7_224',
                  model_kwargs=dict(embed_dim=32, depths=(1, 1, 2, 1), num_heads=(1, 2, 4, 8), window_size=4),
                  # BN, not LN, on the levels: from scratch, per-pixel LN levels left the RoI heads at chance
                  # (mask loss 0.67, bbox mAP <= 0.3 after 12-16 epochs, lr 2e-4 .. 1e-3; ResNet-18 instead: 31.5 after 4)
                  drop_path_rate=0.0, out_norm='BN'),
    neck=dict(in_channels=channels, out_channels=64),
    rpn_head=dict(in_channels=64, feat_channels=64,
                  anchor_generator=dict(scales=[4], ratios=[1.0], strides=[4, 8, 16, 32, 64])),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=64),
        bbox_head=dict(in_channels=64, fc_out_channels=256, num_classes=10),
        mask_roi_extractor=dict(out_channels=64),
        mask_head=dict(in_channels=64, conv_out_channels=64, num_classes=10)),
    test_cfg=dict(rcnn=dict(max_per_img=10)))
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=12, val_interval=4)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=2e-4, weight_decay=0.05),
                     clip_grad=dict(max_norm=10.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=50),
    dict(type='MultiStepLR', begin=0, end=12, by_epoch=True, milestones=[9, 11], gamma=0.1),
]
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=4, max_keep_ckpts=2))
