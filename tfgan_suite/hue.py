"""Hue <-> RGB for fully saturated, full-value colours (ColorMNIST backgrounds, ICGAN's colour
code and its Hue MSE). NumPy only, vectorised; equal to colorsys to round-off (tested)."""

from __future__ import annotations

import numpy as np


def hue_to_rgb(hue) -> np.ndarray:
    """RGB in [0, 1] of HSV(hue, 1, 1), hue in [0, 1) (any shape -> shape + (3,))."""
    h = np.asarray(hue, np.float64)[..., None] % 1.0
    return np.clip(np.abs((6.0 * h + np.array([0.0, 4.0, 2.0])) % 6.0 - 3.0) - 1.0, 0.0, 1.0)


def rgb_to_hue(rgb) -> np.ndarray:
    """Hue in [0, 1) of RGB values (last axis, any scale), as colorsys.rgb_to_hsv; grey -> 0."""
    rgb = np.asarray(rgb, np.float64)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    high, low = rgb.max(axis=-1), rgb.min(axis=-1)
    span = np.where(high > low, high - low, 1.0)
    hue = np.where(high == r, (g - b) / span,
                   np.where(high == g, 2.0 + (b - r) / span, 4.0 + (r - g) / span))
    return np.where(high > low, (hue / 6.0) % 1.0, 0.0)
