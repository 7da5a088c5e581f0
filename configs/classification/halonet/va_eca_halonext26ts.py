# ECA HaloNeXt-26ts (timm eca_halonext26ts, weights eca_halonext26ts.c1_in1k: 79.5 top-1 at 256), trained at 256.
# Recipe: APPROXIMATION, RSB A1 (see _halonet_base.py). The weights' 'c1' tag is timm's RSB-'C'-based recipe
# (SGD Nesterov with adaptive gradient clipping, cosine with warmup) whose numbers are unpublished; AGC is not in
# the engine either, so the published A1 procedure stands in for it.
# batch: 4 GPUs x 512 per GPU = 2048
_base_ = ['./_halonet_base.py']
model = dict(name='va_eca_halonext26ts')
data = dict(img_size=256, crop_pct=0.94)
