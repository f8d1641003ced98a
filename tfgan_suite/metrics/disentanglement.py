"""ICGAN's disentanglement measures on ColorMNIST (Wang et al., Sec. 4.2 and 4.3), NumPy only.

Digit accuracy (Sec. 4.2, Table 2): a classifier trained on ColorMNIST with its solid-colour
and noise classes labels generated images; each discrete latent code is matched to a digit
(the codes are learned without labels, so code c need not mean digit c). The matching is the
one-to-one assignment (Hungarian, scipy.optimize.linear_sum_assignment) that maximises the
number of images whose predicted digit is their code's digit; images predicted as solid colour
or noise count as wrong.

Hue MSE (Sec. 4.3, Fig. 5, Eq. 6, Table 3): images are generated along a sweep of the colour
code around the hue ring; each image's background colour is the mean of four regions around
the digit (here the four 4x4 corner patches of the 28x28 image), converted to a hue. The
generated ring is compared with the standard ring A1_i = i / N under every rotation and flip of
its indices (2N mappings, the order kept), and the best mapping is reported:
    Eq. 6 (degrees):  mean((180 - ||A1 - A2| - 180|)^2)
the squared circular hue error. Table 3's "MSE (0-1)" column is the same error with hues in
[0, 1] (Eq. 6 / 360^2); its degree column equals that value times 360 for every row (e.g.
0.0319 -> 11.49, 0.0001 -> 0.0367), so we report the [0, 1] value (`hue_mse`) and Eq. 6 in
squared degrees (`hue_mse_eq6_deg2`).
"""

from __future__ import annotations

import numpy as np

from tfgan_suite.errors import UserError
from tfgan_suite.hue import rgb_to_hue

CORNER = 4   # side of each corner patch sampled for the background colour


def background_colors(images, corner: int = CORNER) -> np.ndarray:
    """Mean RGB in [0, 1] of the four corner patches of each image [N, H, W, 3] (uint8 or
    floats in [-1, 1])."""
    x = np.asarray(images)
    x = x.astype(np.float64) / 255.0 if x.dtype == np.uint8 else (x.astype(np.float64) + 1) / 2
    k = corner
    patches = [x[:, :k, :k], x[:, :k, -k:], x[:, -k:, :k], x[:, -k:, -k:]]
    return np.mean([p.mean(axis=(1, 2)) for p in patches], axis=0)


def background_hues(images) -> np.ndarray:
    """Hue in [0, 1) of each image's background (background_colors)."""
    return rgb_to_hue(background_colors(images))


def eq6_degrees(a1, a2) -> float:
    """Eq. 6: mean((180 - ||A1 - A2| - 180|)^2), hues in degrees."""
    a1, a2 = np.asarray(a1, np.float64), np.asarray(a2, np.float64)
    return float(np.mean((180.0 - np.abs(np.abs(a1 - a2) - 180.0)) ** 2))


def ring_mappings(n: int) -> np.ndarray:
    """[2n, n] index maps of a ring of n: the n rotations, then the n rotations of its flip."""
    i = np.arange(n)
    shifts = np.arange(n)[:, None]
    return np.concatenate([(i[None] + shifts) % n, (shifts - i[None]) % n])


def hue_ring_mse(measured_hues) -> dict:
    """Best-mapping Hue MSE of a generated ring (hues in [0, 1), in sweep order) against the
    standard ring i / N: {"hue_mse" ([0, 1] units), "hue_mse_eq6_deg2", "rotation", "flipped"}."""
    a2 = np.asarray(measured_hues, np.float64) % 1.0
    n = len(a2)
    if a2.ndim != 1 or n < 2:
        raise ValueError(f"a hue ring needs at least 2 hues in a vector, got shape {a2.shape}")
    a1 = np.arange(n) / n
    mapped = a2[ring_mappings(n)]                                       # [2n, n]
    gap = np.abs(mapped - a1[None])
    errors = np.mean(np.minimum(gap, 1.0 - gap) ** 2, axis=1)           # circular, [2n]
    best = int(np.argmin(errors))
    return {"hue_mse": float(errors[best]),
            "hue_mse_eq6_deg2": eq6_degrees(a1 * 360.0, mapped[best] * 360.0),
            "rotation": best % n, "flipped": bool(best >= n)}


def match_codes_to_digits(codes, predicted, num_codes: int = 10) -> np.ndarray:
    """assignment[c] = the digit matched to latent code c (Hungarian on the counts of
    (code, predicted digit); predictions >= num_codes, e.g. solid colour / noise, match none)."""
    import scipy.optimize

    codes, predicted = np.asarray(codes), np.asarray(predicted)
    counts = np.zeros((num_codes, num_codes))
    digit = predicted < num_codes
    np.add.at(counts, (codes[digit], predicted[digit]), 1)
    rows, cols = scipy.optimize.linear_sum_assignment(-counts)
    return cols[np.argsort(rows)]


def matched_accuracy(codes, predicted, assignment) -> float:
    """Share of images whose predicted class is the digit matched to their code."""
    return float(np.mean(np.asarray(assignment)[np.asarray(codes)] == np.asarray(predicted)))


def digit_accuracy(codes, logits, round_size: int = 1000, num_codes: int = 10) -> dict:
    """Table 2's accuracy: one code-to-digit matching on all images, then the matched accuracy
    per round of `round_size` images; mean, standard error of the mean and the assignment."""
    logits = np.asarray(logits)
    if logits.shape[1] < num_codes:
        raise UserError(f"the digit classifier has {logits.shape[1]} classes; it needs the 10 "
                        "digits first (train it on ColorMNIST with classifier_set=true: 12 classes)")
    predicted = np.argmax(logits, axis=1)
    assignment = match_codes_to_digits(codes, predicted, num_codes)
    starts = range(0, len(predicted), round_size)
    per_round = [matched_accuracy(codes[s:s + round_size], predicted[s:s + round_size], assignment)
                 for s in starts]
    sem = float(np.std(per_round, ddof=1) / np.sqrt(len(per_round))) if len(per_round) > 1 else 0.0
    return {"accuracy": float(np.mean(per_round)), "sem": sem, "rounds": len(per_round),
            "assignment": assignment.tolist()}
