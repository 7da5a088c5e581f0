# LITv2 (NeurIPS 2022), the official README's Mask R-CNN Table: Mask R-CNN 1x on COCO, LITv2-M with window
# size 4: box AP 46.5, mask AP 42.0 (detection/configs/litv2/mask_rcnn_litv2_m_fpn_1x_coco_ws_4.py).
# 8 GPUs x 2 images (batch 16), 1333x800, AdamW lr 2e-4, weight decay 1e-4 (none on norms), linear warm-up 500
# iterations, step decay at epochs 8 and 11, drop path 0.2; HiLo alpha 0.9, local windows (0, 0, 4, 1)
# (stage-3 Hi-Fi windows 4x4); LayerNorm outputs on levels 1-3 and none on level 0, as the official detection
# backbone (norm1-norm3, no norm0). Official runs used AMP (apex); this config is fp32. Initialised, as the
# official run, from the ImageNet-1k LITv2-M release (trained with window size 2; the tensors do not depend on
# the window size).
_base_ = './mask-rcnn_litv2_m_fpn_1x_coco.py'
model = dict(backbone=dict(model_kwargs=dict(alpha=0.9, local_ws=(0, 0, 4, 1))))
