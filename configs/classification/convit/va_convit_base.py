# ConViT-B on ImageNet-1k, 224: facebookresearch/convit README ("ConViT-base ... 2 nodes with 8 gpus each for 300
# epochs": run_with_submitit.py --model convit_base) with main.py defaults (drop path 0.1, batch 64 per GPU),
# top-1 82.4 (paper).
# batch: 16 GPUs x 64 per GPU = 1024
_base_ = ['./_convit_base.py']
model = dict(name='va_convit_base', drop_path_rate=0.1)
data = dict(batch_size=64)
