# Agent Attention (LeapLabTHU/Agent-Attention, agent_transformer/) base for Agent-DeiT and Agent-Swin: its
# config.py defaults, which are the Swin codebase's (300 epochs, AdamW, lr 5e-4 x total batch / 512, weight decay
# 0.05, cosine with 20 warmup epochs, warmup_lr 5e-7 / min_lr 5e-6 x batch / 512, clip grad 5.0, RandAugment,
# mixup 0.8 / cutmix 1.0, label smoothing 0.1, random erasing 0.25); launch: main.py on 8 GPUs (README).
# No EMA (main.py; only the CSwin variants use main_ema.py).
_base_ = ['../_base_/imagenet_swin_recipe.py']
