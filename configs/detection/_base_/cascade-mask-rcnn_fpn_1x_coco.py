# Cascade Mask R-CNN 1x on COCO with a VisionAttnBackbone: mmdet's R50-FPN Cascade Mask R-CNN (3 stages, IoU 0.5 /
# 0.6 / 0.7, a mask head per stage), COCO instance data, 1x schedule and runtime, the ResNet replaced by the
# adapter. Each config sets model_name, drop_path_rate, out_norm (and what else differs), the FPN's in_channels,
# the bbox heads where they are not mmdet's Shared2FC ones, and the optimizer. 2 images per GPU (8 GPUs = batch 16).
_base_ = [
    'mmdet::_base_/models/cascade-mask-rcnn_r50_fpn.py',
    'mmdet::_base_/datasets/coco_instance.py',
    'mmdet::_base_/schedules/schedule_1x.py',
    'mmdet::_base_/default_runtime.py',
]
custom_imports = dict(imports=['visionattn.mm'], allow_failed_imports=False)
model = dict(
    backbone=dict(
        _delete_=True, type='VisionAttnBackbone', out_indices=(0, 1, 2, 3), norm_eval=False, with_cp=False,
        # 'timm': the variant's own release, where its timm pretrained cfg (url / hub id) says
        init_cfg=dict(type='Pretrained', checkpoint='timm')))
train_dataloader = dict(batch_size=2)
auto_scale_lr = dict(enable=False, base_batch_size=16)
