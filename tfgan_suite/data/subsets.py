"""Class subsets and imbalance ratios (SLOGAN's MNIST-2, FMNIST-5, CIFAR-2; SLOGAN Sec. 4.1).

A subset is a tuple of *groups*; each group is a tuple of original class labels that
becomes one new class (FMNIST-5 merges {T-shirt/top, Dress} into one group). New class
ids are group positions 0..K-1, and labels become one-hot over the groups.

`ratio` imposes an imbalance r_0 : r_1 : ... by subsampling: the class that limits the
ratio (the one with the fewest examples per unit of ratio; on balanced data the class with
the largest ratio) keeps all its n_j examples and class i keeps floor(n_j * r_i / r_j),
chosen by a seeded permutation. With 6,000 frogs and 6,000 planes, CIFAR-2 (7:3) keeps all
frogs and int(6000 * 3 / 7) = 2,571 planes, as the original SLOGAN code does.
"""

from __future__ import annotations

import dataclasses
import fractions
from typing import Optional, Sequence

import numpy as np

from tfgan_suite.data.base import ArraySource, DatasetInfo
from tfgan_suite.errors import UserError


def parse_numbers(value, option: str, cast=int) -> Optional[tuple]:
    """None, a sequence, or a string such as "7:3" / "0,4" -> tuple of numbers (or None)."""
    if value is None:
        return None
    items = value.replace(":", ",").split(",") if isinstance(value, str) else list(value)
    try:
        numbers = tuple(cast(str(v).strip()) if isinstance(v, str) else cast(v) for v in items)
    except (TypeError, ValueError):
        raise UserError(f"option {option}={value!r}: expected numbers such as 7,3") from None
    if not numbers:
        raise UserError(f"option {option} is empty: give at least one number")
    return numbers


def parse_groups(value, option: str) -> Optional[tuple]:
    """Class groups from (0, 4), ((0, 3), (1,)) or a string "0,4" / "1,8,0+3" ('+' merges)."""
    if value is None:
        return None
    if isinstance(value, str):
        items = [item.split("+") for item in value.split(",")]
    else:
        items = [v if isinstance(v, (tuple, list)) else (v,) for v in value]
    try:
        groups = tuple(tuple(int(str(c).strip()) for c in item) for item in items)
    except (TypeError, ValueError):
        raise UserError(f"option {option}={value!r}: expected class numbers such as 0,4 "
                        "(join classes into one group with '+', e.g. 0+3)") from None
    flat = [c for g in groups for c in g]
    if not flat or len(set(flat)) != len(flat):
        raise UserError(f"option {option}={value!r}: give each class at most once")
    return groups


def check_groups(groups: tuple, num_classes: int, option: str = "classes") -> None:
    bad = [c for g in groups for c in g if not 0 <= c < num_classes]
    if bad:
        raise UserError(f"option {option}: classes {bad} do not exist; valid classes are "
                        f"0..{num_classes - 1}")


def check_ratio(ratio: Optional[tuple], num_groups: int) -> None:
    if ratio is None:
        return
    if len(ratio) != num_groups:
        raise UserError(f"option ratio={ratio} has {len(ratio)} entries but the subset has "
                        f"{num_groups} classes: give one ratio per class")
    if any(r <= 0 for r in ratio):
        raise UserError(f"option ratio={ratio}: every entry must be positive")


def imbalanced_counts(sizes: Sequence[int], ratio: Sequence[float]) -> list:
    """How many examples each class keeps so that the counts follow `ratio` (see module doc)."""
    r = [fractions.Fraction(x).limit_denominator(10**6) for x in ratio]
    j = min(range(len(sizes)), key=lambda i: fractions.Fraction(sizes[i]) / r[i])
    # j is the limiting class, so sizes[j] * r_i / r_j <= sizes[i] for every i.
    return [int(sizes[j] * r[i] / r[j]) for i in range(len(sizes))]


def subset_indices(class_labels: np.ndarray, groups: tuple, ratio: Optional[tuple] = None,
                   seed: int = 0) -> tuple:
    """(indices kept, in dataset order; new class id of each kept example)."""
    members = [np.flatnonzero(np.isin(class_labels, g)) for g in groups]
    empty = [g for g, m in zip(groups, members) if len(m) == 0]
    if empty:
        raise UserError(f"the data holds no examples of classes {empty}; check option classes")
    if ratio is not None:
        counts = imbalanced_counts([len(m) for m in members], ratio)
        rng = np.random.default_rng(seed)
        members = [np.sort(rng.permutation(m)[:k]) for m, k in zip(members, counts)]
    new_ids = np.concatenate([np.full(len(m), k, np.int32) for k, m in enumerate(members)])
    indices = np.concatenate(members)
    order = np.argsort(indices, kind="stable")
    return indices[order], new_ids[order]


def group_names(groups: tuple, class_names: Sequence[str]) -> tuple:
    return tuple("+".join(class_names[c] for c in g) for g in groups)


def class_subset_source(info: DatasetInfo, examples: np.ndarray, class_labels: np.ndarray,
                        groups: tuple, ratio: Optional[tuple], seed: int) -> ArraySource:
    """The examples of `groups` (imbalanced by `ratio`) with one-hot labels over the groups."""
    indices, ids = subset_indices(np.asarray(class_labels), groups, ratio, seed)
    labels = np.eye(len(groups), dtype=np.float32)[ids]
    return ArraySource(info, np.ascontiguousarray(examples[indices]), labels, ids)


@dataclasses.dataclass(frozen=True)
class ClassSubsetOptions:
    """Options of the ten-class datasets (MNIST, Fashion-MNIST, CIFAR-10).

    classes: the classes to keep, in the order of the new class ids (default all ten); '+'
        merges classes into one, e.g. "0+3,1". ratio: imbalance between them, e.g. (7, 3), or
        None to keep every example. subset_seed: seed of the subsampling.
    """

    classes: Optional[tuple] = None
    ratio: Optional[tuple] = None
    subset_seed: int = 0

    def __post_init__(self):
        groups = parse_groups(self.classes, "classes") or tuple((c,) for c in range(10))
        check_groups(groups, 10)
        ratio = parse_numbers(self.ratio, "ratio", float)
        check_ratio(ratio, len(groups))
        object.__setattr__(self, "classes", groups)
        object.__setattr__(self, "ratio", ratio)
        object.__setattr__(self, "subset_seed", int(self.subset_seed))
