"""Official detector / segmentor checkpoints into mmdet 3 / mmseg 1 models with a ``VisionAttnBackbone``.

The official dense checkpoints of these families were saved by mmdet 2.x / mmseg 0.x (TransNeXt's DINO and
Mask2Former by mmdet 3.0 / mmseg 1.0) with the official backbone classes: backbone keys as the family's
classification model plus per-level output norms, neck and head keys as those frameworks name them. For every
neck and head these releases use (FPN, RPN, the R-CNN, cascade, RetinaNet, DINO, UperNet, FCN, FPN and Mask2Former
heads, SHViT's EfficientViTFPN) the names are the same in mmdet 3.3 / mmseg 1.2, so only the backbone part is
converted: ``load_dense_state`` passes it through the backbone's ``to_adapter_layout`` (the family's
``checkpoint_filter_fn``) and loads, listing every key that does not fit.
"""
from visionattn.checkpoint import CheckpointError, unwrap_checkpoint


def to_model_layout(model, state):
    """``state`` (a full detector / segmentor state dict) with official backbone keys converted for ``model``."""
    from .backbone import VisionAttnBackbone, convert_official_keys
    state = dict(state)
    for name, module in model.named_modules():
        if isinstance(module, VisionAttnBackbone):
            convert_official_keys(module, state, f"{name}." if name else "")
    return state


def load_dense_state(model, checkpoint, strict=True, where="the checkpoint", logger=None):
    """Load a detector / segmentor checkpoint (mmengine's {'state_dict', 'meta', ...}, or a bare state dict; our
    layout or the official mmdet 2.x / mmseg 0.x one) into ``model``. ``strict``: every model tensor filled, every
    checkpoint tensor used, shapes equal, else ``CheckpointError`` listing the keys; otherwise what fits is loaded
    and the rest is logged as a warning (fine-tuning with another class count). Returns the report."""
    state = checkpoint.get("state_dict") if isinstance(checkpoint, dict) and \
        isinstance(checkpoint.get("state_dict"), dict) else checkpoint
    state = to_model_layout(model, unwrap_checkpoint(state))
    own = model.state_dict()
    mismatched = [f"{k} (file {tuple(v.shape)}, model {tuple(own[k].shape)})" for k, v in state.items()
                  if k in own and v.shape != own[k].shape]
    missing = sorted(k for k in own if k not in state)
    unexpected = sorted(k for k in state if k not in own)
    report = dict(missing=missing, unexpected=unexpected, mismatched=mismatched)
    problems = (f"{len(missing)} missing ({', '.join(missing[:10]) or '-'}), {len(unexpected)} unexpected "
                f"({', '.join(unexpected[:10]) or '-'}), {len(mismatched)} mismatched "
                f"({'; '.join(mismatched[:5]) or '-'})")
    model_name = type(model).__name__
    if strict and (missing or unexpected or mismatched):
        raise CheckpointError(f"{where} does not fit the {model_name}: {problems}; it may be another model's "
                              "checkpoint, or the config's model differs from the one that saved it")
    if (missing or unexpected or mismatched) and logger is not None:
        logger.warning(f"{where}: loaded what fits the {model_name}; {problems}")
    bad = {k.split(" ")[0] for k in mismatched}
    model.load_state_dict({k: v for k, v in state.items() if k in own and k not in bad}, strict=False)
    return report
