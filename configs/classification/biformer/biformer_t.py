# BiFormer-T on ImageNet-1k, 224: rayleizhu/BiFormer (main.py defaults + README launch), top-1 81.4 (README).
# batch: 8 GPUs x 128 per GPU = 1024
# drop path 0.1: the value the maintainer confirmed for biformer_tiny (rayleizhu/BiFormer issue #32).
_base_ = ['./_biformer_base.py']
model = dict(name='biformer_t', drop_path_rate=0.1)
