# TransNeXt (CVPR 2024), ADE20K UperNet 160k 512x512, TransNeXt-Tiny: mIoU 51.1 single scale
# (ms + flip 51.5 / 51.7, interpolated / extrapolated position bias) -- the paper's ADE20K results; the
# same numbers in the Model Zoo Table of the official segmentation/upernet/README.md, config
# configs/upernet_transnext_tiny_512x512_160k_ade20k_ss.py (mmseg 0.30).
# 8 GPUs x 2 images (batch 16), AdamW lr 6e-5, weight decay 0.05 (none on query embeddings, local
# position biases, cpb MLPs, temperatures and norms), poly decay (power 1) from iteration 0 multiplied by a
# linear warm-up over the first 1500 iterations (mmcv 1.x's warm-up rule, as the official run), drop path 0.4,
# auxiliary FCN head on stage 3, sliding-window test (512 crops, stride 341).
# Position biases: the official _ss config's 'interpolation' mode with img_size=512 (pos_bias_mode='interpolate',
# pos_bias_size=512). On 512x512 training crops and test windows this is the same function as the bias computed
# for the actual map; it differs only on the windows of images whose short side ends below 512.
# Single scale only: the ms + flip numbers come from the official _ms (interpolation, img_size=800) and
# _ms_extrapolation configs with mmseg 0.30's --aug-test (whole-image inference at scales (2048r, 512r) for r in
# 0.5-1.75, flip, softmax averaged); mmseg 1.2's inherited tta_pipeline (Resize scale_factor=r) is not that
# protocol, and no multi-scale config is given here.
_base_ = '../_base_/upernet_160k_ade20k-512x512.py'
model = dict(
    backbone=dict(model_name='transnext_tiny', drop_path_rate=0.4, out_norm=None,
                  model_kwargs=dict(pretrain_size=224, pos_bias_mode='interpolate', pos_bias_size=512)),
    decode_head=dict(in_channels=[72, 144, 288, 576]),
    auxiliary_head=dict(in_channels=288),
    test_cfg=dict(mode='slide', crop_size=(512, 512), stride=(341, 341)))
optim_wrapper = dict(
    optimizer=dict(weight_decay=0.05),
    paramwise_cfg=dict(custom_keys={
        'query_embedding': dict(decay_mult=0.0),
        'relative_pos_bias_local': dict(decay_mult=0.0),
        'cpb': dict(decay_mult=0.0),
        'temperature': dict(decay_mult=0.0),
        'norm': dict(decay_mult=0.0)}))
# mmcv 1.x's schedule: lr(t) = 6e-5 (1 - t / 160000) (1e-6 + (1 - 1e-6) min(t / 1500, 1)): the linear warm-up
# scales the poly curve, which starts at iteration 0 (mmengine multiplies overlapping schedulers). mmengine's
# schedulers reach their end value one step before `end`, hence 1501 and 160001 (equal to 1e-10 at every step)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1501),
    dict(type='PolyLR', eta_min=0.0, power=1.0, begin=0, end=160001, by_epoch=False),
]
