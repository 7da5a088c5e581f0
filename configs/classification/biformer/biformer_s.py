# BiFormer-S on ImageNet-1k, 224: rayleizhu/BiFormer README training command (model=biformer_small drop_path=0.15
# lr=5e-4 batch_size=128, 8 GPUs), top-1 83.8 (README).
# batch: 8 GPUs x 128 per GPU = 1024
_base_ = ['./_biformer_base.py']
model = dict(name='biformer_s', drop_path_rate=0.15)
