# TransNeXt (CVPR 2024), COCO DINO 4-scale 12 epochs, TransNeXt-Tiny: box AP 55.1 (the DINO Model Zoo Table of
# the official detection/dino/README.md, config configs/dino-4scale_transnext_tiny-12e_coco.py, mmdet 3.0; the
# main README's COCO Table gives the same number).
# mmdet's DINO (the official run used mmdet 3.0.0's: the same modules, keys and test settings as 3.3): 900
# queries, box refinement, two-stage, 6 encoder / 6 decoder layers with multi-scale deformable attention over 4
# levels, ChannelMapper (1x1 convs + GN) on stages 2-4 plus a 3x3 stride-2 conv on the last one, denoising
# queries; test at 1333x800 keep ratio, no padding, batch 1, at most 300 detections.
# 8 GPUs x 1 image x 2 accumulated steps (batch 16), AdamW lr 1e-4, weight decay 0.05, gradient clip 0.1, lr x0.1
# at epoch 11, the stock DINO multi-scale / crop augmentation, fp32 (the official fp16 = dict(...) is an mmdet 2
# key that mmengine ignores). Backbone lr x0.1 through the official custom keys, weight decay 0 on its query
# embeddings, position biases, temperatures, biases and norms; as in the official keys, the stage-4 patch
# embedding and stage-4 norm keep lr x1 (norm and biases without decay, the conv weight with). Drop path 0.3.
# The backbone runs stage 1 (its weights are in the checkpoint) but outputs stages 2-4 (the official scales=4).
# Position biases: the official 'interpolation' mode with img_size=800 (pos_bias_mode='interpolate',
# pos_bias_size=800).
_base_ = 'mmdet::dino/dino-4scale_r50_8xb2-12e_coco.py'
custom_imports = dict(imports=['visionattn.mm'], allow_failed_imports=False)
num_levels = 4
model = dict(
    num_feature_levels=num_levels,
    backbone=dict(
        _delete_=True, type='VisionAttnBackbone', model_name='transnext_tiny', out_indices=(1, 2, 3),
        drop_path_rate=0.3, out_norm=None, norm_eval=False, with_cp=False,
        model_kwargs=dict(pretrain_size=224, pos_bias_mode='interpolate', pos_bias_size=800),
        # 'timm': the variant's ImageNet-1k release (transnext_tiny_224_1k.pth), as the official training
        init_cfg=dict(type='Pretrained', checkpoint='timm')),
    neck=dict(in_channels=[144, 288, 576], num_outs=num_levels),
    encoder=dict(layer_cfg=dict(self_attn_cfg=dict(num_levels=num_levels))),
    decoder=dict(layer_cfg=dict(cross_attn_cfg=dict(num_levels=num_levels))))

# the official custom keys, with the backbone's names (official -> here): backbone.norm{i} ->
# stages.{i-1}.norm, backbone.patch_embed1 -> patch_embed, backbone.patch_embed{i} -> stages.{i-1}.downsample,
# backbone.block{i}.{j} -> stages.{i-1}.blocks.{j}; stage-independent keys are the same
depths = (2, 2, 15, 2)
backbone_nodecay = dict(lr_mult=0.1, decay_mult=0.0)
backbone_decay = dict(lr_mult=0.1)
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
    'mlp.dwconv.dwconv.weight': backbone_decay, 'mlp.dwconv.dwconv.bias': backbone_nodecay}
# stages 1-3 only (the official range(len(depths) - 1))
patch_embeds = [net + 'patch_embed.'] + [f'{net}stages.{i}.downsample.' for i in (1, 2)]
custom_keys.update({f'{net}stages.{i}.norm': backbone_nodecay for i in range(3)})
custom_keys.update({p + 'norm': backbone_nodecay for p in patch_embeds})
custom_keys.update({p + 'proj.weight': backbone_decay for p in patch_embeds})
custom_keys.update({p + 'proj.bias': backbone_nodecay for p in patch_embeds})
# every block of every stage
custom_keys.update({f'{net}stages.{i}.blocks.{j}.norm': backbone_nodecay
                    for i, depth in enumerate(depths) for j in range(depth)})
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.05),
    clip_grad=dict(max_norm=0.1, norm_type=2),
    paramwise_cfg=dict(_delete_=True, custom_keys=custom_keys, bias_decay_mult=0.0, norm_decay_mult=0.0,
                       flat_decay_mult=0.0),
    accumulative_counts=2)
train_dataloader = dict(batch_size=1)
