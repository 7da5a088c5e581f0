# SHViT-S1 on ImageNet-1k, 224: ysj9909/SHViT README training command (--model shvit_s1 --weight-decay 0.025),
# top-1 72.8 (README).
# batch: 8 GPUs x 256 per GPU = 2048
_base_ = ['./_shvit_base.py']
model = dict(name='va_shvit_s1', drop_path_rate=0.0)
optim = dict(weight_decay=0.025)
