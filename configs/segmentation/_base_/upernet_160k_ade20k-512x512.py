# UperNet with a VisionAttnBackbone on Swin's 160k ADE20K recipe (./swin_upernet_160k.py): mmseg's R50 UperNet,
# the ResNet replaced by the adapter, 150 classes. Each config sets model_name, drop_path_rate, out_norm (and what
# else differs) and the heads' in_channels (the auxiliary FCN head takes the third level).
_base_ = [
    'mmseg::_base_/models/upernet_r50.py',
    './swin_upernet_160k.py',
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
    decode_head=dict(num_classes=150),
    auxiliary_head=dict(num_classes=150))
