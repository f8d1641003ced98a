"""Monitoring figures drawn from what the models return (the models themselves never plot).

A model's `grid_fn` returns a callable giving either an image grid [rows, cols, H, W, C] in
[-1, 1] or, for 2-D data, a `Scatter` of real and generated points; `to_image` turns either
into one uint8 image.
"""

from __future__ import annotations

import dataclasses
import io

import numpy as np

from tfgan_suite import images


@dataclasses.dataclass(frozen=True)
class Scatter:
    """2-D real points and generated points labelled by the prior component they came from."""

    real: np.ndarray            # [N, 2]
    generated: np.ndarray       # [M, 2]
    components: np.ndarray      # [M] int
    num_components: int


def scatter_image(scatter: Scatter, size=480) -> np.ndarray:
    """uint8 RGB [H, W, 3]: real points in grey, generated points coloured by component."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from PIL import Image

    fig, ax = plt.subplots(figsize=(size / 100, size / 100), dpi=100)
    ax.scatter(scatter.real[:, 0], scatter.real[:, 1], s=2, c="0.75", label="real")
    colours = plt.get_cmap("tab10")
    for c in range(scatter.num_components):
        pts = scatter.generated[scatter.components == c]
        ax.scatter(pts[:, 0], pts[:, 1], s=2, color=colours(c % 10), label=f"component {c}")
    ax.set_xlim(-1.2, 1.2)
    ax.set_ylim(-1.2, 1.2)
    ax.set_aspect("equal")
    ax.legend(loc="upper right", fontsize=6, markerscale=3)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"), np.uint8)


def to_image(figure) -> np.ndarray:
    """One uint8 image [H, W, C] from a grid [rows, cols, H, W, C] in [-1, 1] or a `Scatter`."""
    if isinstance(figure, Scatter):
        return scatter_image(figure)
    return images.grid(figure)
