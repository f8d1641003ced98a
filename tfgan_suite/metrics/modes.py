"""Sample quality on a mixture of isotropic 2-D Gaussians, as the mode-collapse literature
measures it (VEEGAN, Srivastava et al. 2017, Sec. 5.1; PacGAN, Lin et al. 2018, Sec. 5).

Each generated point is registered to its nearest mode, distances measured in units of that
mode's standard deviation. Reported:
  high_quality    fraction of points within `radius` (3) standard deviations of their mode;
  modes_covered   modes with at least `captured_fraction` (PacGAN: 1/5) of the high-quality
                  points the mode's real weight would give it;
  reverse_kl      KL(generated || real) between the mode histogram of the high-quality points
                  and the real mode weights (PacGAN's reverse KL; 0 when they match);
  per mode:       std_ratio = generated / real standard deviation of the mode's high-quality
                  points (REAL_STD_RATIO = 0.974 for real samples, as the 3-sd cut trims the
                  tails; smaller when too tight), and mean_offset =
                  distance of their mean from the real mode mean, in real standard deviations.
The reference modes are the real split itself: per-class mean, standard deviation (averaged
over the coordinates) and share of points, so the numbers are in the units the model sees.
"""

from __future__ import annotations

import numpy as np

RADIUS = 3.0
CAPTURED_FRACTION = 0.2
# What real samples of an isotropic 2-D Gaussian score: the share within RADIUS standard
# deviations, 1 - exp(-r^2/2), and the spread of those points, sqrt(E[r^2 | r <= R] / 2), which
# the truncation makes smaller than the full standard deviation (0.974 at R = 3).
REAL_HIGH_QUALITY = 1.0 - np.exp(-RADIUS ** 2 / 2)
REAL_STD_RATIO = float(np.sqrt((2.0 - (RADIUS ** 2 + 2.0) * np.exp(-RADIUS ** 2 / 2))
                               / REAL_HIGH_QUALITY / 2.0))


def reference_modes(points: np.ndarray, class_ids: np.ndarray) -> tuple:
    """(means [K, D], stds [K], weights [K]) of the real points of each class."""
    points, class_ids = np.asarray(points, np.float64), np.asarray(class_ids)
    k = int(class_ids.max()) + 1
    means = np.stack([points[class_ids == c].mean(axis=0) for c in range(k)])
    stds = np.array([points[class_ids == c].std(axis=0).mean() for c in range(k)])
    weights = np.bincount(class_ids, minlength=k) / len(class_ids)
    return means, stds, weights


def mode_quality(samples, means, stds, weights, radius: float = RADIUS,
                 captured_fraction: float = CAPTURED_FRACTION) -> dict:
    """The module docstring's statistics of generated `samples` [N, D] against the modes."""
    samples = np.asarray(samples, np.float64)
    means, stds, weights = (np.asarray(a, np.float64) for a in (means, stds, weights))
    k = len(means)
    distances = np.linalg.norm(samples[:, None, :] - means[None], axis=2) / stds[None]  # [N, K]
    nearest = distances.argmin(axis=1)
    good = distances[np.arange(len(samples)), nearest] <= radius
    counts = np.bincount(nearest[good], minlength=k)
    n_good = int(good.sum())
    covered = counts >= captured_fraction * weights * n_good if n_good else np.zeros(k, bool)
    shares = counts / n_good if n_good else np.zeros(k)
    nonzero = shares > 0
    reverse_kl = float(np.sum(shares[nonzero] * np.log(shares[nonzero] / weights[nonzero])))
    std_ratio, offset = np.full(k, np.nan), np.full(k, np.nan)
    for c in range(k):
        mine = samples[good & (nearest == c)]
        if len(mine) >= 2:
            std_ratio[c] = mine.std(axis=0).mean() / stds[c]
            offset[c] = np.linalg.norm(mine.mean(axis=0) - means[c]) / stds[c]

    def summary(values, reduce):   # NaN when no mode has two high-quality points
        finite = values[np.isfinite(values)]
        return float(reduce(finite)) if len(finite) else float("nan")
    return {
        "high_quality": float(good.mean()) if len(samples) else 0.0,
        "std_ratio_mean": summary(std_ratio, np.mean),
        "mean_offset_max": summary(offset, np.max),
        "modes_covered": int(covered.sum()),
        "reverse_kl": reverse_kl if n_good else float("nan"),
        "std_ratio": std_ratio.tolist(),
        "mean_offset": offset.tolist(),
        "mode_shares": shares.tolist(),
    }
