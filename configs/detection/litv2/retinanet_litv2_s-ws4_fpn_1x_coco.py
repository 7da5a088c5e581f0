# LITv2 (NeurIPS 2022), the official README's RetinaNet Table: RetinaNet 1x on COCO, LITv2-S with window size
# 4: box AP 43.7 (detection/configs/litv2/retinanet_litv2_s_fpn_1x_coco_ws_4.py).
# 8 GPUs x 2 images (batch 16), 1333x800, AdamW lr 1e-4, weight decay 1e-4 on every parameter (the official
# paramwise_cfg=dict({'norm': ...}) lacks custom_keys, so it exempts nothing), linear warm-up 500 iterations,
# step decay at epochs 8 and 11, drop path 0.2; HiLo alpha 0.9, local windows (0, 0, 4, 1) (stage-3 Hi-Fi
# windows 4x4); LayerNorm outputs on levels 1-3 and none on level 0, as the official detection backbone
# (norm1-norm3, no norm0). The FPN starts at level 1 (P3-P7, extra levels from convs on level 3's input), as
# the official one. Official runs used AMP (apex); this config is fp32. Initialised, as the official run, from
# the ImageNet-1k LITv2-S release (trained with window size 2; the tensors do not depend on the window size).
_base_ = './retinanet_litv2_s_fpn_1x_coco.py'
model = dict(backbone=dict(model_kwargs=dict(alpha=0.9, local_ws=(0, 0, 4, 1))))
