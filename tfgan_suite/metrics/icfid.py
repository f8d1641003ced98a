"""Per-class FIDs: SLOGAN's intra-cluster FID, greedy (Algorithm 2) and Hungarian.

Both start from d(y, c) = Frechet distance between the real images of class y and the
images generated from latent cluster / class c (rows: real classes, columns: clusters).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import scipy.optimize

from tfgan_suite.errors import UserError
from tfgan_suite.metrics.frechet import GaussianStats, frechet_distance

MATCHINGS = ("greedy", "hungarian")


@dataclasses.dataclass(frozen=True)
class ClassMatch:
    """value: mean of the matched distances; assignment[y]: cluster matched to class y;
    distances[y]: d(y, assignment[y])."""

    value: float
    assignment: np.ndarray
    distances: np.ndarray


def distance_matrix(real_stats: list[GaussianStats], fake_stats: list[GaussianStats]) -> np.ndarray:
    """d[y, c] = Frechet distance(real class y, generated cluster c)."""
    return np.array([[frechet_distance(r, f) for f in fake_stats] for r in real_stats])


def _check_shape(d: np.ndarray) -> np.ndarray:
    d = np.asarray(d, np.float64)
    if d.ndim != 2 or d.shape[1] < d.shape[0]:
        raise UserError(f"ICFID matches each of the {d.shape[0]} real classes to its own generator "
                        f"cluster but the model has {d.shape[1] if d.ndim == 2 else '?'}: train it "
                        "with at least as many clusters (mixture components) as classes")
    return d


def icfid_greedy(d) -> ClassMatch:
    """SLOGAN Algorithm 2: for each class y in order, c* = argmin over the remaining clusters of
    d(y, c); ICFID(y) = d(y, c*); remove c*; ICFID = mean_y ICFID(y) (ties: lowest cluster index).
    """
    d = _check_shape(d)
    remaining = list(range(d.shape[1]))
    assignment = []
    for y in range(d.shape[0]):
        best = remaining[int(np.argmin(d[y, remaining]))]
        assignment.append(best)
        remaining.remove(best)
    assignment = np.array(assignment)
    distances = d[np.arange(d.shape[0]), assignment]
    return ClassMatch(float(distances.mean()), assignment, distances)


def icfid_hungarian(d) -> ClassMatch:
    """The one-to-one class-cluster matching with the least total distance
    (scipy.optimize.linear_sum_assignment); never above the greedy ICFID, independent of class order."""
    d = _check_shape(d)
    rows, cols = scipy.optimize.linear_sum_assignment(d)
    distances = d[rows, cols]
    return ClassMatch(float(distances.mean()), cols, distances)


def icfid(d, matching: str = "greedy") -> ClassMatch:
    """ICFID of the distance matrix with the chosen matching ("greedy" = the paper's Algorithm 2)."""
    if matching == "greedy":
        return icfid_greedy(d)
    if matching == "hungarian":
        return icfid_hungarian(d)
    raise UserError(f"unknown ICFID matching {matching!r}: choose one of {MATCHINGS}")
