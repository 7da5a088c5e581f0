"""Necks of the official dense models that mmdet 3.3 does not have.

``EfficientViTFPN``: the neck of SHViT's official detectors (``downstream/efficientvit_fpn.py`` of
ysj9909/SHViT, from EfficientViT's detection code). SHViT's levels are at strides 16, 32 and 64; the neck runs an
FPN on them and makes finer levels from the top-down stride-16 lateral with 2 x 2 stride-2 transposed
convolutions (one: stride 8, two: strides 8 and 4), each followed by a 3 x 3 convolution. Module names follow the
official ones (``lateral_convs``, ``fpn_convs``, ``extra_trans_convs``, ``extra_fpn_convs``, each conv as ``.conv``),
so the released checkpoints load unchanged.
"""
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from torch import nn


class _TransposedConv(nn.Module):
    """A 2 x 2 stride-2 transposed convolution held as ``.conv`` (the official ``TransposedConvModule``'s key)."""

    def __init__(self, channels):
        super().__init__()
        self.conv = nn.ConvTranspose2d(channels, channels, kernel_size=2, stride=2)

    def forward(self, x):
        return self.conv(x)


class EfficientViTFPN(BaseModule):
    """FPN with finer levels from transposed convolutions (SHViT's official detection neck).

    Outputs, finest first: ``num_extra_trans_convs`` transposed-conv levels (the finest is made last), the FPN
    levels of ``in_channels`` from ``start_level``, then ``num_outs`` minus those as coarser levels: 3 x 3 stride-2
    convolutions when ``add_extra_convs`` ('on_input' / True: on the last input, 'on_lateral', 'on_output'),
    else max pooling. The official pairing of the finer levels is kept: ``extra_fpn_convs.0`` is applied to the
    finest map, while ``extra_trans_convs.0`` makes the coarsest transposed level.
    """

    def __init__(self, in_channels, out_channels, num_outs, num_extra_trans_convs=1, start_level=0,
                 add_extra_convs=False, relu_before_extra_convs=False, upsample_cfg=dict(mode="nearest"),
                 init_cfg=dict(type="Xavier", layer="Conv2d", distribution="uniform")):
        super().__init__(init_cfg=init_cfg)
        if add_extra_convs is True:
            add_extra_convs = "on_input"
        if add_extra_convs not in (False, "on_input", "on_lateral", "on_output"):
            raise ValueError(f"add_extra_convs must be False, True, 'on_input', 'on_lateral' or 'on_output', got "
                             f"{add_extra_convs!r}")
        self.in_channels, self.out_channels, self.num_outs = list(in_channels), out_channels, num_outs
        self.start_level, self.add_extra_convs = start_level, add_extra_convs
        self.relu_before_extra_convs, self.upsample_cfg = relu_before_extra_convs, dict(upsample_cfg)
        used = len(self.in_channels) - start_level
        extra_levels = num_outs - used - num_extra_trans_convs
        if extra_levels < 0:
            raise ValueError(f"num_outs {num_outs} is fewer than the {used} FPN levels plus {num_extra_trans_convs} "
                             "transposed-conv levels")
        self.lateral_convs = nn.ModuleList(
            [ConvModule(c, out_channels, 1, act_cfg=None) for c in self.in_channels[start_level:]])
        self.fpn_convs = nn.ModuleList([ConvModule(out_channels, out_channels, 3, padding=1, act_cfg=None)
                                        for _ in range(used)])
        if add_extra_convs:
            for i in range(extra_levels):
                c = self.in_channels[-1] if i == 0 and add_extra_convs == "on_input" else out_channels
                self.fpn_convs.append(ConvModule(c, out_channels, 3, stride=2, padding=1, act_cfg=None))
        self.extra_trans_convs = nn.ModuleList([_TransposedConv(out_channels) for _ in range(num_extra_trans_convs)])
        self.extra_fpn_convs = nn.ModuleList([ConvModule(out_channels, out_channels, 3, padding=1, act_cfg=None)
                                              for _ in range(num_extra_trans_convs)])

    def forward(self, inputs):
        inputs = inputs[self.start_level:]
        if len(inputs) != len(self.lateral_convs):
            raise ValueError(f"EfficientViTFPN expects {len(self.lateral_convs)} levels from start_level "
                             f"{self.start_level}, got {len(inputs)}")
        laterals = [conv(x) for conv, x in zip(self.lateral_convs, inputs)]
        for i in range(len(laterals) - 1, 0, -1):
            laterals[i - 1] = laterals[i - 1] + F.interpolate(laterals[i], size=laterals[i - 1].shape[2:],
                                                              **self.upsample_cfg)
        finer, x = [], laterals[0]
        for conv in self.extra_trans_convs:
            x = conv(x)
            finer.insert(0, x)
        outs = [self.fpn_convs[i](lateral) for i, lateral in enumerate(laterals)]
        while len(outs) + len(finer) < self.num_outs:
            if not self.add_extra_convs:
                outs.append(F.max_pool2d(outs[-1], 1, stride=2))
                continue
            if len(outs) == len(laterals):
                source = {"on_input": inputs[-1], "on_lateral": laterals[-1], "on_output": outs[-1]}[
                    self.add_extra_convs]
            else:
                source = F.relu(outs[-1]) if self.relu_before_extra_convs else outs[-1]
            outs.append(self.fpn_convs[len(outs)](source))
        return tuple([conv(f) for conv, f in zip(self.extra_fpn_convs, finer)] + outs)
