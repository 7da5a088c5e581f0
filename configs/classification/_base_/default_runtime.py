# Shared by every classification config: the engine's run settings (visionattn/train/config.py lists all keys).
task = 'classification'
train = dict(seed=0, deterministic=False, mixed_precision='no', accum_steps=1, ema_decay=None, channels_last=False,
             log_interval=50, checkpoint_every=1, keep_checkpoints=2, eval_every=1)
