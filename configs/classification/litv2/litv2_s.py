# LITv2-S on ImageNet-1k, 224: ziplab/LITv2 classification/configs/litv2-small.yaml (drop path 0.2), top-1 82.0.
# batch: 8 GPUs x 128 per GPU = 1024
_base_ = ['./_litv2_base.py']
model = dict(name='litv2_s', drop_path_rate=0.2)
