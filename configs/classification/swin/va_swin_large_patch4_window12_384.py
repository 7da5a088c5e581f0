# Swin-L 384, ImageNet-22k -> 1k fine-tune: microsoft/Swin-Transformer
# configs/swin/swin_large_patch4_window12_384_22kto1k_finetune.yaml (IMG_SIZE 384, window 12, 30 epochs, lr 2e-5 x
# batch / 512, weight decay 1e-8, drop path 0.2, TEST.CROP False), from swin_large_patch4_window12_384_22k (timm
# tag ms_in22k), top-1 87.3 (MODELHUB.md; the variant's default weights, ms_in22k_ft_in1k).
# batch: 8 GPUs x 16 per GPU x 8 accumulation steps = 1024
# (total 1024 as in get_started.md's 22k fine-tune launch; the 16 x 8 split for Swin-L 384 memory is ours)
_base_ = ['./_swin_22kto1k_base.py']
model = dict(name='va_swin_large_patch4_window12_384')
data = dict(img_size=384, crop_pct=1.0, batch_size=16)
train = dict(accum_steps=8)
