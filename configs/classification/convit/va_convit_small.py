# ConViT-S on ImageNet-1k, 224: facebookresearch/convit main.py defaults (drop path 0.1, batch 64 per GPU) on
# run_with_submitit.py's default 2 nodes x 8 GPUs, top-1 81.3 (paper).
# batch: 16 GPUs x 64 per GPU = 1024
_base_ = ['./_convit_base.py']
model = dict(name='va_convit_small', drop_path_rate=0.1)
data = dict(batch_size=64)
