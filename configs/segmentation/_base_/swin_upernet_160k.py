# Swin's UperNet 160k recipe on ADE20K 512x512 (Swin paper Table 3 setting), without the model: mmseg's ADE20K
# data, runtime and 160k schedule, 8 GPUs x 2 images (batch 16), AdamW lr 6e-5, weight decay 0.01 (each config
# names its parameter-wise exemptions), linear warm-up 1500 iterations then poly decay (power 1).
_base_ = [
    'mmseg::_base_/datasets/ade20k.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_160k.py',
]
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=6e-5, betas=(0.9, 0.999), weight_decay=0.01))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500),
    dict(type='PolyLR', eta_min=0.0, power=1.0, begin=1500, end=160000, by_epoch=False),
]
train_dataloader = dict(batch_size=2)
val_dataloader = dict(batch_size=1)
test_dataloader = val_dataloader
