"""KID, the kernel counterpart of FID, on features of any extractor (the Frechet distance
itself is in frechet.py; metrics/definitions.py registers both)."""

from __future__ import annotations

import numpy as np



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
