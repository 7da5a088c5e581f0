# Swin Transformer (ICCV 2021) paper Table 3: UperNet 160k, ADE20K 512x512, Swin-S, ImageNet-1k pretrained:
# mIoU 47.6 single scale (49.5 multi-scale + flip).
# Checkpoint: the ImageNet-1k release (timm tag va_swin_small_patch4_window7_224.ms_in1k) the paper used at 512;
# timm's default tag for this variant is the ImageNet-22k fine-tuned one.
# 8 GPUs x 2 images (batch 16), AdamW lr 6e-5, weight decay 0.01 (none on norms and position tables),
# linear warm-up 1500 iterations then poly decay (power 1), drop path 0.3, auxiliary FCN head on stage 3.
_base_ = './upernet_va_swin_tiny_patch4_window7_224_160k_ade20k-512x512.py'
model = dict(backbone=dict(model_name='va_swin_small_patch4_window7_224.ms_in1k'))
