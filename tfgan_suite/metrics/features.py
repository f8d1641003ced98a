"""Feed images to a feature extractor batch by batch: from arrays (real data) or a generator.

An extractor is any callable images [B, H, W, C] (float in [-1, 1] or uint8) -> features [B, D]
with a `distance_name` attribute naming the Frechet distance computed on its features
("fid_inception_uint8_tf1_bilinear", "frechet_classifier_distance", ...). Tests use a tiny fake one,
so no metric below needs network weights (compare_gan's approach).

A generator callable takes a batch size n and returns n images in [-1, 1]; a per-class
(or per-cluster) generator callable takes (class index, n).
"""

from __future__ import annotations

from typing import Callable, Iterator

import numpy as np

from tfgan_suite.errors import UserError

Extractor = Callable[[np.ndarray], np.ndarray]
Generate = Callable[[int], np.ndarray]
GenerateFor = Callable[[int, int], np.ndarray]


def array_batches(images, batch_size: int, indices=None) -> Iterator[np.ndarray]:
    """Batches of `images` (an array or np.memmap, read lazily), all of them or those at `indices`."""
    if indices is None:
        for start in range(0, len(images), batch_size):
            yield np.asarray(images[start:start + batch_size])
        return
    indices = np.sort(np.asarray(indices))  # sorted reads are faster on a memmap
    for start in range(0, len(indices), batch_size):
        yield np.asarray(images[indices[start:start + batch_size]])


def generated_batches(generate: Generate, num_samples: int, batch_size: int) -> Iterator[np.ndarray]:
    """generate(n) called until `num_samples` images were produced (the last batch may be smaller)."""
    produced = 0
    while produced < num_samples:
        n = min(batch_size, num_samples - produced)
        images = np.asarray(generate(n))
        if len(images) != n:
            raise ValueError(f"generator returned {len(images)} images when asked for {n}")
        produced += n
        yield images


def per_class_indices(class_ids, num_classes: int, min_count: int = 2) -> list[np.ndarray]:
    """Indices of each class 0..num_classes-1; every class needs `min_count` examples."""
    if class_ids is None:
        raise UserError("per-class metrics (ICFID, intra-class FID) need a dataset with class labels")
    class_ids = np.asarray(class_ids)
    groups = [np.flatnonzero(class_ids == y) for y in range(num_classes)]
    small = [y for y, g in enumerate(groups) if len(g) < min_count]
    if small:
        raise UserError(f"classes {small} have fewer than {min_count} real examples: use a larger "
                        "split (or fewer classes) for per-class metrics")
    return groups
