# TransNeXt (CVPR 2024), ADE20K UperNet 160k 512x512, TransNeXt-Small, the official checkpoint: mIoU 52.2 single
# scale (the Model Zoo Table of the official segmentation/upernet/README.md, also in the main README; val).
# The model of ../upernet_transnext_small_160k_ade20k-512x512.py (the official _ss one: TransNeXt-Small with the
# official img_size=512 'interpolation' position bias, its stage norms as outputs; mmseg's UPerHead and auxiliary
# FCNHead; sliding-window test, 512x512 crops, stride 341, images at 2048x512 keep ratio), its weights from the
# release, an mmseg 0.30 file converted on load (backbone keys through TransNeXt's filter; head keys are named as in
# mmseg 1.2).
# Single scale only: the Table's ms + flip numbers (52.5 interpolated with img_size 800 / 52.8 extrapolated position
# bias) come from mmseg 0.30's --aug-test protocol (whole images at (2048r, 512r), r = 0.5-1.75, flip, softmax
# averaged), which no config here runs.
#   python tools/test.py configs/segmentation/transnext/released/upernet_transnext_small_160k_ade20k-512x512.py pretrained
_base_ = '../upernet_transnext_small_160k_ade20k-512x512.py'
load_from = 'https://huggingface.co/DaiShiResearch/upernet-transnext-small-ade/resolve/main/upernet_transnext_small_512x512_160k_ade20k_in1k.pth?download=true'
model = dict(backbone=dict(init_cfg=None))   # every weight comes from the release
