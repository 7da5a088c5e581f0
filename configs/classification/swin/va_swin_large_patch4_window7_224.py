# Swin-L, ImageNet-22k -> 1k fine-tune at 224: microsoft/Swin-Transformer
# configs/swin/swin_large_patch4_window7_224_22kto1k_finetune.yaml (30 epochs, lr 2e-5 x batch / 512, weight decay
# 1e-8, drop path 0.2), from swin_large_patch4_window7_224_22k (timm tag ms_in22k), top-1 86.3 (MODELHUB.md; the
# variant's default weights, ms_in22k_ft_in1k). Swin-L has no ImageNet-1k-only recipe or weights.
# batch: 8 GPUs x 64 per GPU x 2 accumulation steps = 1024
_base_ = ['./_swin_22kto1k_base.py']
model = dict(name='va_swin_large_patch4_window7_224')
data = dict(img_size=224, crop_pct=0.875)
