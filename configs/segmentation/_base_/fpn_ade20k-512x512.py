# Semantic FPN with a VisionAttnBackbone on ADE20K 512x512 (150 classes): mmseg's R50 FPN model, ADE20K data and
# runtime, the ResNet replaced by the adapter, 2 images per GPU. Each config adds its schedule
# ('mmseg::_base_/schedules/schedule_40k.py' / '..._80k.py'), optimizer and learning-rate policy, and sets
# model_name, drop_path_rate, out_norm (and what else differs) and the FPN's in_channels.
_base_ = [
    'mmseg::_base_/models/fpn_r50.py',
    'mmseg::_base_/datasets/ade20k.py',
    'mmseg::_base_/default_runtime.py',
]
custom_imports = dict(imports=['visionattn.mm'], allow_failed_imports=False)
crop_size = (512, 512)
model = dict(
    data_preprocessor=dict(size=crop_size),
    pretrained=None,
    backbone=dict(
        _delete_=True, type='VisionAttnBackbone', out_indices=(0, 1, 2, 3), norm_eval=False, with_cp=False,
        # 'timm': the variant's own release, where its timm pretrained cfg (url / hub id) says
        init_cfg=dict(type='Pretrained', checkpoint='timm')),
    decode_head=dict(num_classes=150))
train_dataloader = dict(batch_size=2)
val_dataloader = dict(batch_size=1)
test_dataloader = val_dataloader
