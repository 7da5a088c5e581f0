# The default job (`make demo`): a small Swin on the embedded digits (1,797 real 8x8 handwritten digits,
# fixed stratified 80/20 split), upscaled to 32x32, trained from scratch on one CPU.
_base_ = ['./_base_/default_runtime.py']
model = dict(name='va_swin_tiny_patch4_window7_224', drop_path_rate=0.05,
             kwargs=dict(img_size=32, embed_dim=48, depths=(2, 2, 2, 2), num_heads=(2, 4, 8, 16), window_size=4))
data = dict(type='digits', img_size=32, batch_size=64, val_batch_size=256, num_workers=0,
            mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5), label_smoothing=0.1)
optim = dict(opt='adamw', lr=2e-3, weight_decay=0.05, clip_grad=5.0)
sched = dict(sched='cosine', epochs=25, warmup_epochs=2, warmup_lr=1e-5, min_lr=1e-5)
train = dict(seed=0, deterministic=True, log_interval=5)
