# Agent-DeiT-T on ImageNet-1k, 224: LeapLabTHU/Agent-Attention cfgs/agent_deit_t.yaml (DATA.BATCH_SIZE 512 per GPU,
# drop path 0.0), top-1 74.9 (agent_transformer/README.md).
# batch: 8 GPUs x 512 per GPU = 4096
# lr 5e-4 x 4096 / 512 = 4e-3; warmup_lr / min_lr are the codebase's 5e-7 / 5e-6 scaled the same way (x8).
_base_ = ['./_agent_base.py']
model = dict(name='agent_deit_t', drop_path_rate=0.0)
data = dict(batch_size=512)
sched = dict(warmup_lr=4e-6, min_lr=4e-5)
