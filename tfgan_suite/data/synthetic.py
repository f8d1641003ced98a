"""gaussians8: SLOGAN's imbalanced mixture of eight 2-D Gaussians (SLOGAN Fig. 1, Appendix E.2).

Means on the circle of radius 2, clockwise from the top: (0, 2), (sqrt2, sqrt2), (2, 0),
(sqrt2, -sqrt2), (0, -2), (-sqrt2, -sqrt2), (-2, 0), (-sqrt2, sqrt2); covariance 0.01 I
(Figure 11 also uses 0.05 I and 0.1 I: option `variance`). Of the 80,000 points the first
four components get 5,000 each and the last four 15,000 each (1:1:1:1:3:3:3:3, "imbalance
ratio between the first four Gaussians and the remaining four is 1:3"), the same assignment
as the original slogan_synthetic.py (weight 1/16 for top, top-right, right, bottom-right).
The points are min-max scaled per coordinate to [-1, 1] (sklearn MinMaxScaler((-1, 1)) in
the original). Examples are float32 [N, 2] already in model units; class_ids and one-hot
labels give the component, numbered clockwise from the top.

Generated, not downloaded: "train" draws with `seed`, "test" is an independent draw (seed + 1)
scaled with the train draw's minimum and maximum (so test points may fall slightly outside
[-1, 1]).
"""

from __future__ import annotations

import dataclasses
from typing import Optional

import numpy as np

from tfgan_suite.data.base import ArraySource, DatasetInfo
from tfgan_suite.errors import UserError

_R = np.sqrt(2.0)
MEANS = np.array([(0, 2), (_R, _R), (2, 0), (_R, -_R), (0, -2), (-_R, -_R), (-2, 0), (-_R, _R)])
WEIGHTS = (1, 1, 1, 1, 3, 3, 3, 3)
COMPONENT_NAMES = ("top", "top_right", "right", "bottom_right", "bottom", "bottom_left", "left",
                   "top_left")


@dataclasses.dataclass(frozen=True)
class Options:
    """variance: per-coordinate variance of every component (paper: 0.01, also 0.05, 0.1).
    num_points: total points, split 1:1:1:1:3:3:3:3. seed: seed of the train draw."""

    variance: float = 0.01
    num_points: int = 80_000
    seed: int = 0

    def __post_init__(self):
        if float(self.variance) <= 0:
            raise UserError(f"option variance={self.variance}: must be positive")
        if int(self.num_points) < sum(WEIGHTS):
            raise UserError(f"option num_points={self.num_points}: need at least {sum(WEIGHTS)}")
        object.__setattr__(self, "variance", float(self.variance))
        object.__setattr__(self, "num_points", int(self.num_points))
        object.__setattr__(self, "seed", int(self.seed))


def describe(name: str, options: Options) -> DatasetInfo:
    return DatasetInfo(name, (2,), COMPONENT_NAMES, "onehot", len(COMPONENT_NAMES))


def component_counts(num_points: int) -> list:
    return [num_points * w // sum(WEIGHTS) for w in WEIGHTS]


def draw(options: Options, seed: int) -> tuple:
    """(float64 [N, 2] unscaled points, int32 [N] component), components in order."""
    rng = np.random.default_rng(seed)
    counts = component_counts(options.num_points)
    ids = np.repeat(np.arange(len(counts), dtype=np.int32), counts)
    points = MEANS[ids] + rng.normal(scale=np.sqrt(options.variance), size=(len(ids), 2))
    return points, ids


def load(name: str, data_dir: Optional[str], split: str, options: Options) -> ArraySource:
    train_points, ids = draw(options, options.seed)
    low, high = train_points.min(axis=0), train_points.max(axis=0)
    points = train_points if split == "train" else draw(options, options.seed + 1)[0]
    scaled = (2.0 * (points - low) / (high - low) - 1.0).astype(np.float32)
    labels = np.eye(len(WEIGHTS), dtype=np.float32)[ids]
    return ArraySource(describe(name, options), scaled, labels, ids)
