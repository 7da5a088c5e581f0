# TransNeXt (CVPR 2024), ADE20K UperNet 160k 512x512, TransNeXt-Base: mIoU 53.0 single scale
# (ms + flip 53.5 / 53.7, interpolated / extrapolated position bias) -- the paper's ADE20K results; the
# same numbers in the Model Zoo Table of the official segmentation/upernet/README.md, config
# configs/upernet_transnext_base_512x512_160k_ade20k_ss.py (mmseg 0.30).
# The recipe of ./upernet_transnext_tiny_160k_ade20k-512x512.py (AdamW lr 6e-5, weight decay 0.05 with the
# official exemptions, poly decay times a 1500-iteration warm-up over 160k iterations, batch 16, UperNet +
# auxiliary FCN head, sliding-window test, position biases in the official img_size=512 'interpolation' mode,
# single scale only) with drop path 0.7.
_base_ = './upernet_transnext_tiny_160k_ade20k-512x512.py'
model = dict(
    backbone=dict(model_name='transnext_base', drop_path_rate=0.7),
    decode_head=dict(in_channels=[96, 192, 384, 768]),
    auxiliary_head=dict(in_channels=384))
