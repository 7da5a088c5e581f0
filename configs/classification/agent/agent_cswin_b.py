# Agent-CSwin-B on ImageNet-1k, 224: LeapLabTHU/Agent-Attention cfgs/agent_cswin_b.yaml
# (Agent_CSWin_96_36292_base_224, DATA.BATCH_SIZE 64 per GPU, drop path 0.5, weight decay 0.1), EMA decay 0.99992
# (README), top-1 84.7 (agent_transformer/README.md).
# batch: 8 GPUs x 64 per GPU = 512
# lr 5e-4 x 512 / 512 = 5e-4; warmup_lr / min_lr the yaml's 1e-6 / 1e-5 x 512 / 512.
# The 384 release (tag agent_cswin_b.in1k_384, 85.8) is cfgs/agent_cswin_b_384.yaml, a fine-tune of this model's EMA
# weights at 384 (20 epochs + 10 cooldown, no warmup, lr 5e-6, warmup_lr 5e-6, min_lr 5e-7, all x batch / 512 at
# 8 x 32, weight decay 1e-8, drop path 0.7, EMA 0.9998): not shipped as a recipe here.
_base_ = ['./_agent_cswin_base.py']
model = dict(name='agent_cswin_b', drop_path_rate=0.5)
data = dict(batch_size=64)
optim = dict(weight_decay=0.1)
sched = dict(warmup_lr=1e-6, min_lr=1e-5)
train = dict(ema_decay=0.99992)
