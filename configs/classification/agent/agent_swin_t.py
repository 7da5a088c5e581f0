# Agent-Swin-T on ImageNet-1k, 224: LeapLabTHU/Agent-Attention cfgs/agent_swin_t.yaml (drop path 0.2), top-1 82.6
# (agent_transformer/README.md).
# batch: 8 GPUs x 128 per GPU = 1024
_base_ = ['./_agent_base.py']
model = dict(name='agent_swin_t', drop_path_rate=0.2)
data = dict(batch_size=128)
