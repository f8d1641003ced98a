"""Feed images to a feature extractor batch by batch: from arrays (real data) or a generator.

An extractor is any callable images [B, H, W, C] (float in [-1, 1] or uint8) -> features [B, D]
with a `distance_name` attribute naming the Frechet distance computed on its features
("fid_inception_uint8_tf1_bilinear", "frechet_classifier_distance", ...). Tests use a tiny fake one,
so no metric below needs network weights (compare_gan's approach).

A generator callable takes a batch size n and returns n images in [-1, 1]; a per-class
(or per-cluster) generator callable takes (class index, n).
"""

from __future__ import annotations

from typing import Callable, Iterable, Iterator

import numpy as np

from tfgan_suite.errors import UserError
from tfgan_suite.metrics.frechet import GaussianStats, StreamingStats

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


def extract_features(extractor: Extractor, batches: Iterable[np.ndarray]) -> np.ndarray:
    """All features [N, D] of the batches (for metrics that need samples, e.g. KID)."""
    return np.concatenate([np.asarray(extractor(b)) for b in batches])


def feature_stats(extractor: Extractor, batches: Iterable[np.ndarray]) -> GaussianStats:
    """Mean and covariance of the features, accumulated in float64 without keeping them."""
    stats = StreamingStats()
    for batch in batches:
        stats.update(extractor(batch))
    return stats.result()


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


def real_class_stats(extractor: Extractor, examples, class_ids, num_classes: int,
                     batch_size: int) -> list[GaussianStats]:
    """Feature statistics of the real examples of each class (e.g. ArraySource.examples/.class_ids)."""
    return [feature_stats(extractor, array_batches(examples, batch_size, idx))
            for idx in per_class_indices(class_ids, num_classes)]


def generated_class_stats(extractor: Extractor, generate_for: GenerateFor, num_classes: int,
                          samples_per_class: int, batch_size: int) -> list[GaussianStats]:
    """Feature statistics of `samples_per_class` generated images for each class / cluster."""
    return [feature_stats(extractor, generated_batches(lambda n, c=c: generate_for(c, n),
                                                       samples_per_class, batch_size))
            for c in range(num_classes)]
