"""The embedded default dataset: scikit-learn's digits, 1,797 real 8x8 handwritten digits (values 0-16).

Source: the UCI "Optical Recognition of Handwritten Digits" test set (E. Alpaydin, C. Kaynak, 1998;
CC BY 4.0), as scikit-learn ships it (``sklearn.datasets.load_digits``); stored here in ``digits.npz``
so no network or scikit-learn is needed. The train / val split is fixed and stratified (20% val).
"""
import os

import numpy as np
import torch
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
NUM_CLASSES = 10


def load_digits():
    """(images (1797, 8, 8) uint8 in 0..16, labels (1797,) uint8)."""
    with np.load(os.path.join(HERE, "digits.npz")) as f:
        return f["images"], f["labels"]


def stratified_split(labels, val_fraction=0.2, seed=0):
    """Fixed per-class split: (train indices, val indices), both sorted."""
    rng = np.random.default_rng(seed)
    train, val = [], []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        rng.shuffle(idx)
        n_val = int(round(len(idx) * val_fraction))
        val.extend(idx[:n_val].tolist())
        train.extend(idx[n_val:].tolist())
    return np.array(sorted(train)), np.array(sorted(val))


def digit_image(pixels):
    """An 8x8 array in 0..16 as an 8-bit RGB PIL image (white digit on black)."""
    arr = np.clip(pixels.astype(np.float32) * (255.0 / 16.0), 0, 255).astype(np.uint8)
    return Image.fromarray(arr, mode="L").convert("RGB")


class DigitsDataset(torch.utils.data.Dataset):
    """split: "train" or "val" (the fixed stratified split) or "all"."""

    def __init__(self, split="train", transform=None, val_fraction=0.2, seed=0):
        images, labels = load_digits()
        if split == "all":
            idx = np.arange(len(labels))
        elif split in ("train", "val"):
            idx = stratified_split(labels, val_fraction, seed)[0 if split == "train" else 1]
        else:
            raise ValueError(f"digits split must be 'train', 'val' or 'all', got {split!r}")
        self.images, self.labels, self.transform = images[idx], labels[idx].astype(np.int64), transform

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        img = digit_image(self.images[i])
        return (self.transform(img) if self.transform else img), int(self.labels[i])
