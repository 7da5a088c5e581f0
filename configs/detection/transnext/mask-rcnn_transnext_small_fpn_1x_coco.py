# TransNeXt (CVPR 2024), COCO Mask R-CNN 1x, TransNeXt-Small: box AP 51.1, mask AP 45.5
# (the paper's COCO results, arXiv v3; the same numbers in the Model Zoo Table of the official
# detection/maskrcnn/README.md, config configs/mask_rcnn_transnext_small_fpn_1x_coco.py).
# 8 GPUs x 2 images (batch 16), 1333x800, AdamW lr 1e-4, weight decay 0.05 (none on query embeddings,
# local position biases, cpb MLPs, temperatures and norms), step decay at epochs 8 and 11, drop path
# 0.6 (the official transnext_small backbone class); no extra output norms (the per-stage norms are part
# of the model). Position biases: the official run trains in 'interpolation' mode (bias computed for an
# 800x800 map and resampled bilinearly, img_size=800); this backbone computes them for the actual map
# (the official is_extrapolation=True mode, pretrain_size 224), so it is not bit-identical in training.
_base_ = [
    'mmdet::_base_/models/mask-rcnn_r50_fpn.py',
    'mmdet::_base_/datasets/coco_instance.py',
    'mmdet::_base_/schedules/schedule_1x.py',
    'mmdet::_base_/default_runtime.py',
]
custom_imports = dict(imports=['visionattn.mm'], allow_failed_imports=False)
pretrained = 'https://huggingface.co/DaiShiResearch/transnext-small-224-1k/resolve/main/transnext_small_224_1k.pth?download=true'
model = dict(
    backbone=dict(
        _delete_=True, type='VisionAttnBackbone', model_name='transnext_small', out_indices=(0, 1, 2, 3),
        drop_path_rate=0.6, out_norm=None, norm_eval=False, with_cp=False,
        model_kwargs=dict(pretrain_size=224),
        init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    neck=dict(in_channels=[72, 144, 288, 576]))
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(_delete_=True, type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.05),
    paramwise_cfg=dict(custom_keys={
        'query_embedding': dict(decay_mult=0.0),
        'relative_pos_bias_local': dict(decay_mult=0.0),
        'cpb': dict(decay_mult=0.0),
        'temperature': dict(decay_mult=0.0),
        'norm': dict(decay_mult=0.0)}))
train_dataloader = dict(batch_size=2)
auto_scale_lr = dict(enable=False, base_batch_size=16)
