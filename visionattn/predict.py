"""Classify images with any registered model: its own preprocessing, ImageNet class names, top-k.

    from visionattn.predict import load_classifier, predict_files
    model, transform, names = load_classifier("biformer_s", pretrained=True)
    results = predict_files(model, transform, names, ["cat.jpg", "photos/"], topk=5)

``tools/predict.py`` is the command line. Images of any size go through the model's own evaluation transform
(timm's ``resolve_data_config`` + ``create_transform``: resize, center crop at the model's input size,
normalisation), so a 4000 x 3000 photo and a 50 x 80 crop are both handled.
"""
import os
from pathlib import Path

import torch

__all__ = ["ImageError", "load_classifier", "image_files", "read_images", "predict_files", "predict_images", "class_names"]


class ImageError(ValueError):
    """An input that is not a readable image (missing, a folder with no images, not an image, truncated)."""


def image_extensions():
    from timm.data.readers.img_extensions import get_img_extensions
    return tuple(sorted(get_img_extensions(as_set=True)))


def image_files(paths, recursive=False):
    """The image files named by ``paths`` (files, or folders: their images, sorted), in order."""
    exts = image_extensions()
    files = []
    for path in map(Path, paths):
        if path.is_dir():
            found = sorted(p for p in (path.rglob("*") if recursive else path.iterdir())
                           if p.is_file() and p.suffix.lower() in exts)
            if not found:
                raise ImageError(f"{path}: a folder with no images ({', '.join(exts)})"
                                 + ("" if recursive else "; --recursive looks into its subfolders"))
            files += found
        elif path.is_file():
            files.append(path)
        else:
            raise ImageError(f"{path}: no such file or folder")
    return files


def read_images(files):
    """Every file decoded to RGB; one ImageError naming each file that is not a readable image."""
    from PIL import Image, UnidentifiedImageError
    images, bad = [], []
    for path in files:
        try:
            with Image.open(path) as img:
                images.append(img.convert("RGB"))    # decodes the whole file: a truncated one fails here
        except (UnidentifiedImageError, OSError, ValueError) as e:
            reason = "not an image PIL can read" if isinstance(e, UnidentifiedImageError) else str(e)
            bad.append(f"{path}: {reason}")
    if bad:
        raise ImageError(f"{len(bad)} of {len(files)} inputs are not readable images:\n  " + "\n  ".join(bad))
    return images


def class_names(num_classes, names_file=None):
    """Names of the classes: one per line of ``names_file``, else timm's ImageNet names for 1000 / 11821 / 21841
    classes, else ``class {i}``."""
    if names_file:
        names = [line.strip() for line in Path(names_file).read_text().splitlines() if line.strip()]
        if len(names) != num_classes:
            raise ValueError(f"{names_file}: {len(names)} class names for a model with {num_classes} classes")
        return names
    from timm.data import ImageNetInfo
    subsets = {1000: "imagenet-1k", 11821: "imagenet-12k", 21841: "imagenet-22k"}
    if num_classes in subsets:
        info = ImageNetInfo(subsets[num_classes])
        return [info.index_to_description(i) for i in range(num_classes)]
    return [f"class {i}" for i in range(num_classes)]


def _checkpoint_classes(model, path):
    """The class count of the classifier in a checkpoint (in the model's layout after the family's conversion)."""
    from visionattn.checkpoint import read_checkpoint, unwrap_checkpoint
    from visionattn.models._base import checkpoint_filter_of
    state = unwrap_checkpoint(read_checkpoint(path))
    filter_fn = checkpoint_filter_of(model)
    if filter_fn is not None:
        state = filter_fn(state, model)
    heads = model.pretrained_cfg.get("classifier") or ()
    for head in (heads,) if isinstance(heads, str) else heads:
        weight = state.get(f"{head}.weight")
        if weight is not None:
            return weight.shape[0]
    return None


def load_classifier(model_name, pretrained=False, checkpoint=None, names_file=None, device="cpu"):
    """(model in eval mode, its evaluation transform, class names). ``checkpoint``: a weight file of any format
    the family reads, or a run's checkpoint folder (``model.safetensors`` inside); its class count is read from
    the file, and it must fill the model exactly."""
    import timm
    from timm.data import create_transform, resolve_data_config

    import visionattn  # noqa: F401  (registers the zoo)
    from visionattn.models import check_model_name, load_checkpoint
    check_model_name(model_name)
    if pretrained and checkpoint:
        raise ValueError("give either pretrained weights or a checkpoint, not both")
    model = timm.create_model(model_name, pretrained=pretrained)
    if checkpoint:
        path = os.path.join(checkpoint, "model.safetensors") if os.path.isdir(checkpoint) else checkpoint
        if not os.path.isfile(path):
            raise FileNotFoundError(f"no checkpoint at {path!r}")
        classes = _checkpoint_classes(model, path)
        if classes is not None and classes != model.num_classes:
            model = timm.create_model(model_name, num_classes=classes)
        load_checkpoint(model, path, strict=True, new_head=False)
    model = model.eval().to(device)
    transform = create_transform(**resolve_data_config(model=model), is_training=False)
    return model, transform, class_names(model.num_classes, names_file)


def predict_files(model, transform, names, paths, topk=5, batch_size=16, recursive=False):
    """Top-``topk`` (class index, name, probability) for every image of ``paths``: a list of dicts with ``file``,
    ``size`` (the image's own width x height) and ``top``."""
    files = image_files(paths, recursive)
    return predict_images(model, transform, names, files, read_images(files), topk, batch_size)


@torch.no_grad()
def predict_images(model, transform, names, files, images, topk=5, batch_size=16):
    """``predict_files`` on images already read (PIL, RGB), ``files`` naming them."""
    device = next(model.parameters()).device
    k = min(topk, len(names))
    results = []
    for start in range(0, len(images), batch_size):
        chunk = images[start:start + batch_size]
        batch = torch.stack([transform(img) for img in chunk]).to(device)
        probs = model(batch).float().softmax(dim=-1)
        top = probs.topk(k, dim=-1)
        for i, img in enumerate(chunk):
            results.append(dict(file=str(files[start + i]), size=list(img.size), top=[
                dict(index=int(c), name=names[int(c)], probability=float(p))
                for p, c in zip(top.values[i], top.indices[i])]))
    return results
