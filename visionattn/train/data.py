"""Datasets and loaders: ImageNet-layout folders through timm's dataset / transform factories, or the
embedded digits."""
import os

import torch
from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD, Mixup, create_dataset, create_transform
from torchvision import transforms as T

from visionattn.data.digits import NUM_CLASSES as DIGITS_CLASSES
from visionattn.data.digits import DigitsDataset

from .config import ConfigError


def num_classes(data):
    if data["type"] == "digits":
        return DIGITS_CLASSES
    return data["num_classes"] or 1000


def _mean_std(data, model_cfg):
    mean = data["mean"] or (model_cfg or {}).get("mean", IMAGENET_DEFAULT_MEAN)
    std = data["std"] or (model_cfg or {}).get("std", IMAGENET_DEFAULT_STD)
    return tuple(mean), tuple(std)


def _digits_transform(data, train, mean, std):
    size = data["img_size"]
    steps = [T.Resize((size, size), interpolation=T.InterpolationMode.BICUBIC)]
    if train:  # small shifts / rotations / scale changes; flips would turn digits into other shapes
        steps.append(T.RandomAffine(degrees=10, translate=(0.1, 0.1), scale=(0.9, 1.1)))
    steps += [T.ToTensor(), T.Normalize(mean, std)]
    return T.Compose(steps)


def _imagenet_split_dir(data, split):
    root = data["root"]
    if not root:
        raise ConfigError("data.root is required for data.type='imagenet' (a folder with one sub-folder per split, "
                          "each with one sub-folder per class)")
    path = os.path.join(root, split)
    if not os.path.isdir(path):
        raise FileNotFoundError(f"dataset split folder {path!r} does not exist: data.root={root!r} must hold "
                                f"'{data['train_split']}/' and '{data['val_split']}/' folders of class sub-folders "
                                "(ImageNet layout: root/train/n01440764/*.JPEG)")
    return path


def build_dataset(data, split, model_cfg=None):
    """split: "train" or "val"."""
    train = split == "train"
    mean, std = _mean_std(data, model_cfg)
    if data["type"] == "digits":
        return DigitsDataset(split, _digits_transform(data, train, mean, std), val_fraction=data["val_fraction"])
    folder = _imagenet_split_dir(data, data["train_split"] if train else data["val_split"])
    ds = create_dataset("", root=folder, split="", is_training=train)
    ds.transform = create_transform(
        data["img_size"], is_training=train, auto_augment=data["auto_augment"] if train else None,
        color_jitter=data["color_jitter"], re_prob=data["reprob"] if train else 0.0, hflip=data["hflip"],
        scale=tuple(data["scale"]), interpolation=data["interpolation"], crop_pct=data["crop_pct"], mean=mean, std=std)
    if len(ds) == 0:
        raise FileNotFoundError(f"no images found under {folder!r}")
    return ds


def build_loader(dataset, batch_size, train, num_workers, seed):
    g = torch.Generator()
    g.manual_seed(seed)
    return torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=train, drop_last=train,
                                       num_workers=num_workers, generator=g, persistent_workers=False,
                                       pin_memory=torch.cuda.is_available())


def build_mixup(data, classes):
    if data["mixup"] > 0 or data["cutmix"] > 0:
        return Mixup(mixup_alpha=data["mixup"], cutmix_alpha=data["cutmix"], prob=data["mixup_prob"],
                     switch_prob=data["mixup_switch_prob"], label_smoothing=data["label_smoothing"],
                     num_classes=classes)
    return None
