# Agent Attention (ECCV 2024), ADE20K Semantic FPN, Agent-PVT-T: mIoU 40.18
# (the paper's ADE20K results; the same number in the Semantic FPN Table of the official
# downstream/segmentation/README.md, config configs/agent_pvt/fpn_agent_pvt_t_12-16-28-28.py).
# The official schedule is 40k iterations (PVT's Semantic FPN recipe), not 80k.
# 8 GPUs x 2 images (batch 16), 512x512 crops, AdamW lr 2e-4, weight decay 1e-4, poly decay (power 0.9)
# to 0, drop path 0.1; agent grids 12-16-28-28, no per-level output norms.
_base_ = [
    'mmseg::_base_/models/fpn_r50.py',
    'mmseg::_base_/datasets/ade20k.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_40k.py',
]
custom_imports = dict(imports=['visionattn.mm'], allow_failed_imports=False)
# timm pretrained_cfg url of agent_pvt_t (a (url, file name) pair: the official file is agent_pvt_t_max_acc.pth)
pretrained = 'https://cloud.tsinghua.edu.cn/f/13fdf0e0a7c5498c934f/?dl=1'
crop_size = (512, 512)
model = dict(
    data_preprocessor=dict(size=crop_size),
    pretrained=None,
    backbone=dict(
        _delete_=True, type='VisionAttnBackbone', model_name='agent_pvt_t', out_indices=(0, 1, 2, 3),
        drop_path_rate=0.1, out_norm=None, norm_eval=False, with_cp=False,
        model_kwargs=dict(agent_shapes=((12, 12), (16, 16), (28, 28), (28, 28))),
        init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    neck=dict(in_channels=[64, 128, 320, 512]),
    decode_head=dict(num_classes=150))
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-4, weight_decay=1e-4))
param_scheduler = [dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=40000, by_epoch=False)]
train_dataloader = dict(batch_size=2)
val_dataloader = dict(batch_size=1)
test_dataloader = val_dataloader
