# Agent-CSwin-T on ImageNet-1k, 224: LeapLabTHU/Agent-Attention cfgs/agent_cswin_t.yaml (Agent_CSWin_64_24181_tiny_224,
# drop path 0.2, weight decay 0.05), EMA decay 0.99984 (README), top-1 83.1 (agent_transformer/README.md).
# batch: 8 GPUs x 128 per GPU = 1024
_base_ = ['./_agent_cswin_base.py']
model = dict(name='agent_cswin_t', drop_path_rate=0.2)
data = dict(batch_size=128)
