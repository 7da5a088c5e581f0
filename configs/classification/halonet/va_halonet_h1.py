# HaloNet-H1 (timm halonet_h1, the HaloNet paper's H1 layout, 256): no trained weights exist (timm tag 'untrained').
# Recipe: APPROXIMATION, RSB A1 at 256 (see _halonet_base.py), the recipe family of timm's own halo weights; the
# HaloNet paper's TPU training procedure (Vaswani et al. 2021) is not reproduced.
# batch: 4 GPUs x 512 per GPU = 2048
_base_ = ['./_halonet_base.py']
model = dict(name='va_halonet_h1')
data = dict(img_size=256, crop_pct=0.95)
