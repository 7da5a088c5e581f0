# BiFormer (CVPR 2023) Table 4: UperNet 160k on ADE20K 512x512, BiFormer-S: mIoU 49.8 (ms + flip 50.8)
# (official semantic_segmentation/README.md, configs/ade20k/upernet.biformer_small.py).
# 8 GPUs x 2 images (batch 16), AdamW lr 6e-5, weight decay 0.01 (none on norms / position tables),
# linear warm-up 1500 iterations then poly decay (power 1), drop path 0.3; regions n_win 8, per-level
# LayerNorm outputs, auxiliary FCN head on stage 3. Official runs used fp16; this config is fp32.
_base_ = [
    'mmseg::_base_/models/upernet_r50.py',
    'mmseg::_base_/datasets/ade20k.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_160k.py',
]
custom_imports = dict(imports=['visionattn.mm'], allow_failed_imports=False)
# timm pretrained_cfg url of biformer_s (a (url, file name) pair: the official file is biformer_small_in1k.pth)
pretrained = 'https://api.onedrive.com/v1.0/shares/s!AkBbczdRlZvChHDyM-x9KWRBZ832/root/content'
crop_size = (512, 512)
model = dict(
    data_preprocessor=dict(size=crop_size),
    pretrained=None,
    backbone=dict(
        _delete_=True, type='VisionAttnBackbone', model_name='biformer_s', out_indices=(0, 1, 2, 3),
        drop_path_rate=0.3, out_norm='LN', norm_eval=False, with_cp=False,
        model_kwargs=dict(n_win=8),
        init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    decode_head=dict(in_channels=[64, 128, 256, 512], num_classes=150),
    auxiliary_head=dict(in_channels=256, num_classes=150))
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=6e-5, betas=(0.9, 0.999), weight_decay=0.01),
    paramwise_cfg=dict(custom_keys={
        'absolute_pos_embed': dict(decay_mult=0.0),
        'relative_position_bias_table': dict(decay_mult=0.0),
        'norm': dict(decay_mult=0.0)}))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500),
    dict(type='PolyLR', eta_min=0.0, power=1.0, begin=1500, end=160000, by_epoch=False),
]
train_dataloader = dict(batch_size=2)
val_dataloader = dict(batch_size=1)
test_dataloader = val_dataloader
