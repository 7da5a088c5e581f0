"""Digit scenes: a small dense-prediction dataset generated from the embedded real digits, so detection and
segmentation runs work on a fresh machine without downloads.

Each scene is a dark canvas with 1-4 handwritten digits (the 8x8 digits upscaled to 16-48 px) pasted at
random places without overlap. Written as

- detection / instance segmentation, COCO format: ``<out>/<split>.json`` (boxes ``[x, y, w, h]``, instance
  masks as uncompressed RLE, category ids 1-10 for the digits 0-9) and ``<out>/images/<split>/*.png``;
- semantic segmentation, ADE20K-style folders: ``<out>/images/<split>/*.png`` and
  ``<out>/annotations/<split>/*.png`` (0 = background, 1 + d for digit d).

Scenes of the digits' train split go to ``train``, of their val split to ``val``: no digit image is in both.
"""
import json
import os

import numpy as np
from PIL import Image

from .digits import load_digits, stratified_split

CLASSES = tuple(str(d) for d in range(10))


def rle_encode(mask):
    """COCO's uncompressed RLE of a binary (H, W) mask: run lengths in column-major order, zeros first."""
    flat = mask.T.reshape(-1).astype(np.uint8)
    changes = np.flatnonzero(np.diff(np.concatenate([[0], flat, [1 - flat[-1]]])))
    counts = np.diff(np.concatenate([[0], changes])).tolist()
    return {"size": [int(mask.shape[0]), int(mask.shape[1])], "counts": counts}


def _scene(rng, images, labels, pool, size):
    canvas = np.zeros((size, size), dtype=np.float32)
    semantic = np.zeros((size, size), dtype=np.uint8)
    objects, boxes = [], []
    for _ in range(int(rng.integers(1, 5))):
        for _attempt in range(20):
            side = int(rng.integers(16, 49))
            x, y = int(rng.integers(0, size - side + 1)), int(rng.integers(0, size - side + 1))
            if all(x + side <= bx or bx + bs <= x or y + side <= by or by + bs <= y for bx, by, bs in boxes):
                break
        else:
            continue
        i = int(rng.choice(pool))
        digit = Image.fromarray((images[i] * (255.0 / 16.0)).astype(np.uint8)).resize((side, side), Image.BICUBIC)
        patch = np.asarray(digit, dtype=np.float32) / 255.0
        mask = patch > 0.35
        if not mask.any():
            continue
        canvas[y:y + side, x:x + side] = np.maximum(canvas[y:y + side, x:x + side], patch)
        full = np.zeros((size, size), dtype=bool)
        full[y:y + side, x:x + side] = mask
        semantic[full] = int(labels[i]) + 1
        ys, xs = np.nonzero(full)
        objects.append((int(labels[i]), full, [int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1),
                                               int(ys.max() - ys.min() + 1)]))
        boxes.append((x, y, side))
    noise = rng.normal(0.0, 0.03, canvas.shape).astype(np.float32)
    rgb = np.clip((canvas + noise) * 255.0, 0, 255).astype(np.uint8)
    return np.stack([rgb] * 3, axis=-1), semantic, objects


def generate(out, num_train=200, num_val=50, size=128, seed=0):
    """Write the dataset under `out` (atomically per file); returns its summary."""
    images, labels = load_digits()
    train_idx, val_idx = stratified_split(labels)
    rng = np.random.default_rng(seed)
    summary = {}
    for split, count, pool in (("train", num_train, train_idx), ("val", num_val, val_idx)):
        img_dir, ann_dir = os.path.join(out, "images", split), os.path.join(out, "annotations", split)
        os.makedirs(img_dir, exist_ok=True)
        os.makedirs(ann_dir, exist_ok=True)
        coco = {"images": [], "annotations": [], "categories": [{"id": d + 1, "name": c} for d, c in enumerate(CLASSES)]}
        for n in range(count):
            rgb, semantic, objects = _scene(rng, images, labels, pool, size)
            name = f"{split}_{n:05d}.png"
            _save_png(rgb, os.path.join(img_dir, name))
            _save_png(semantic, os.path.join(ann_dir, name))
            coco["images"].append({"id": n + 1, "file_name": name, "height": size, "width": size})
            for label, mask, bbox in objects:
                coco["annotations"].append({"id": len(coco["annotations"]) + 1, "image_id": n + 1,
                                            "category_id": label + 1, "bbox": bbox, "area": int(mask.sum()),
                                            "segmentation": rle_encode(mask), "iscrowd": 0})
        path = os.path.join(out, f"{split}.json")
        with open(path + ".tmp", "w") as f:
            json.dump(coco, f)
        os.replace(path + ".tmp", path)
        summary[split] = dict(images=count, instances=len(coco["annotations"]))
    return summary


def _save_png(array, path):
    tmp = path + ".tmp.png"
    Image.fromarray(array).save(tmp)
    os.replace(tmp, path)


SPLITS = ("train", "val")


def _dataset_files(out):
    """The files of ``out`` that a dataset written by ``generate`` would own: ``<split>.json``, the markers and the
    ``<split>_NNNNN.png`` images and label maps."""
    names = [os.path.join(out, n) for n in ("COMPLETE", "INCOMPLETE", *(f"{s}.json" for s in SPLITS))]
    for split in SPLITS:
        for sub in ("images", "annotations"):
            folder = os.path.join(out, sub, split)
            if os.path.isdir(folder):
                names += [os.path.join(folder, f) for f in os.listdir(folder)
                          if f.startswith(split + "_") and f.endswith(".png") and f[len(split) + 1:-4].isdigit()]
    return [n for n in names if os.path.isfile(n)]


def remove(out):
    """Delete a dataset written by ``generate`` from ``out``: only its own files (see ``_dataset_files``), then its
    folders if that left them empty. Anything else in ``out`` stays."""
    for name in _dataset_files(out):
        os.remove(name)
    for split in SPLITS:
        for sub in ("images", "annotations"):
            for folder in (os.path.join(out, sub, split), os.path.join(out, sub)):
                if os.path.isdir(folder) and not os.listdir(folder):
                    os.rmdir(folder)


def ensure(out, **kwargs):
    """Generate the dataset once (a marker file says it is complete)."""
    marker, started = os.path.join(out, "COMPLETE"), os.path.join(out, "INCOMPLETE")
    if not os.path.isfile(marker):
        found = _dataset_files(out)
        if os.path.isfile(started):
            remove(out)   # what a killed generation left (only the dataset's own files)
        elif found:   # files of the same names that this tool did not write: never delete them
            raise FileExistsError(f"{out} holds files a digit-scenes dataset would write ({len(found)}, e.g. "
                                  f"{found[0]}) but no dataset of this tool (no COMPLETE / INCOMPLETE marker): "
                                  "they are left as they are; choose another --out, or move them away")
        os.makedirs(out, exist_ok=True)
        open(started, "w").close()
        summary = dict(generate(out, **kwargs), settings=kwargs)
        with open(marker + ".tmp", "w") as f:
            json.dump(summary, f)
        os.replace(marker + ".tmp", marker)
        os.remove(started)
    return out
