"""MNIST (LeCun et al. 1998) and SLOGAN's MNIST-2 (0 vs 4, imbalance 7:3).

Source: http://yann.lecun.com/exdb/mnist/ (mirror: https://ossci-datasets.s3.amazonaws.com/mnist/).
data_dir holds EITHER the official IDX files, plain or gzipped:
    train-images-idx3-ubyte  train-labels-idx1-ubyte  t10k-images-idx3-ubyte  t10k-labels-idx1-ubyte
    (big-endian header: magic 0x00000803 / 0x00000801, then the dimensions; then uint8 data)
OR the classic deeplearning.net mnist.pkl.gz that the original cWGAN code reads: a gzipped
Python 2 pickle of (train, valid, test), each (float32 [N, 784] = pixel / 256, int64 [N]);
pixels are converted back to uint8 exactly.
Splits: "train" = the 60,000 training images (for the pickle, train + valid, as the cWGAN-GP
paper: "including the validation in train"), "test" = the 10,000 test images.
Labels are one-hot digits; class_ids the digit (or the position in `classes` for subsets).
"""

from __future__ import annotations

import gzip
import os
import pickle
from typing import Optional

import numpy as np

from tfgan_suite.data import files, subsets
from tfgan_suite.data.base import ArraySource, DatasetInfo
from tfgan_suite.errors import UserError

IDX_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
             "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
PICKLE_FILE = "mnist.pkl.gz"
LAYOUT = (f"the IDX files {', '.join(IDX_FILES['train'] + IDX_FILES['test'])} (plain or .gz) "
          f"or {PICKLE_FILE}")
CLASS_NAMES = tuple(str(d) for d in range(10))
IMAGE_MAGIC, LABEL_MAGIC = 0x803, 0x801


def read_idx(path: str, magic: int) -> np.ndarray:
    """A uint8 IDX file (images: magic 0x803, 3 dims; labels: 0x801, 1 dim) as an array."""
    data = files.read_bytes(path)
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(data) < header or int.from_bytes(data[:4], "big") != magic:
        raise UserError(f"{path}: not an IDX file of uint8 with {ndim} dimension(s) (expected "
                        f"magic number {magic:#010x}); download the official file again")
    shape = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    if len(data) - header != int(np.prod(shape)):
        raise UserError(f"{path}: header announces shape {shape} but the file holds "
                        f"{len(data) - header} bytes of data; it is truncated, download it again")
    return np.frombuffer(data, np.uint8, offset=header).reshape(shape)


def read_idx_pair(folder: str, split: str, dataset: str) -> Optional[tuple]:
    """(uint8 [N, 28, 28] images, labels) of an official IDX split, or None if no file is there."""
    image_name, label_name = IDX_FILES[split]
    image_path = files.find_plain_or_gz(folder, image_name)
    label_path = files.find_plain_or_gz(folder, label_name)
    if image_path is None and label_path is None:
        return None
    if image_path is None or label_path is None:
        missing = image_name if image_path is None else label_name
        raise UserError(f"{dataset}: {os.path.join(folder, missing)}(.gz) is missing; it comes "
                        "with the other official IDX files")
    images = read_idx(image_path, IMAGE_MAGIC)
    labels = read_idx(label_path, LABEL_MAGIC)
    if len(images) != len(labels) or images.shape[1:] != (28, 28):
        raise UserError(f"{dataset}: {image_path} holds {images.shape} images but {label_path} "
                        f"{len(labels)} labels; expected matching 28x28 images and labels")
    if labels.max(initial=0) > 9:
        raise UserError(f"{label_path}: labels must be 0..9, found {int(labels.max())}")
    return images, labels


def read_pickle(path: str, split: str) -> tuple:
    """(uint8 [N, 28, 28] images, labels) of mnist.pkl.gz; train = train + valid."""
    try:
        with gzip.open(path, "rb") as f:
            parts = pickle.load(f, encoding="latin1")  # a Python 2 pickle
        train, valid, test = parts
        chosen = [train, valid] if split == "train" else [test]
        x = np.concatenate([np.asarray(p[0], np.float32) for p in chosen])
        y = np.concatenate([np.asarray(p[1]) for p in chosen])
    except (OSError, EOFError, pickle.UnpicklingError, ValueError, TypeError, IndexError) as e:
        raise UserError(f"{path}: not the classic mnist.pkl.gz (a gzipped pickle of (train, "
                        f"valid, test) pairs of images and labels): {e}") from None
    pixels = x * 256.0
    if x.ndim != 2 or x.shape[1] != 784 or len(y) != len(x) or \
            not np.array_equal(pixels, np.round(pixels)) or pixels.max(initial=0) > 255:
        raise UserError(f"{path}: expected float32 [N, 784] images holding pixel/256 and one "
                        "label per image (the deeplearning.net mnist.pkl.gz)")
    return pixels.astype(np.uint8).reshape(-1, 28, 28), y.astype(np.int64)


def read_split(data_dir: Optional[str], split: str) -> tuple:
    files.require_data_dir(data_dir, "mnist", LAYOUT)
    pair = read_idx_pair(data_dir, split, "mnist")
    if pair is not None:
        return pair
    pickle_path = os.path.join(data_dir, PICKLE_FILE)
    if os.path.isfile(pickle_path):
        return read_pickle(pickle_path, split)
    raise UserError(f"mnist: data_dir {data_dir!r} holds neither {', '.join(IDX_FILES[split])} "
                    f"(plain or .gz) nor {PICKLE_FILE}; download MNIST there")


Options = subsets.ClassSubsetOptions


def describe(name: str, options: Options) -> DatasetInfo:
    names = subsets.group_names(options.classes, CLASS_NAMES)
    return DatasetInfo(name, (28, 28, 1), names, "onehot", len(names))


def load(name: str, data_dir: Optional[str], split: str, options: Options) -> ArraySource:
    images, labels = read_split(data_dir, split)
    return subsets.class_subset_source(describe(name, options), images[..., None], labels,
                                       options.classes, options.ratio, options.subset_seed)
