# TransNeXt (CVPR 2024), ADE20K UperNet 160k 512x512, TransNeXt-Base: mIoU 53.0 single scale
# (ms + flip 53.5 / 53.7, interpolated / extrapolated position bias) -- the paper's ADE20K results; the
# same numbers in the Model Zoo Table of the official segmentation/upernet/README.md, config
# configs/upernet_transnext_base_512x512_160k_ade20k_ss.py.
# 8 GPUs x 2 images (batch 16), AdamW lr 6e-5, weight decay 0.05 (none on query embeddings, local
# position biases, cpb MLPs, temperatures and norms), linear warm-up 1500 iterations then poly decay
# (power 1), drop path 0.7, auxiliary FCN head on stage 3, sliding-window test (512 crops, stride 341).
# Position biases for the actual map (pretrain_size 224): on the 512x512 training crops and test windows
# this equals the official img_size=512 interpolation mode.
_base_ = [
    'mmseg::_base_/models/upernet_r50.py',
    'mmseg::_base_/datasets/ade20k.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_160k.py',
]
custom_imports = dict(imports=['visionattn.mm'], allow_failed_imports=False)
pretrained = 'https://huggingface.co/DaiShiResearch/transnext-base-224-1k/resolve/main/transnext_base_224_1k.pth?download=true'
crop_size = (512, 512)
model = dict(
    data_preprocessor=dict(size=crop_size),
    pretrained=None,
    backbone=dict(
        _delete_=True, type='VisionAttnBackbone', model_name='transnext_base', out_indices=(0, 1, 2, 3),
        drop_path_rate=0.7, out_norm=None, norm_eval=False, with_cp=False,
        model_kwargs=dict(pretrain_size=224),
        init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    decode_head=dict(in_channels=[96, 192, 384, 768], num_classes=150),
    auxiliary_head=dict(in_channels=384, num_classes=150),
    test_cfg=dict(mode='slide', crop_size=crop_size, stride=(341, 341)))
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=6e-5, betas=(0.9, 0.999), weight_decay=0.05),
    paramwise_cfg=dict(custom_keys={
        'query_embedding': dict(decay_mult=0.0),
        'relative_pos_bias_local': dict(decay_mult=0.0),
        'cpb': dict(decay_mult=0.0),
        'temperature': dict(decay_mult=0.0),
        'norm': dict(decay_mult=0.0)}))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500),
    dict(type='PolyLR', eta_min=0.0, power=1.0, begin=1500, end=160000, by_epoch=False),
]
train_dataloader = dict(batch_size=2)
val_dataloader = dict(batch_size=1)
test_dataloader = val_dataloader
