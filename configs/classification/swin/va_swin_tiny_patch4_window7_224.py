# Swin-T on ImageNet-1k, 224, from scratch: microsoft/Swin-Transformer configs/swin/swin_tiny_patch4_window7_224.yaml
# (drop path 0.2) + get_started.md (8 GPUs, --batch-size 128), top-1 81.2 (MODELHUB.md, tag ms_in1k = this
# variant's default weights).
# batch: 8 GPUs x 128 per GPU = 1024
_base_ = ['./_swin_base.py']
model = dict(name='va_swin_tiny_patch4_window7_224', drop_path_rate=0.2)
data = dict(batch_size=128)
