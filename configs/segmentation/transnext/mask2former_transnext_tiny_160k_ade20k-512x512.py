# TransNeXt (CVPR 2024), ADE20K Mask2Former 160k 512x512, TransNeXt-Tiny: mIoU 53.4 single scale (the Model Zoo
# Table of the official segmentation/mask2former/README.md, config
# configs/mask2former_transnext_tiny_160k_ade20k-512x512.py, mmseg 1.0; the main README's ADE20K Table gives the
# same number).
# mmseg's Mask2Former (the official run used mmseg 1.0.0 with mmdet 3.0.0's pixel decoder and transformer: the
# same modules, keys and test settings as mmseg 1.2 / mmdet 3.3): MSDeformAttn pixel decoder (6 layers, 3 levels),
# 9 transformer decoder layers, 100 queries; whole-image test at 2048x512 keep ratio, padded to 32, no flip.
# 8 GPUs x 2 images (batch 16), AdamW lr 1e-4, weight decay 0.05, gradient clip 0.01, poly decay (power 0.9)
# over 160k iterations, the stock Mask2Former crop / flip / photometric augmentation. Backbone lr x0.1 through the
# official custom keys (weight decay 0 on its query embeddings, position biases, temperatures, biases and norms;
# as in the official keys, the stage-4 patch embedding and stage-4 norm keep lr x1), the head's query / level
# embeddings at lr x1 without decay. Drop path 0.3.
# Position biases: the official 'interpolation' mode with img_size=512 (pos_bias_mode='interpolate',
# pos_bias_size=512): the test images (e.g. 512x683, padded to 512x704) are not 512x512, so this differs from
# computing the bias for the actual map.
_base_ = 'mmseg::mask2former/mask2former_r50_8xb2-160k_ade20k-512x512.py'
custom_imports = dict(imports=['mmdet.models', 'visionattn.mm'], allow_failed_imports=False)
model = dict(
    backbone=dict(
        _delete_=True, type='VisionAttnBackbone', model_name='transnext_tiny', out_indices=(0, 1, 2, 3),
        drop_path_rate=0.3, out_norm=None, norm_eval=False, with_cp=False,
        model_kwargs=dict(pretrain_size=224, pos_bias_mode='interpolate', pos_bias_size=512),
        # 'timm': the variant's ImageNet-1k release (transnext_tiny_224_1k.pth), as the official training
        init_cfg=dict(type='Pretrained', checkpoint='timm')),
    decode_head=dict(in_channels=[72, 144, 288, 576]))

# the official custom keys, with the backbone's names (official -> here): backbone.norm{i} ->
# stages.{i-1}.norm, backbone.patch_embed1 -> patch_embed, backbone.patch_embed{i} -> stages.{i-1}.downsample,
# backbone.block{i}.{j} -> stages.{i-1}.blocks.{j}; stage-independent keys are the same
depths = (2, 2, 15, 2)
backbone_nodecay = dict(lr_mult=0.1, decay_mult=0.0)
backbone_decay = dict(lr_mult=0.1)
embed_mult = dict(lr_mult=1.0, decay_mult=0.0)
net = 'backbone.model.model.'
custom_keys = {
    'attn.query_embedding': backbone_nodecay, 'relative_pos_bias_local': backbone_nodecay,
    'cpb': backbone_nodecay, 'temperature': backbone_nodecay, 'attn.learnable': backbone_decay,
    'attn.q.weight': backbone_decay, 'attn.q.bias': backbone_nodecay,
    'attn.kv.weight': backbone_decay, 'attn.kv.bias': backbone_nodecay,
    'attn.qkv.weight': backbone_decay, 'attn.qkv.bias': backbone_nodecay,
    'attn.sr.weight': backbone_decay, 'attn.sr.bias': backbone_nodecay, 'attn.norm': backbone_nodecay,
    'attn.proj.weight': backbone_decay, 'attn.proj.bias': backbone_nodecay,
    'mlp.fc1.weight': backbone_decay, 'mlp.fc2.weight': backbone_decay,
    'mlp.fc1.bias': backbone_nodecay, 'mlp.fc2.bias': backbone_nodecay,
    'mlp.dwconv.dwconv.weight': backbone_decay, 'mlp.dwconv.dwconv.bias': backbone_nodecay,
    'decode_head.query_embed': embed_mult, 'decode_head.query_feat': embed_mult,
    'decode_head.level_embed': embed_mult}
# stages 1-3 only (the official range(len(depths) - 1))
patch_embeds = [net + 'patch_embed.'] + [f'{net}stages.{i}.downsample.' for i in (1, 2)]
custom_keys.update({f'{net}stages.{i}.norm': backbone_nodecay for i in range(3)})
custom_keys.update({p + 'norm': backbone_nodecay for p in patch_embeds})
custom_keys.update({p + 'proj.weight': backbone_decay for p in patch_embeds})
custom_keys.update({p + 'proj.bias': backbone_nodecay for p in patch_embeds})
# every block of every stage
custom_keys.update({f'{net}stages.{i}.blocks.{j}.norm': backbone_nodecay
                    for i, depth in enumerate(depths) for j in range(depth)})
# mmseg's r50 config has its own paramwise_cfg (backbone lr x0.1 for every backbone parameter); the official
# TransNeXt base config removed it
optim_wrapper = dict(
    paramwise_cfg=dict(_delete_=True, custom_keys=custom_keys, bias_decay_mult=0.0, norm_decay_mult=0.0,
                       flat_decay_mult=0.0))
