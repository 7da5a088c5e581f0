# TransNeXt (CVPR 2024), ADE20K Mask2Former 160k 512x512, TransNeXt-Tiny, the official checkpoint: mIoU 53.4 (the
# Model Zoo Table of the official segmentation/mask2former/README.md, also in the main README; single scale, val).
# The model of ../mask2former_transnext_tiny_160k_ade20k-512x512.py (the official one: TransNeXt-Tiny with the
# official img_size=512 'interpolation' position bias, its stage norms as outputs; mmseg's Mask2FormerHead with
# mmdet's MSDeformAttn pixel decoder; whole-image test at 2048x512 keep ratio, padded to 32), its weights from the
# release, an mmseg 1.0 file converted on load (backbone keys through TransNeXt's filter; head keys are named as in
# mmseg 1.2 / mmdet 3.3).
#   python tools/test.py configs/segmentation/transnext/released/mask2former_transnext_tiny_160k_ade20k-512x512.py pretrained
_base_ = '../mask2former_transnext_tiny_160k_ade20k-512x512.py'
load_from = 'https://huggingface.co/DaiShiResearch/mask2former-transnext-tiny-ade/resolve/main/mask2former_transnext_tiny_512x512_160k_ade20k_in1k.pth?download=true'
model = dict(backbone=dict(init_cfg=None))   # every weight comes from the release
