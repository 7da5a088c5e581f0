# BiFormer (CVPR 2023) Table 3: RetinaNet 1x on COCO, BiFormer-S: box AP 45.9
# (official object_detection/README.md, configs/coco/retinanet.1x.biformer_small.py).
# 8 GPUs x 2 images (batch 16), 1333x800, AdamW lr 1e-4, weight decay 1e-4 (WaveViT recipe, no
# parameter-wise exemptions), step decay at epochs 8 and 11, drop path 0.2; regions n_win 16, per-level
# LayerNorm outputs, BatchNorm in eval mode (official norm_eval=True). Official runs: fp16; this is fp32.
_base_ = [
    'mmdet::_base_/models/retinanet_r50_fpn.py',
    'mmdet::_base_/datasets/coco_detection.py',
    'mmdet::_base_/schedules/schedule_1x.py',
    'mmdet::_base_/default_runtime.py',
]
custom_imports = dict(imports=['visionattn.mm'], allow_failed_imports=False)
# timm pretrained_cfg url of biformer_s (a (url, file name) pair: the official file is biformer_small_in1k.pth)
pretrained = 'https://api.onedrive.com/v1.0/shares/s!AkBbczdRlZvChHDyM-x9KWRBZ832/root/content'
model = dict(
    backbone=dict(
        _delete_=True, type='VisionAttnBackbone', model_name='biformer_s', out_indices=(0, 1, 2, 3),
        drop_path_rate=0.2, out_norm='LN', norm_eval=True, with_cp=False,
        model_kwargs=dict(n_win=16),
        init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    neck=dict(in_channels=[64, 128, 256, 512]))
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(_delete_=True, type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=1e-4))
train_dataloader = dict(batch_size=2)
auto_scale_lr = dict(enable=False, base_batch_size=16)
