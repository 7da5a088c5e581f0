# TransNeXt (CVPR 2024), COCO DINO 5-scale 12 epochs, TransNeXt-Small, the official checkpoint: box AP 56.6 (the
# DINO Model Zoo Table of the official detection/dino/README.md, also in the main README; single scale, val2017).
# The model of ../dino-5scale_transnext_small-12e_coco.py (the official one: TransNeXt-Small with the official
# img_size=800 'interpolation' position bias, all four stages plus one conv level (5 levels); mmdet's DINO with its
# ChannelMapper, 900 queries, at most 300 detections; test at 1333x800 keep ratio, no padding, fp32), its weights
# from the release, an mmdet 3.0 file converted on load (backbone keys through TransNeXt's filter; neck, transformer
# and head keys are named as in mmdet 3.3).
#   python tools/test.py configs/detection/transnext/released/dino-5scale_transnext_small-12e_coco.py pretrained
_base_ = '../dino-5scale_transnext_small-12e_coco.py'
load_from = 'https://huggingface.co/DaiShiResearch/dino-5scale-transnext-small-coco/resolve/main/dino_5scale_transnext_small_12e_in1k.pth?download=true'
model = dict(backbone=dict(init_cfg=None))   # every weight comes from the release
