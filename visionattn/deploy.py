"""Deploy-time rewrites that keep a model's outputs and make inference cheaper.

    from visionattn.deploy import fuse
    model = fuse(timm.create_model("va_shvit_s1", pretrained=True).eval())

``fuse`` folds every BatchNorm that directly follows a convolution into the convolution's weight and bias
(SHViT's, HaloNet's and BiFormer's convolutions, LITv2's deformable ones, and any model built of the same pieces). It is opt-in: it changes
the module structure and the parameter names (a fused model no longer loads the released checkpoints, and it
cannot be trained as before, the BatchNorm statistics being gone), so fuse after loading weights, for inference.
"""
import torch
from timm.layers import BatchNormAct2d, ConvNormAct
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

__all__ = ["fuse"]


def _pairs(module):
    """(conv name, norm name) of the children of ``module`` whose forward feeds the convolution straight into the
    norm: consecutive children of an nn.Sequential, the conv / norm of timm's ConvNormAct (HaloNet's ByobNet
    stages), and what a module declares in ``conv_norm_pairs`` (LITv2's DTM: deformable conv -> BatchNorm)."""
    names = [n for n, _ in module.named_children()]
    if isinstance(module, nn.Sequential):
        return list(zip(names, names[1:]))
    if isinstance(module, ConvNormAct):
        return [("conv", "bn")]
    return list(getattr(module, "conv_norm_pairs", ()))


def _fold(conv, bn):
    """``conv`` with ``bn`` folded in. A declared convolution of another kind (a deformable one) is linear in its
    weight and bias per output channel like nn.Conv2d, so the same fold applies to it in place."""
    if type(conv) is nn.Conv2d:
        return fuse_conv_bn_eval(conv, bn)
    scale = torch.rsqrt(bn.running_var + bn.eps)
    scale = scale * bn.weight if bn.affine else scale
    conv.weight.mul_(scale.reshape(-1, *[1] * (conv.weight.dim() - 1)))
    conv.bias.copy_((conv.bias - bn.running_mean) * scale + (bn.bias if bn.affine else 0))
    return conv


def _foldable(module, conv_name, conv):
    """nn.Conv2d, or a convolution its module declares (with a bias per output channel to fold into)."""
    if type(conv) is nn.Conv2d:
        return True
    return conv_name in dict(getattr(module, "conv_norm_pairs", ())) and getattr(conv, "bias", None) is not None


def _without_norm(bn):
    """What is left of a norm once its affine transform lives in the convolution: timm's BatchNormAct2d keeps its
    dropout and activation."""
    if isinstance(bn, BatchNormAct2d):
        return nn.Sequential(bn.drop, bn.act)
    return nn.Identity()


@torch.no_grad()
def fuse(model: nn.Module) -> nn.Module:
    """Fold each BatchNorm2d that directly follows a convolution into it, in place; returns the model (in eval mode).
    ``model.fused_batchnorms`` counts the folded norms."""
    if model.training:
        raise ValueError("fuse() folds the BatchNorm running statistics into the convolutions: call model.eval() "
                         "first (a fused model is for inference)")
    count = 0
    for module in list(model.modules()):
        for conv_name, norm_name in _pairs(module):
            conv, bn = getattr(module, conv_name), getattr(module, norm_name)
            if not (_foldable(module, conv_name, conv) and isinstance(bn, nn.BatchNorm2d) and bn.track_running_stats):
                continue
            setattr(module, conv_name, _fold(conv, bn))
            setattr(module, norm_name, _without_norm(bn))
            count += 1
    model.fused_batchnorms = count
    return model
