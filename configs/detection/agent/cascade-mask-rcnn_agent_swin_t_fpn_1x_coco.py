# Agent Attention (ECCV 2024), COCO Cascade Mask R-CNN 1x, Agent-Swin-T: box AP 49.2, mask AP 42.7
# (the paper's COCO results; the same numbers in the Cascade Mask R-CNN Table of the official
# downstream/detection/README.md, config configs/agent_swin/agent_swin_t_crcnn_1x_9-12-14-7.py).
# 2 images per GPU (official base config; 8 GPUs = batch 16 assumed, the mmdet 1x convention: the
# README does not state the GPU count), Swin's multi-scale training (short side 480-800, random crop),
# AdamW lr 1e-4, weight decay 0.05 (none on norms, position tables and agent biases), step decay at
# epochs 8 and 11, drop path 0.1; attention types AAAB, window 56 (window blocks 7), agent grids
# 9-12-14-7 (downstream_agent_shapes), per-level LayerNorm outputs (as the official backbone).
# Heads (official base _base_/models/cascade_mask_rcnn_swin_fpn.py with the config's bbox heads): mmdet's
# Cascade Mask R-CNN (RPN with SmoothL1 beta 1/9; 3 stages, IoU 0.5 / 0.6 / 0.7, loss weights 1 / 0.5 / 0.25;
# rpn proposals 2000 in training, 1000 at test; a mask head per stage) whose bbox heads are ConvFCBBoxHead with 4
# shared 3x3 convs (SyncBN) and 1 fc (1024), class-specific regression of decoded boxes with GIoU loss (weight 10),
# target stds 0.1-0.2 / 0.05-0.1 / 0.033-0.067. The official train / test cfg also sets nms_post and
# nms_across_levels, which mmdet 2.25 no longer reads; mmdet 3.3 has neither.
_base_ = '../_base_/swin_multiscale_cascade_1x.py'


def _bbox_head(target_stds):
    """One stage's bbox head: the official ConvFCBBoxHead (4 shared convs, 1 fc, GIoU on decoded boxes)."""
    return dict(type='ConvFCBBoxHead', num_shared_convs=4, num_shared_fcs=1, in_channels=256, conv_out_channels=256,
                fc_out_channels=1024, roi_feat_size=7, num_classes=80,
                bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0., 0., 0., 0.], target_stds=target_stds),
                reg_class_agnostic=False, reg_decoded_bbox=True, norm_cfg=dict(type='SyncBN', requires_grad=True),
                loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
                loss_bbox=dict(type='GIoULoss', loss_weight=10.0))


model = dict(
    backbone=dict(
        model_name='agent_swin_t', drop_path_rate=0.1, out_norm='LN',
        model_kwargs=dict(agent_shapes=((9, 9), (12, 12), (14, 14), (7, 7)))),
    neck=dict(in_channels=[96, 192, 384, 768]),
    roi_head=dict(bbox_head=[_bbox_head(stds) for stds in (
        [0.1, 0.1, 0.2, 0.2], [0.05, 0.05, 0.1, 0.1], [0.033, 0.033, 0.067, 0.067])]))
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={
        'absolute_pos_embed': dict(decay_mult=0.0),
        'relative_position_bias_table': dict(decay_mult=0.0),
        'norm': dict(decay_mult=0.0),
        'an_bias': dict(decay_mult=0.0),
        'na_bias': dict(decay_mult=0.0),
        'ah_bias': dict(decay_mult=0.0),
        'aw_bias': dict(decay_mult=0.0),
        'ha_bias': dict(decay_mult=0.0),
        'wa_bias': dict(decay_mult=0.0)}))
