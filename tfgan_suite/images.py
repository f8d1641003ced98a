"""Image grids and PNG files (sample grids, interpolations, swaps)."""

from __future__ import annotations

import os

import numpy as np
from PIL import Image


def to_uint8(images) -> np.ndarray:
    """Images in [-1, 1] -> uint8 0..255 (rounded, clipped)."""
    x = np.asarray(images, np.float32)
    return np.clip(np.rint((x + 1.0) * 127.5), 0, 255).astype(np.uint8)


def grid(images, pad=2) -> np.ndarray:
    """[rows, cols, H, W, C] images in [-1, 1] -> one uint8 [H', W', C] mosaic (white gaps)."""
    x = to_uint8(images)
    rows, cols, h, w, c = x.shape
    out = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad, c), 255, np.uint8)
    for r in range(rows):
        for k in range(cols):
            top, left = pad + r * (h + pad), pad + k * (w + pad)
            out[top:top + h, left:left + w] = x[r, k]
    return out


def save_png(path, mosaic) -> str:
    """Write a uint8 [H, W, C] image atomically (a temporary file, then a rename)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    image = mosaic[..., 0] if mosaic.shape[-1] == 1 else mosaic
    tmp = f"{path}.tmp-{os.getpid()}"
    Image.fromarray(image).save(tmp, format="PNG")
    os.replace(tmp, path)
    return path
