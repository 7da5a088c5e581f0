# Agent-PVT-L on ImageNet-1k, 224: LeapLabTHU/Agent-Attention cfgs/agent_pvt_b.yaml (the README links Agent-PVT-L to
# that file: agent_pvt_large, DATA.BATCH_SIZE 64 per GPU, drop path 0.3, clip grad 1.0), top-1 83.7.
# batch: 8 GPUs x 64 per GPU = 512
# lr 5e-4 x 512 / 512 = 5e-4; warmup_lr / min_lr the yaml's unscaled 1e-6 / 1e-5.
_base_ = ['./_agent_pvt_base.py']
model = dict(name='agent_pvt_l', drop_path_rate=0.3)
data = dict(batch_size=64)
optim = dict(clip_grad=1.0)
sched = dict(warmup_lr=1e-6, min_lr=1e-5)
