# Agent-PVT-M on ImageNet-1k, 224: LeapLabTHU/Agent-Attention cfgs/agent_pvt_m.yaml (drop path 0.3, clip grad 1.0),
# top-1 83.4 (agent_transformer/README.md).
# batch: 8 GPUs x 128 per GPU = 1024
_base_ = ['./_agent_pvt_base.py']
model = dict(name='agent_pvt_m', drop_path_rate=0.3)
optim = dict(clip_grad=1.0)
