# Halo RegNetZ-B (timm haloregnetz_b, weights haloregnetz_b.ra3_in1k: 81.1 top-1 at 224), trained at 224.
# Recipe: APPROXIMATION, RSB A1 (see _halonet_base.py). The weights' 'ra3' tag is timm's RegNet RandAugment
# recipe (hparams.mdx links a gist for it; RMSProp-TF, EMA, step decay); the engine's scheduler takes no
# step-decay rate / interval, so the published A1 procedure stands in for it.
# batch: 4 GPUs x 512 per GPU = 2048
_base_ = ['./_halonet_base.py']
model = dict(name='va_haloregnetz_b')
data = dict(img_size=224, crop_pct=0.94)
