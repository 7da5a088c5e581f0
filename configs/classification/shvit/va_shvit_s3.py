# SHViT-S3 on ImageNet-1k, 224: ysj9909/SHViT README training command (--model shvit_s3 --weight-decay 0.035),
# top-1 77.4 (README).
# batch: 8 GPUs x 256 per GPU = 2048
_base_ = ['./_shvit_base.py']
model = dict(name='va_shvit_s3', drop_path_rate=0.0)
optim = dict(weight_decay=0.035)
