# ConViT-Ti on ImageNet-1k, 224: facebookresearch/convit README ("ConViT-Ti ... single node with 4 gpus for 300
# epochs": --model convit_tiny --batch-size 256) with main.py defaults (drop path 0.1), top-1 73.1 (paper; 73.116
# README eval of the release).
# batch: 4 GPUs x 256 per GPU = 1024
_base_ = ['./_convit_base.py']
model = dict(name='va_convit_tiny', drop_path_rate=0.1)
data = dict(batch_size=256)
