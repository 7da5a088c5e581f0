# Agent-Swin-B on ImageNet-1k, 224: LeapLabTHU/Agent-Attention cfgs/agent_swin_b.yaml (DATA.BATCH_SIZE 64 per GPU,
# drop path 0.5), top-1 84.0 (agent_transformer/README.md).
# batch: 8 GPUs x 64 per GPU = 512
# lr 5e-4 x 512 / 512 = 5e-4; warmup_lr / min_lr the codebase's unscaled 5e-7 / 5e-6.
_base_ = ['./_agent_base.py']
model = dict(name='agent_swin_b', drop_path_rate=0.5)
data = dict(batch_size=64)
sched = dict(warmup_lr=5e-7, min_lr=5e-6)
