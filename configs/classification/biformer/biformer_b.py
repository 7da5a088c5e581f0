# BiFormer-B on ImageNet-1k, 224: rayleizhu/BiFormer main.py defaults, top-1 84.3 (README).
# batch: 8 GPUs x 128 per GPU = 1024
# drop path 0.4: from the paper's implementation details (increasing stochastic depth per model size); the
# repository publishes no biformer_base command, so this one value is not confirmed by an official config.
_base_ = ['./_biformer_base.py']
model = dict(name='biformer_b', drop_path_rate=0.4)
