"""Attribute control and learned-proportion metrics.

attribute_accuracy: how often a classifier recognises in generated images the attribute the
generator was asked for (cWGAN-GP's conditional control). pi_error: how far learned mixing
proportions (SLOGAN's pi) are from the known class ratios (e.g. 0.7 / 0.3 in CIFAR-2 7:3).
"""

from __future__ import annotations

import numpy as np

from tfgan_suite.errors import UserError

LABEL_KINDS = ("onehot", "binary")


def onehot_accuracy(predictions, targets) -> float:
    """Fraction of rows where argmax(predictions) == argmax(targets) (scores, logits or probs)."""
    predictions, targets = np.asarray(predictions), np.asarray(targets)
    if predictions.shape != targets.shape:
        raise ValueError(f"predictions {predictions.shape} and targets {targets.shape} differ")
    return float(np.mean(np.argmax(predictions, axis=1) == np.argmax(targets, axis=1)))


def binary_attribute_accuracy(predictions, targets, threshold: float = 0.5) -> np.ndarray:
    """Per-attribute accuracy of multi-label predictions: predicted on iff prediction >= threshold,
    requested on iff target >= 0.5. Use threshold 0.5 for probabilities, 0.0 for logits."""
    predictions, targets = np.asarray(predictions), np.asarray(targets)
    if predictions.shape != targets.shape:
        raise ValueError(f"predictions {predictions.shape} and targets {targets.shape} differ")
    return np.mean((predictions >= threshold) == (targets >= 0.5), axis=0)


def attribute_accuracy(predictions, targets, label_kind: str, threshold: float = 0.5) -> float:
    """Accuracy for "onehot" labels (argmax) or the mean per-attribute accuracy for "binary" ones."""
    if label_kind == "onehot":
        return onehot_accuracy(predictions, targets)
    if label_kind == "binary":
        return float(binary_attribute_accuracy(predictions, targets, threshold).mean())
    raise UserError(f"attribute accuracy needs one-hot or binary labels, not {label_kind!r}")


def match_components(cluster_probabilities, class_ids, num_classes: int) -> np.ndarray:
    """assignment[y] = the mixture component of class y: the one-to-one matching (Hungarian,
    scipy.optimize.linear_sum_assignment) that maximises sum_y sum_{x in y} p(c_y | x) over the
    real examples. Needs at least as many components as classes."""
    import scipy.optimize

    p = np.asarray(cluster_probabilities, np.float64)
    class_ids = np.asarray(class_ids)
    if p.shape[1] < num_classes:
        raise UserError(f"{p.shape[1]} mixture components cannot be matched one to one with "
                        f"{num_classes} classes")
    mass = np.stack([p[class_ids == y].sum(axis=0) for y in range(num_classes)])
    rows, cols = scipy.optimize.linear_sum_assignment(-mass)
    return cols[np.argsort(rows)]


def pi_error(estimated, true, assignment=None) -> dict:
    """{"pi_l1": sum |pi_hat - pi|, "pi_max_abs": max |pi_hat - pi|} after matching components.

    Cluster indices are arbitrary, so components are matched to classes first: by `assignment`
    (assignment[y] = cluster of class y, e.g. ICFID's) when given, else by sorting both vectors
    in decreasing order (the matching that minimises both errors). Both vectors are normalised
    to sum 1 first.
    """
    estimated, true = np.asarray(estimated, np.float64), np.asarray(true, np.float64)
    if estimated.ndim != 1 or true.ndim != 1 or (estimated < 0).any() or (true < 0).any():
        raise UserError("pi error needs two non-negative proportion vectors")
    estimated, true = estimated / estimated.sum(), true / true.sum()
    if assignment is None:
        if len(estimated) != len(true):
            raise UserError(f"{len(estimated)} learned proportions vs {len(true)} true ratios: "
                            "give the true ratios for every component (or a class-cluster assignment)")
        matched, reference = np.sort(estimated)[::-1], np.sort(true)[::-1]
    else:
        assignment = np.asarray(assignment)
        if len(assignment) != len(true) or len(set(assignment.tolist())) != len(assignment):
            raise ValueError("assignment must map each class to its own cluster")
        matched, reference = estimated[assignment], true
    gap = np.abs(matched - reference)
    return {"pi_l1": float(gap.sum()), "pi_max_abs": float(gap.max())}
