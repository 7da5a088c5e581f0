# SHViT-S2 on ImageNet-1k, 224: ysj9909/SHViT README training command (--model shvit_s2 --weight-decay 0.032),
# top-1 75.2 (README).
# batch: 8 GPUs x 256 per GPU = 2048
_base_ = ['./_shvit_base.py']
model = dict(name='va_shvit_s2', drop_path_rate=0.0)
optim = dict(weight_decay=0.032)
