# Swin's multi-scale 1x recipe (./swin_multiscale_1x.py) on Cascade Mask R-CNN (./cascade-mask-rcnn_fpn_1x_coco.py):
# AdamW lr 1e-4, weight decay 0.05 (each config names its parameter-wise exemptions), multi-scale training (short
# side 480-800, random crop), step decay at epochs 8 and 11.
_base_ = ['./cascade-mask-rcnn_fpn_1x_coco.py', './swin_multiscale_pipeline.py']
optim_wrapper = dict(
    optimizer=dict(_delete_=True, type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.05))
train_dataloader = dict(dataset=dict(pipeline={{_base_.swin_multiscale_train_pipeline}}))
