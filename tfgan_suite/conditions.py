"""Condition vectors y for sample grids and generation scripts."""

from __future__ import annotations

import numpy as np

from tfgan_suite.data.base import DatasetInfo


def grid_columns(info: DatasetInfo, real_labels: np.ndarray, max_columns: int = 10):
    """y [cols, label_dim] for a fixed-z grid whose columns vary y.

    onehot: one column per class. binary: all attributes off, then each attribute switched
    on alone (the original's attribute-swap figure). continuous: real label vectors taken
    from the data (fixed, the first `max_columns`).
    """
    if info.label_kind == "onehot":
        return np.eye(info.label_dim, dtype=np.float32)
    if info.label_kind == "binary":
        return np.concatenate([np.zeros((1, info.label_dim), np.float32),
                               np.eye(info.label_dim, dtype=np.float32)])
    if info.label_kind == "continuous":
        return np.asarray(real_labels[:max_columns], np.float32)
    raise ValueError(f"{info.name} has no condition labels (label_kind {info.label_kind!r})")


def fixed_z(rows: int, z_dim: int, z_mean: float, seed: int) -> np.ndarray:
    """The grid's fixed latent vectors, z ~ N(z_mean, 1), reproducible from `seed`."""
    return np.random.default_rng(seed).normal(z_mean, 1.0, (rows, z_dim)).astype(np.float32)
