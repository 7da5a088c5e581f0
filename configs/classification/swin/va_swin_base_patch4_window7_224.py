# Swin-B on ImageNet-1k, 224, from scratch: microsoft/Swin-Transformer configs/swin/swin_base_patch4_window7_224.yaml
# (drop path 0.5) + get_started.md (8 GPUs, --batch-size 64 --accumulation-steps 2), top-1 83.5 (MODELHUB.md, tag
# ms_in1k).
# batch: 8 GPUs x 64 per GPU x 2 accumulation steps = 1024
# This variant's default weights are the 22k -> 1k fine-tune (ms_in22k_ft_in1k, 85.2 from
# swin_base_patch4_window7_224_22kto1k_finetune.yaml: the _swin_22kto1k_base.py recipe); this config is the
# ImageNet-1k-only training recipe.
_base_ = ['./_swin_base.py']
model = dict(name='va_swin_base_patch4_window7_224', drop_path_rate=0.5)
data = dict(batch_size=64)
train = dict(accum_steps=2)
