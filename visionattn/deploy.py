"""Deploy-time rewrites that keep a model's outputs and make inference cheaper.

    from visionattn.deploy import fuse
    model = fuse(timm.create_model("va_shvit_s1", pretrained=True).eval())

``fuse`` folds every BatchNorm that directly follows a convolution into the convolution's weight and bias
(SHViT's, HaloNet's and BiFormer's convolutions, and any model built of the same pieces). It is opt-in: it changes
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
    norm: consecutive children of an nn.Sequential, and the conv / norm of the known conv-norm modules."""
    names = [n for n, _ in module.named_children()]
    if isinstance(module, nn.Sequential):
        return list(zip(names, names[1:]))
    if isinstance(module, ConvNormAct):   # timm's (HaloNet's ByobNet stages)
        return [("conv", "bn")]
    return []


def _without_norm(bn):
    """What is left of a norm once its affine transform lives in the convolution: timm's BatchNormAct2d keeps its
    dropout and activation."""
    if isinstance(bn, BatchNormAct2d):
        return nn.Sequential(bn.drop, bn.act)
    return nn.Identity()


@torch.no_grad()
def fuse(model: nn.Module) -> nn.Module:
    """Fold each BatchNorm2d that directly follows a Conv2d into it, in place; returns the model (in eval mode).
    ``model.fused_batchnorms`` counts the folded norms."""
    if model.training:
        raise ValueError("fuse() folds the BatchNorm running statistics into the convolutions: call model.eval() "
                         "first (a fused model is for inference)")
    count = 0
    for module in list(model.modules()):
        for conv_name, norm_name in _pairs(module):
            conv, bn = getattr(module, conv_name), getattr(module, norm_name)
            if not (type(conv) is nn.Conv2d and isinstance(bn, nn.BatchNorm2d) and bn.track_running_stats):
                continue
            setattr(module, conv_name, fuse_conv_bn_eval(conv, bn))
            setattr(module, norm_name, _without_norm(bn))
            count += 1
    model.fused_batchnorms = count
    return model
