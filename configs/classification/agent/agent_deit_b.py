# Agent-DeiT-B on ImageNet-1k, 224: LeapLabTHU/Agent-Attention cfgs/agent_deit_b.yaml (drop path 0.3), top-1 82.0
# (agent_transformer/README.md).
# batch: 8 GPUs x 128 per GPU = 1024
_base_ = ['./_agent_base.py']
model = dict(name='agent_deit_b', drop_path_rate=0.3)
data = dict(batch_size=128)
