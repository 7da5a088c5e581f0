# LITv2-B on ImageNet-1k, 224: ziplab/LITv2 classification/configs/litv2-base.yaml (drop path 0.5), top-1 83.6.
# batch: 8 GPUs x 128 per GPU = 1024
# (The 384 fine-tune, litv2-base-finetune-384.yaml -> tag litv2_b.in1k_384, 84.7: 30 epochs from these weights,
# lr 2e-5 x batch / 512, weight decay 1e-8, 5 warmup epochs, drop path 0.5, no val crop; not a separate config here
# since the registered variant's default is the 224 model.)
_base_ = ['./_litv2_base.py']
model = dict(name='litv2_b', drop_path_rate=0.5)
