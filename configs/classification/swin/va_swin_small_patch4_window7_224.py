# Swin-S on ImageNet-1k, 224, from scratch: microsoft/Swin-Transformer configs/swin/swin_small_patch4_window7_224.yaml
# (drop path 0.3) + get_started.md (8 GPUs, --batch-size 128), top-1 83.2 (MODELHUB.md, tag ms_in1k).
# batch: 8 GPUs x 128 per GPU = 1024
# This variant's default weights are the 22k -> 1k fine-tune (ms_in22k_ft_in1k, 83.2 at 224 from
# swin_small_patch4_window7_224_22kto1k_finetune.yaml: the _swin_22kto1k_base.py recipe, drop path 0.2); this
# config is the ImageNet-1k-only training recipe.
_base_ = ['./_swin_base.py']
model = dict(name='va_swin_small_patch4_window7_224', drop_path_rate=0.3)
data = dict(batch_size=128)
