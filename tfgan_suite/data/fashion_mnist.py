"""Fashion-MNIST (Xiao et al. 2017) and SLOGAN's FMNIST-5.

Source: https://github.com/zalandoresearch/fashion-mnist (files served from
http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/). data_dir holds the official
gzipped IDX files (same format as MNIST; plain files are accepted too):
    train-images-idx3-ubyte.gz  train-labels-idx1-ubyte.gz  t10k-images-idx3-ubyte.gz
    t10k-labels-idx1-ubyte.gz
Splits: "train" 60,000, "test" 10,000. Labels one-hot over the classes (or groups).

FMNIST-5 (SLOGAN Sec. 4.1): five clusters {Trouser}, {Bag}, {T-shirt/top, Dress},
{Pullover, Coat, Shirt}, {Sneaker, Sandal, Ankle boot}. Fashion-MNIST is balanced (6,000
training images per class), so the grouping alone gives the paper's imbalance 1:1:2:3:3 and
nothing is subsampled; class_ids are the group index 0..4 in that order.
"""

from __future__ import annotations

from typing import Optional

from tfgan_suite.data import files, mnist, subsets
from tfgan_suite.data.base import ArraySource, DatasetInfo
from tfgan_suite.errors import UserError

CLASS_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
               "Sneaker", "Bag", "Ankle boot")
FMNIST5_GROUPS = ((1,), (8,), (0, 3), (2, 4, 6), (7, 5, 9))
LAYOUT = ", ".join(f"{name}.gz" for name in mnist.IDX_FILES["train"] + mnist.IDX_FILES["test"])

Options = subsets.ClassSubsetOptions


def describe(name: str, options: Options) -> DatasetInfo:
    names = subsets.group_names(options.classes, CLASS_NAMES)
    return DatasetInfo(name, (28, 28, 1), names, "onehot", len(names))


def load(name: str, data_dir: Optional[str], split: str, options: Options) -> ArraySource:
    files.require_data_dir(data_dir, name, LAYOUT)
    pair = mnist.read_idx_pair(data_dir, split, name)
    if pair is None:
        raise UserError(f"{name}: data_dir {data_dir!r} holds no "
                        f"{' / '.join(mnist.IDX_FILES[split])}(.gz); download Fashion-MNIST there")
    images, labels = pair
    return subsets.class_subset_source(describe(name, options), images[..., None], labels,
                                       options.classes, options.ratio, options.subset_seed)
