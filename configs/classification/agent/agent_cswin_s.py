# Agent-CSwin-S on ImageNet-1k, 224: LeapLabTHU/Agent-Attention cfgs/agent_cswin_s.yaml
# (Agent_CSWin_64_36292_small_224, drop path 0.4, weight decay 0.05), EMA decay 0.99984 (README), top-1 83.9
# (agent_transformer/README.md).
# batch: 8 GPUs x 128 per GPU = 1024
_base_ = ['./_agent_cswin_base.py']
model = dict(name='agent_cswin_s', drop_path_rate=0.4)
data = dict(batch_size=128)
