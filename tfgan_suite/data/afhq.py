"""AFHQ (Choi et al. 2020, StarGAN v2), the dataset of InfoSCC-GAN's AFHQ results, read from
the official folder layout: <data_dir>/train/<class>/*.jpg|png and <data_dir>/val/<class>/...
(the "test" split reads val/). Classes cat, dog, wild by default (one-hot labels, one per
class sub-folder; `classes` picks others, e.g. a clustering of your own). Images are resized
(bilinear, antialiased) to `resolution` and held in memory: 64 pixels by default (about 0.2 GB
for AFHQ's 14,630 training images); the paper trains at 256.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Optional

import numpy as np

from tfgan_suite.data import files, images
from tfgan_suite.data.base import ArraySource, DatasetInfo
from tfgan_suite.errors import UserError

CLASSES = ("cat", "dog", "wild")
SPLIT_FOLDERS = {"train": "train", "test": "val"}
EXTENSIONS = {".jpg": "jpeg", ".jpeg": "jpeg", ".png": "png"}
LAYOUT = "train/ and val/ folders with one sub-folder of images per class (cat, dog, wild)"


@dataclasses.dataclass(frozen=True)
class Options:
    """classes: the class sub-folders, in label order. resolution: square output size."""

    classes: tuple = CLASSES
    resolution: int = 64

    def __post_init__(self):
        classes = self.classes.split(",") if isinstance(self.classes, str) else self.classes
        classes = tuple(c.strip() for c in classes if c.strip())
        if len(classes) < 2:
            raise UserError(f"option classes={self.classes}: give at least two class folders")
        object.__setattr__(self, "classes", classes)
        if int(self.resolution) < 8:
            raise UserError(f"option resolution={self.resolution}: must be at least 8")
        object.__setattr__(self, "resolution", int(self.resolution))


def describe(name: str, options: Options) -> DatasetInfo:
    return DatasetInfo(name, (options.resolution, options.resolution, 3), options.classes,
                       "onehot", len(options.classes))


def list_images(split_dir: str, classes) -> tuple:
    """(paths, class ids), every image file of each class folder in sorted order."""
    paths, ids = [], []
    for k, name in enumerate(classes):
        folder = files.require_path(os.path.join(split_dir, name), "afhq",
                                    f"the {name} images", is_dir=True)
        found = sorted(f for f in os.listdir(folder)
                       if os.path.splitext(f)[1].lower() in EXTENSIONS)
        if not found:
            raise UserError(f"afhq: {folder} holds no .jpg or .png images")
        paths += [os.path.join(folder, f) for f in found]
        ids += [k] * len(found)
    return paths, np.asarray(ids, np.int32)


def load(name: str, data_dir: Optional[str], split: str, options: Options) -> ArraySource:
    files.require_data_dir(data_dir, name, LAYOUT)
    split_dir = files.require_path(os.path.join(data_dir, SPLIT_FOLDERS[split]), name,
                                   LAYOUT, is_dir=True)
    paths, ids = list_images(split_dir, options.classes)
    size = options.resolution
    out = np.empty((len(paths), size, size, 3), np.uint8)
    for fmt in ("jpeg", "png"):    # one decoder per format (decode_images takes one)
        chosen = [i for i, p in enumerate(paths) if EXTENSIONS[os.path.splitext(p)[1].lower()]
                  == fmt]
        if chosen:
            part = np.empty((len(chosen), size, size, 3), np.uint8)
            images.decode_images([paths[i] for i in chosen], part, fmt, size)
            out[chosen] = part
    labels = np.eye(len(options.classes), dtype=np.float32)[ids]
    return ArraySource(describe(name, options), out, labels, ids)
