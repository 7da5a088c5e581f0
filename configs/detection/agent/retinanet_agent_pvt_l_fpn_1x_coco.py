# Agent Attention (ECCV 2024), COCO RetinaNet 1x, Agent-PVT-L: box AP 46.8
# (the paper's COCO results; the same number in the RetinaNet Table of the official
# downstream/detection/README.md, config configs/agent_pvt/agent_pvt_l_rtn_1x_12-16-28-28.py).
# 2 images per GPU (official base config; 8 GPUs = batch 16 assumed, the mmdet 1x convention: the
# README does not state the GPU count), 1333x800,
# AdamW lr 1e-4, weight decay 1e-4 (no parameter-wise exemptions), step decay at epochs 8 and 11,
# drop path 0.3; agent grids 12-16-28-28 (downstream_agent_shapes), no per-level output norms (as the
# official AgentPVT backbone).
_base_ = [
    'mmdet::_base_/models/retinanet_r50_fpn.py',
    'mmdet::_base_/datasets/coco_detection.py',
    'mmdet::_base_/schedules/schedule_1x.py',
    'mmdet::_base_/default_runtime.py',
]
custom_imports = dict(imports=['visionattn.mm'], allow_failed_imports=False)
# timm pretrained_cfg url of agent_pvt_l (a (url, file name) pair: the official file is agent_pvt_l_max_acc.pth)
pretrained = 'https://cloud.tsinghua.edu.cn/f/040cfe0cfbbe4762ad09/?dl=1'
model = dict(
    backbone=dict(
        _delete_=True, type='VisionAttnBackbone', model_name='agent_pvt_l', out_indices=(0, 1, 2, 3),
        drop_path_rate=0.3, out_norm=None, norm_eval=False, with_cp=False,
        model_kwargs=dict(agent_shapes=((12, 12), (16, 16), (28, 28), (28, 28))),
        init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    neck=dict(in_channels=[64, 128, 320, 512]))
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(_delete_=True, type='AdamW', lr=1e-4, weight_decay=1e-4))
train_dataloader = dict(batch_size=2)
auto_scale_lr = dict(enable=False, base_batch_size=16)
