# Agent-PVT-S on ImageNet-1k, 224: LeapLabTHU/Agent-Attention cfgs/agent_pvt_s.yaml (drop path 0.1, no clipping),
# top-1 82.2 (agent_transformer/README.md).
# batch: 8 GPUs x 128 per GPU = 1024
_base_ = ['./_agent_pvt_base.py']
model = dict(name='agent_pvt_s', drop_path_rate=0.1)
