# Agent-DeiT-S on ImageNet-1k, 224: LeapLabTHU/Agent-Attention cfgs/agent_deit_s.yaml (drop path 0.1), top-1 80.5
# (agent_transformer/README.md).
# batch: 8 GPUs x 128 per GPU = 1024
_base_ = ['./_agent_base.py']
model = dict(name='agent_deit_s', drop_path_rate=0.1)
data = dict(batch_size=128)
