# Agent-Swin-S on ImageNet-1k, 224: LeapLabTHU/Agent-Attention cfgs/agent_swin_s.yaml (drop path 0.3), top-1 83.7
# (agent_transformer/README.md).
# batch: 8 GPUs x 128 per GPU = 1024
_base_ = ['./_agent_base.py']
model = dict(name='agent_swin_s', drop_path_rate=0.3)
data = dict(batch_size=128)
