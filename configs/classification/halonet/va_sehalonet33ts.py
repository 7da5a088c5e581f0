# SE HaloNet-33ts (timm sehalonet33ts, weights sehalonet33ts.ra2_in1k: 81.0 top-1 at 256), trained at 256.
# Recipe: APPROXIMATION, RSB A1 (see _halonet_base.py). The weights' 'ra2' tag is timm's RandAugment recipe family
# (RMSProp-TF, EMA, exponential step decay with warmup); its per-model numbers are unpublished and the engine's
# scheduler takes no step-decay rate / interval, so the published A1 procedure stands in for it.
# batch: 4 GPUs x 512 per GPU = 2048
_base_ = ['./_halonet_base.py']
model = dict(name='va_sehalonet33ts')
data = dict(img_size=256, crop_pct=0.94)
