"""ColorMNIST (Wang et al., "Information Compensation for Deep Conditional Generative Networks",
Sec. 4 and Appendix A.1): MNIST digits on 100 background hues, 28x28x3, generated offline.

Construction (deterministic from `seed`):
  1. the digits of the MNIST `source` split ("mnist5k": the 5,000 digits shipped offline, no
     data_dir; "mnist": official IDX files or mnist.pkl.gz in data_dir) are balanced by
     undersampling every digit to the count of the rarest one (the paper undersamples e.g. 1s);
  2. every image gets a background hue k/100, k uniform in 0..99 (HSV(k/100, 1, 1), Fig. 9);
  3. the grey digit is laid over it: pixel = m * white + (1 - m) * background, m = grey / 255
     (white strokes on the coloured ground; the paper shows the images, Fig. 8, not the formula).
`classifier_set=True` gives the 12-class set of the digit classifier (Table 4): the digits plus
as many solid-colour images (class 10, a random hue each) and uniform RGB noise images (class
11) as one tenth of the digits each (the paper: 10,850 of each next to 108,503 digits).
Labels are one-hot classes; class_ids the class; `hue_ids(...)` regenerates each image's hue.
"train" and "test" come from the MNIST source's own splits with independent hue draws.
"""

from __future__ import annotations

import dataclasses
from typing import Optional

import numpy as np

from tfgan_suite.data import embedded, mnist
from tfgan_suite.data.base import ArraySource, DatasetInfo
from tfgan_suite.errors import UserError
from tfgan_suite.hue import hue_to_rgb

SOURCES = ("mnist5k", "mnist")
NUM_HUES = 100
DIGIT_NAMES = tuple(str(d) for d in range(10))
EXTRA_NAMES = ("solid", "noise")
SPLIT_STREAMS = {"train": 0, "test": 1}


@dataclasses.dataclass(frozen=True)
class Options:
    """source: MNIST digits to colour, "mnist5k" (offline, default) or "mnist" (needs data_dir).
    classifier_set: add the solid-colour and noise classes (12 classes, for the digit
    classifier). seed: seed of the balancing and the hue draws."""

    source: str = "mnist5k"
    classifier_set: bool = False
    seed: int = 0

    def __post_init__(self):
        if self.source not in SOURCES:
            raise UserError(f"option source={self.source!r}: choose one of {', '.join(SOURCES)}")
        flag = self.classifier_set
        if isinstance(flag, str):
            if flag.lower() not in ("true", "false", "1", "0"):
                raise UserError(f"option classifier_set={flag!r}: expected true or false")
            flag = flag.lower() in ("true", "1")
        object.__setattr__(self, "classifier_set", bool(flag))
        object.__setattr__(self, "seed", int(self.seed))


def describe(name: str, options: Options) -> DatasetInfo:
    names = DIGIT_NAMES + (EXTRA_NAMES if options.classifier_set else ())
    return DatasetInfo(name, (28, 28, 3), names, "onehot", len(names))


def read_digits(options: Options, data_dir: Optional[str], split: str) -> tuple:
    """(uint8 [N, 28, 28] grey digits, int [N] labels) of the MNIST source."""
    if options.source == "mnist5k":
        images, digits = embedded.read_all()
        in_test = np.zeros(len(digits), bool)
        for digit in range(10):
            in_test[np.flatnonzero(digits == digit)[-embedded.TEST_PER_CLASS:]] = True
        keep = np.flatnonzero(in_test if split == "test" else ~in_test)
        return images[keep, :, :, 0], digits[keep]
    return mnist.read_split(data_dir, split)


def balanced_indices(digits: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Indices (in dataset order) keeping min_d count(d) random examples of every digit."""
    members = [np.flatnonzero(digits == d) for d in range(10)]
    if any(len(m) == 0 for m in members):
        raise UserError("ColorMNIST needs examples of all ten digits in the MNIST source")
    keep = min(len(m) for m in members)
    return np.sort(np.concatenate([rng.permutation(m)[:keep] for m in members]))


def colorize(grey: np.ndarray, hue_ids: np.ndarray) -> np.ndarray:
    """uint8 [N, 28, 28, 3]: white digits (grey [N, 28, 28] uint8) over HSV(k/100, 1, 1)."""
    background = hue_to_rgb(np.asarray(hue_ids) / NUM_HUES)[:, None, None, :] * 255.0
    m = grey.astype(np.float64)[..., None] / 255.0
    return np.round(m * 255.0 + (1.0 - m) * background).astype(np.uint8)


def build(grey: np.ndarray, digits: np.ndarray, options: Options, split: str) -> tuple:
    """(uint8 images [N, 28, 28, 3], int32 classes [N], int32 hue ids [N]; -1 for noise)."""
    rng = np.random.default_rng([options.seed, SPLIT_STREAMS[split]])
    keep = balanced_indices(np.asarray(digits), rng)
    classes = np.asarray(digits)[keep].astype(np.int32)
    hues = rng.integers(0, NUM_HUES, len(keep)).astype(np.int32)
    images = colorize(grey[keep], hues)
    if options.classifier_set:
        extra = len(keep) // 10
        solid_hues = rng.integers(0, NUM_HUES, extra).astype(np.int32)
        solid = colorize(np.zeros((extra, 28, 28), np.uint8), solid_hues)
        noise = rng.integers(0, 256, (extra, 28, 28, 3)).astype(np.uint8)
        images = np.concatenate([images, solid, noise])
        classes = np.concatenate([classes, np.full(extra, 10, np.int32),
                                  np.full(extra, 11, np.int32)])
        hues = np.concatenate([hues, solid_hues, np.full(extra, -1, np.int32)])
    return images, classes, hues


def split_size(options: Options, data_dir: Optional[str], split: str) -> int:
    """Number of ColorMNIST digit images of `split` (10 x the rarest digit's count)."""
    _, digits = read_digits(options, data_dir, split)
    return 10 * min(int(np.sum(np.asarray(digits) == d)) for d in range(10))


def load(name: str, data_dir: Optional[str], split: str, options: Options) -> ArraySource:
    grey, digits = read_digits(options, data_dir, split)
    images, classes, _ = build(grey, digits, options, split)
    info = describe(name, options)
    labels = np.eye(info.label_dim, dtype=np.float32)[classes]
    return ArraySource(info, images, labels, classes)


def hue_ids(options: Options, data_dir: Optional[str], split: str) -> np.ndarray:
    """Hue index k (background HSV(k/100, 1, 1)) of every image of `split`, -1 for noise."""
    grey, digits = read_digits(options, data_dir, split)
    return build(grey, digits, options, split)[2]
