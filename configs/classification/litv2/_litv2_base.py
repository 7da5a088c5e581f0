# LITv2 base: ziplab/LITv2 classification/config.py defaults (the Swin codebase: 300 epochs, AdamW, lr 5e-4 x total
# batch / 512, weight decay 0.05, cosine with 20 warmup epochs, warmup_lr 5e-7 / min_lr 5e-6 x batch / 512, clip
# grad 5.0, RandAugment, mixup 0.8 / cutmix 1.0, label smoothing 0.1, random erasing 0.25) with the README's
# launch: "all models ... 300 epochs with a total batch size of 1024 on 8 V100 GPUs" (configs set 128 per GPU).
# Not reproduced: MODEL.OFFSET_LR_MULTI 0.01 (the HiLo deformable-conv offset layers train at 0.01 x lr; the
# engine has one learning rate for all parameters).
_base_ = ['../_base_/imagenet_swin_recipe.py']
data = dict(batch_size=128)
