"""Frechet distance between Gaussians fitted to two feature sets (the maths of FID), in float64.

For N(mu1, S1) and N(mu2, S2) the squared Frechet (2-Wasserstein) distance is

    d^2 = ||mu1 - mu2||^2 + Tr(S1) + Tr(S2) - 2 Tr((S1 S2)^(1/2))        (Heusel et al. 2017, Eq. 6)

This is the number TF-GAN's frechet_classifier_distance, TTUR's fid.py and pytorch-fid report
(they call d^2 "FID"). pytorch-fid (and SLOGAN's intra_cluster_fid.py) take scipy.linalg.sqrtm
of the product S1 S2 and retry with eps * I when it is singular; here the trace of the square
root comes from a symmetric eigendecomposition (`trace_sqrt_product`), the same number on
well-conditioned covariances, and finite, real and warning-free on singular ones.
"""

from __future__ import annotations

import dataclasses

import numpy as np



@dataclasses.dataclass(frozen=True)
class GaussianStats:
    """Mean [D] and unbiased covariance [D, D] (float64) of `count` feature vectors."""

    mean: np.ndarray
    cov: np.ndarray
    count: int


def gaussian_stats(features) -> GaussianStats:
    """Mean and unbiased covariance (np.cov, ddof=1) of features [N, D], computed in float64."""
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2 or len(x) < 2:
        raise ValueError(f"need features of shape [N >= 2, D], got {x.shape}")
    return GaussianStats(x.mean(axis=0), np.cov(x, rowvar=False), len(x))


class StreamingStats:
    """Mean and covariance accumulated batch by batch in float64, without keeping the features.

    Batches are merged with Chan et al.'s parallel update: for the running (n, mean, M2) and a
    batch (m, mean_b, M2_b), delta = mean_b - mean, mean += delta * m / (n + m),
    M2 += M2_b + delta delta^T * n m / (n + m). M2 is the sum of centred outer products, so the
    covariance M2 / (n - 1) avoids the cancellation of E[x x^T] - mu mu^T.
    """

    def __init__(self):
        self.count = 0
        self._mean = None
        self._m2 = None

    def update(self, features) -> None:
        x = np.asarray(features, dtype=np.float64)
        if x.ndim != 2:
            raise ValueError(f"features must be [batch, D], got {x.shape}")
        m = len(x)
        if m == 0:
            return
        batch_mean = x.mean(axis=0)
        centred = x - batch_mean
        batch_m2 = centred.T @ centred
        if self.count == 0:
            self.count, self._mean, self._m2 = m, batch_mean, batch_m2
            return
        if x.shape[1] != self._mean.shape[0]:
            raise ValueError(f"feature size changed from {self._mean.shape[0]} to {x.shape[1]}")
        n = self.count
        total = n + m
        delta = batch_mean - self._mean
        self._mean = self._mean + delta * (m / total)
        self._m2 = self._m2 + batch_m2 + np.outer(delta, delta) * (n * m / total)
        self.count = total

    def result(self) -> GaussianStats:
        if self.count < 2:
            raise ValueError(f"need at least 2 feature vectors for a covariance, got {self.count}")
        return GaussianStats(self._mean.copy(), self._m2 / (self.count - 1), self.count)


def trace_sqrt_product(cov1: np.ndarray, cov2: np.ndarray) -> float:
    """Tr((S1 S2)^(1/2)) for symmetric positive semi-definite S1, S2, without a general sqrtm.

    S1 S2 is similar to the symmetric PSD matrix A = S1^(1/2) S2 S1^(1/2) (S1^(1/2) from an
    eigendecomposition), so its square root's trace is sum(sqrt(eig(A))). Eigenvalues that
    round-off makes slightly negative are clipped to 0. Unlike scipy.linalg.sqrtm of the product
    this never produces complex values or LinAlgWarnings on the singular covariances of small
    samples, and it agrees with it to round-off on well-conditioned ones (tested).
    """
    values, vectors = np.linalg.eigh(cov1)
    root1 = (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T
    product = root1 @ cov2 @ root1
    eigenvalues = np.linalg.eigvalsh((product + product.T) / 2.0)
    return float(np.sqrt(np.clip(eigenvalues, 0.0, None)).sum())


def frechet_distance(stats1: GaussianStats, stats2: GaussianStats) -> float:
    """d^2 = ||mu1 - mu2||^2 + Tr(S1) + Tr(S2) - 2 Tr(sqrtm(S1 S2)) (module docstring), float64."""
    mu1, mu2 = np.asarray(stats1.mean, np.float64), np.asarray(stats2.mean, np.float64)
    cov1, cov2 = np.asarray(stats1.cov, np.float64), np.asarray(stats2.cov, np.float64)
    if mu1.shape != mu2.shape or cov1.shape != cov2.shape:
        raise ValueError(f"feature sizes differ: {mu1.shape} vs {mu2.shape}")
    diff = mu1 - mu2
    value = diff @ diff + np.trace(cov1) + np.trace(cov2) - 2.0 * trace_sqrt_product(cov1, cov2)
    return float(value)


def frechet_distance_from_features(features1, features2) -> float:
    """Frechet distance between Gaussians fitted to two feature arrays [N, D] and [M, D]."""
    return frechet_distance(gaussian_stats(features1), gaussian_stats(features2))
