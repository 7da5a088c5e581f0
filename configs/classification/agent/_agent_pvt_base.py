# Agent-PVT base: LeapLabTHU/Agent-Attention cfgs/agent_pvt_*.yaml (PVT-style schedule inside the Swin codebase):
# 300 epochs + 10 cooldown, AdamW, lr 5e-4 x total batch / 512, weight decay 0.05, cosine with 5 warmup epochs,
# warmup_lr 1e-6 / min_lr 1e-5 x batch / 512 (absolute values for 1024 set here), RandAugment, mixup 0.8 /
# cutmix 1.0, label smoothing 0.1, random erasing 0.25; launch: main.py on 8 GPUs (README).
# Not reproduced: the official loop runs EPOCHS + COOLDOWN_EPOCHS = 310 epochs, the last 10 at min_lr; the engine
# stops after sched.epochs (300), i.e. at the end of the cosine.
_base_ = ['../_base_/imagenet_swin_recipe.py']
data = dict(batch_size=128)
optim = dict(lr=5e-4, lr_scale_batch=512, weight_decay=0.05, clip_grad=None)
sched = dict(epochs=300, warmup_epochs=5, warmup_lr=2e-6, min_lr=2e-5, cooldown_epochs=10)
