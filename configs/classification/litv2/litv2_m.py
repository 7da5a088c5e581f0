# LITv2-M on ImageNet-1k, 224: ziplab/LITv2 classification/configs/litv2-medium.yaml (drop path 0.3), top-1 83.3.
# batch: 8 GPUs x 128 per GPU = 1024
_base_ = ['./_litv2_base.py']
model = dict(name='litv2_m', drop_path_rate=0.3)
