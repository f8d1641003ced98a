"""CIFAR-10 (Krizhevsky 2009) and SLOGAN's CIFAR-2 (frogs vs planes, 7:3).

Source: https://www.cs.toronto.edu/~kriz/cifar.html, "CIFAR-10 python version"
(cifar-10-python.tar.gz). data_dir is the extracted cifar-10-batches-py/ folder or its parent:
    data_batch_1 ... data_batch_5, test_batch: pickles of dicts with b"data" (uint8 [10000, 3072],
    each row the 32x32 red plane, then green, then blue, row-major) and b"labels" (list of 0..9)
Splits: "train" = the five data batches (50,000), "test" = test_batch (10,000).

CIFAR-2 (SLOGAN Sec. 4.1, Table 8): classes (frog, airplane) = (6, 0), so class id 0 is the
frog as the paper's pi_{y=0}, and ratio (7, 3): every frog is kept and int(n * 3 / 7) planes.
Unlike the original code, which pooled the official train and test images, subsampled and
took the last 2,000 of a random shuffle as its test set, each split here is made from the
official split of the same name with the same ratio and seed: train 5,000 frogs + 2,142
planes, test 1,000 frogs + 428 planes, never overlapping.
"""

from __future__ import annotations

import os
import pickle
from typing import Optional

import numpy as np

from tfgan_suite.data import files, subsets
from tfgan_suite.data.base import ArraySource, DatasetInfo
from tfgan_suite.errors import UserError

CLASS_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
               "truck")
BATCH_FOLDER = "cifar-10-batches-py"
SPLIT_FILES = {"train": tuple(f"data_batch_{i}" for i in range(1, 6)), "test": ("test_batch",)}
LAYOUT = (f"{BATCH_FOLDER}/ (data_batch_1..5 and test_batch, the CIFAR-10 python version) "
          "or be that folder")

Options = subsets.ClassSubsetOptions


def describe(name: str, options: Options) -> DatasetInfo:
    names = subsets.group_names(options.classes, CLASS_NAMES)
    return DatasetInfo(name, (32, 32, 3), names, "onehot", len(names))


def read_batch(path: str) -> tuple:
    """(uint8 [N, 32, 32, 3] images, int labels) of one official pickle batch."""
    try:
        with open(path, "rb") as f:
            batch = pickle.load(f, encoding="bytes")
        data = np.asarray(batch[b"data"], dtype=np.uint8)
        labels = np.asarray(batch[b"labels"], dtype=np.int64)
    except (OSError, EOFError, pickle.UnpicklingError, KeyError, TypeError, ValueError) as e:
        raise UserError(f"{path}: not a CIFAR-10 python batch (a pickled dict with b'data' and "
                        f"b'labels'): {e!r}; download cifar-10-python.tar.gz again") from None
    if data.ndim != 2 or data.shape[1] != 3072 or len(labels) != len(data):
        raise UserError(f"{path}: expected b'data' of shape [N, 3072] and N labels, got "
                        f"{data.shape} and {len(labels)}")
    # Each row is 3 planes of 32x32 (CHW); the models want HWC.
    return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), labels


def read_split(data_dir: Optional[str], split: str, dataset: str) -> tuple:
    files.require_data_dir(data_dir, dataset, LAYOUT)
    folder = os.path.join(data_dir, BATCH_FOLDER)
    if not os.path.isdir(folder):
        folder = data_dir
    paths = [os.path.join(folder, name) for name in SPLIT_FILES[split]]
    missing = [p for p in paths if not os.path.isfile(p)]
    if missing:
        raise UserError(f"{dataset}: missing {missing}; data_dir must hold {LAYOUT}")
    parts = [read_batch(p) for p in paths]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def load(name: str, data_dir: Optional[str], split: str, options: Options) -> ArraySource:
    images, labels = read_split(data_dir, split, name)
    return subsets.class_subset_source(describe(name, options), images, labels, options.classes,
                                       options.ratio, options.subset_seed)
