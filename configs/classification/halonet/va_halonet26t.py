# HaloNet-26t (timm halonet26t, weights halonet26t.a1h_in1k: 79.1 top-1 at 256, timm results-imagenet.csv), trained
# at 256. Recipe: APPROXIMATION, RSB A1 (see _halonet_base.py); the weights' 'a1h' recipe is A1 with stronger
# dropout / drop path / RandAugment whose exact values timm does not publish.
# batch: 4 GPUs x 512 per GPU = 2048
_base_ = ['./_halonet_base.py']
model = dict(name='va_halonet26t')
data = dict(img_size=256, crop_pct=0.95)
