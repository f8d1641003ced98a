"""FID-like and KID-like distances between real data and generated images, for any extractor.

With FIDInceptionV3 the Frechet distance is FID (reported as "fid_inception_uint8_<resize>"); with a
domain classifier it is a Frechet *classifier* distance and is reported under that name.
"""

from __future__ import annotations

import numpy as np

from tfgan_suite.metrics import features as feats
from tfgan_suite.metrics.frechet import frechet_distance


def frechet_feature_distance(extractor: feats.Extractor, real_images, generate: feats.Generate,
                             num_samples: int, batch_size: int = 50) -> dict:
    """{extractor.distance_name: Frechet distance} between real images and `num_samples` fakes.

    real_images: uint8 [N, H, W, C] (ArraySource.examples) or floats in [-1, 1].
    generate: n -> n images in [-1, 1].
    """
    real = feats.feature_stats(extractor, feats.array_batches(real_images, batch_size))
    fake = feats.feature_stats(extractor, feats.generated_batches(generate, num_samples, batch_size))
    return {extractor.distance_name: frechet_distance(real, fake)}


def kernel_distance(features1, features2, num_subsets: int = 100, subset_size: int = 1000,
                    seed: int = 0) -> tuple[float, float]:
    """KID (Binkowski et al. 2018): unbiased MMD^2 with the kernel k(x, y) = (x.y / D + 1)^3.

    Averaged over `num_subsets` random subsets of min(subset_size, N1, N2) vectors from each set,
    drawn without replacement with numpy's default_rng(seed); returns (mean, std) over subsets.
    For one subset of size m with kernel matrices Kxx, Kyy, Kxy:
        MMD^2 = (sum Kxx - tr Kxx) / (m(m-1)) + (sum Kyy - tr Kyy) / (m(m-1)) - 2 mean(Kxy).
    """
    x, y = np.asarray(features1, np.float64), np.asarray(features2, np.float64)
    m = min(subset_size, len(x), len(y))
    if m < 2:
        raise ValueError("KID needs at least 2 feature vectors in each set")
    dim = x.shape[1]
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(num_subsets):
        a = x[rng.choice(len(x), m, replace=False)]
        b = y[rng.choice(len(y), m, replace=False)]
        kxx, kyy, kxy = ((u @ v.T / dim + 1.0) ** 3 for u, v in ((a, a), (b, b), (a, b)))
        off_diag = (kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)) / (m * (m - 1))
        values.append(off_diag - 2.0 * kxy.mean())
    return float(np.mean(values)), float(np.std(values))
