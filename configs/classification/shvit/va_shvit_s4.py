# SHViT-S4 on ImageNet-1k, 256: ysj9909/SHViT README training command (--model shvit_s4 --weight-decay 0.03
# --input-size 256), top-1 79.4 (README).
# batch: 8 GPUs x 256 per GPU = 2048
_base_ = ['./_shvit_base.py']
model = dict(name='va_shvit_s4', drop_path_rate=0.0)
data = dict(img_size=256)
optim = dict(weight_decay=0.03)
