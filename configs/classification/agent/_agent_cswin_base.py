# Agent-CSwin base: LeapLabTHU/Agent-Attention cfgs/agent_cswin_{t,s,b}.yaml on its config.py defaults (the Swin
# codebase's augmentation: RandAugment rand-m9-mstd0.5-inc1, mixup 0.8 / cutmix 1.0, label smoothing 0.1, random
# erasing 0.25): 300 epochs + 10 cooldown, AdamW, lr 5e-4 x total batch / 512, weight decay 0.05, cosine with 20
# warmup epochs, warmup_lr 1e-6 / min_lr 1e-5 x batch / 512 (absolute values for 1024 set here), no gradient
# clipping; launch: main_ema.py on 8 GPUs (README), which keeps a model EMA (--model-ema on by default; the README's
# decays: 0.99984 for T / S, 0.99992 for B). The README does not say whether its top-1 is the raw or the EMA model's.
# Not reproduced: the official loop runs EPOCHS + COOLDOWN_EPOCHS = 310 epochs, the last 10 at min_lr; the engine
# stops after sched.epochs (300), i.e. at the end of the cosine.
_base_ = ['../_base_/imagenet_swin_recipe.py']
data = dict(batch_size=128)
optim = dict(lr=5e-4, lr_scale_batch=512, weight_decay=0.05, clip_grad=None)
sched = dict(epochs=300, warmup_epochs=20, warmup_lr=2e-6, min_lr=2e-5, cooldown_epochs=10)
train = dict(ema_decay=0.99984)
