# Swin-B 384, ImageNet-22k -> 1k fine-tune: microsoft/Swin-Transformer
# configs/swin/swin_base_patch4_window12_384_22kto1k_finetune.yaml (IMG_SIZE 384, window 12, 30 epochs, lr 2e-5 x
# batch / 512, weight decay 1e-8, drop path 0.2, TEST.CROP False), from swin_base_patch4_window12_384_22k (timm tag
# ms_in22k), top-1 86.4 (MODELHUB.md; the variant's default weights, ms_in22k_ft_in1k).
# batch: 8 GPUs x 32 per GPU x 4 accumulation steps = 1024
# (total 1024 as in get_started.md's 22k fine-tune launch; the 32 x 4 split for 384 memory is ours)
# The ImageNet-1k-only route (swin_base_patch4_window12_384_finetune.yaml, 84.5, tag ms_in1k) fine-tunes the 1k
# Swin-B 224 weights with the same schedule but drop path 0.5.
_base_ = ['./_swin_22kto1k_base.py']
model = dict(name='va_swin_base_patch4_window12_384')
data = dict(img_size=384, crop_pct=1.0, batch_size=32)
train = dict(accum_steps=4)
