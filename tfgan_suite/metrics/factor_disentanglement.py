"""Disentanglement metrics with the definitions of disentanglement_lib (Locatello et al. 2019,
google-research/disentanglement_lib), the ones ID-GAN reports (Lee et al. 2020, Appendix C.1).

MIG (Chen et al. 2018; disentanglement_lib mig.py): representations (encoder means) of
  `num_train` points with random factors; each code dimension discretised into 20 equal-width
  bins over its range; m[i, k] = I(code_i; factor_k) (scikit-learn mutual_info_score, nats);
  MIG = mean over factors k of (largest - second largest m[., k]) / H(factor_k).
FactorVAE metric (Kim & Mnih 2018; disentanglement_lib factor_vae.py): global variances of the
  code dimensions from `num_variance_estimate` random points; dimensions with standard deviation
  < 0.05 are pruned (if none is left the score is 0). A vote: pick a factor k, draw a batch of
  `batch_size` points sharing one value of k, normalise the batch's code variances by the global
  ones, vote (argmin over the active dimensions, factor k). The majority-vote classifier maps
  each dimension to its most voted factor; the score is its accuracy on `num_eval` fresh votes
  (the training accuracy is reported too). As disentanglement_lib, the argmin indexes the
  active dimensions only.

Factors are sampled uniformly from the whole grid. `represent(classes) -> codes [N, D]` is the
caller's: images of those factor classes through the model's encoder.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
from sklearn.metrics import mutual_info_score

MIG_BINS = 20
PRUNE_STD = 0.05


def sample_factors(sizes: Sequence[int], n: int, rng) -> np.ndarray:
    """int64 [n, len(sizes)] factor classes drawn uniformly from the grid."""
    return np.stack([rng.integers(0, size, n) for size in sizes], axis=1)


def histogram_discretize(codes: np.ndarray, bins: int = MIG_BINS) -> np.ndarray:
    """Each column of codes [N, D] as bin numbers of `bins` equal-width bins over its range
    (disentanglement_lib's _histogram_discretize: np.digitize against the histogram's left
    edges, so values are 1..bins)."""
    codes = np.asarray(codes, np.float64)
    out = np.zeros(codes.shape, np.int64)
    for j in range(codes.shape[1]):
        edges = np.histogram(codes[:, j], bins)[1][:-1]
        out[:, j] = np.digitize(codes[:, j], edges)
    return out


def mutual_information(discrete_codes: np.ndarray, factors: np.ndarray) -> np.ndarray:
    """m [D, K]: I(code_i; factor_k) in nats."""
    return np.array([[mutual_info_score(factors[:, k], discrete_codes[:, i])
                      for k in range(factors.shape[1])] for i in range(discrete_codes.shape[1])])


def mig(codes: np.ndarray, factors: np.ndarray, bins: int = MIG_BINS) -> dict:
    """{"mig": float, "per_factor": [K], "mutual_information": [D][K]} of codes [N, D] and
    their ground-truth factor classes [N, K]."""
    codes, factors = np.asarray(codes), np.asarray(factors)
    if codes.shape[1] < 2:
        raise ValueError("MIG needs at least two code dimensions")
    m = mutual_information(histogram_discretize(codes, bins), factors)
    entropy = np.array([mutual_info_score(factors[:, k], factors[:, k])
                        for k in range(factors.shape[1])])
    top = np.sort(m, axis=0)[::-1]
    per_factor = (top[0] - top[1]) / entropy
    return {"mig": float(per_factor.mean()), "per_factor": per_factor.tolist(),
            "mutual_information": m.tolist()}


def _votes(represent, sizes, global_var, active, num_votes, batch_size, rng,
           votes_per_call=16) -> np.ndarray:
    """votes [D, K]: (argmin over active dims of normalised variance, fixed factor) counts."""
    dims, k_count = len(global_var), len(sizes)
    votes = np.zeros((dims, k_count), np.int64)
    done = 0
    while done < num_votes:
        chunk = min(votes_per_call, num_votes - done)
        fixed = rng.integers(0, k_count, chunk)
        classes = sample_factors(sizes, chunk * batch_size, rng).reshape(chunk, batch_size, -1)
        for v in range(chunk):
            classes[v, :, fixed[v]] = classes[v, 0, fixed[v]]
        codes = np.asarray(represent(classes.reshape(chunk * batch_size, -1)), np.float64)
        codes = codes.reshape(chunk, batch_size, dims)
        for v in range(chunk):
            local = np.var(codes[v], axis=0, ddof=1)
            argmin = int(np.argmin(local[active] / global_var[active]))
            votes[argmin, fixed[v]] += 1
        done += chunk
    return votes


def factor_vae_score(represent: Callable, sizes: Sequence[int], seed: int = 0,
                     batch_size: int = 64, num_train: int = 10_000, num_eval: int = 5_000,
                     num_variance_estimate: int = 10_000) -> dict:
    """{"fvm": eval accuracy, "fvm_train": train accuracy, "active_dims": int, ...}."""
    rng = np.random.default_rng(seed)
    codes = np.asarray(represent(sample_factors(sizes, num_variance_estimate, rng)), np.float64)
    global_var = np.var(codes, axis=0, ddof=1)
    active = np.sqrt(global_var) >= PRUNE_STD
    if not active.any():
        return {"fvm": 0.0, "fvm_train": 0.0, "active_dims": 0}
    train = _votes(represent, sizes, global_var, active, num_train, batch_size, rng)
    classifier = np.argmax(train, axis=1)
    rows = np.arange(len(classifier))
    train_accuracy = train[rows, classifier].sum() / train.sum()
    evaluation = _votes(represent, sizes, global_var, active, num_eval, batch_size, rng)
    eval_accuracy = evaluation[rows, classifier].sum() / evaluation.sum()
    return {"fvm": float(eval_accuracy), "fvm_train": float(train_accuracy),
            "active_dims": int(active.sum()), "classifier": classifier.tolist()}
