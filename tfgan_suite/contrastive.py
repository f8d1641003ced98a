"""SLOGAN's contrastive losses and schedules (Hwang et al., Sec. 3.3, App. D.1, D.2, D.4).

- U2C loss (Eq. 66 = Eq. 10 with scale s and additive angular margin m) between encoded generated
  samples and soft prototypes mu_C = C @ mu, C = Gumbel-Softmax_tau(log q(c|z)) (Sec. 3.3).
- Cluster probabilities of real data (Eq. 67), SimCLR on generated data (Eq. 68 as the original).
- The original's linear schedules for lambda, the margin and the learning rates.
Numerics follow the original code (shinyflight/SLOGAN, its U2C loss): exp, mean, clip, -log.
"""

from __future__ import annotations

import math

import tensorflow as tf
import tensorflow_probability as tfp

from tfgan_suite import replicas

tfd = tfp.distributions

# The original clips the U2C/SimCLR denominators and ratios to [1e-10, 1e10] before the log.
CLIP_MIN, CLIP_MAX = 1e-10, 1e10


def soft_assignments(log_responsibilities, temperature, seed=None):
    """C = Gumbel-Softmax_tau(log q(c|z)) (Jang et al. 2017; Sec. 3.3), [B, K], soft (hard=False).

    Reparameterised: gradients reach the logits, hence z through log q(c|z). `seed` as accepted
    by tfp (None, an int, or a stateless shape-[2] seed).
    """
    if seed is None:
        relaxed = tfd.RelaxedOneHotCategorical(temperature=temperature,
                                               logits=log_responsibilities)
        return relaxed.sample()

    def draw(rows):
        # Under tf.distribute: this replica's logits repeated over the global batch, so the
        # Gumbel noise at its rows is what one device would add to them (replicas.per_example).
        logits = tf.tile(log_responsibilities, [rows // tf.shape(log_responsibilities)[0], 1])
        return tfd.RelaxedOneHotCategorical(temperature=temperature, logits=logits).sample(
            seed=seed)
    return replicas.per_example(draw, tf.shape(log_responsibilities)[0])


def _own_columns(matrix, offset):
    """[b, B] one-hot of column offset + i in row i: each example's own (positive) column when
    the columns are the global batch and this replica's rows start at `offset`."""
    rows = tf.shape(matrix)[0]
    return tf.one_hot(offset + tf.range(rows), tf.shape(matrix)[1], dtype=matrix.dtype)


def cosine_similarity_matrix(u, v):
    """cos(u_i, v_j), [N, M] (l2_normalize with TF's epsilon 1e-12, as the original)."""
    return tf.matmul(tf.math.l2_normalize(u, axis=1), tf.math.l2_normalize(v, axis=1),
                     transpose_b=True)


def additive_angular_margin(cos, scale, margin):
    """s * cos(theta + m) (ArcFace; App. D.1), with the original's fallback s * (cos - m sin m)
    where cos <= cos(pi - m) (there theta + m would pass pi and cos(theta + m) turn back up).

    sin(theta) = sqrt(clip(1 - cos^2, 1e-10, 1e10)) as the original (finite gradient at |cos| = 1).
    """
    margin = tf.cast(margin, cos.dtype)
    sin = tf.sqrt(tf.clip_by_value(1.0 - tf.square(cos), CLIP_MIN, CLIP_MAX))
    with_margin = scale * (cos * tf.cos(margin) - sin * tf.sin(margin))
    fallback = scale * (cos - tf.sin(margin) * margin)
    return tf.where(cos > tf.cos(math.pi - margin), with_margin, fallback)


def u2c_loss(features, mu, assignments, scale, margin):
    """U2C loss of Eq. 66; returns (batch mean, per-sample values [B]).

    l_i = -log( exp(s cos(theta_ii + m))
                / (1/B {exp(s cos(theta_ii + m)) + sum_{j!=i} exp(s cos theta_ij)}) )
    with cos theta_ij = cos(e_i, mu_C^j), e = E(G(z)) [B, e_dim], mu_C = assignments @ mu.
    Denominator and ratio clipped to [1e-10, 1e10] as the original. The original passes
    margin = m * temp (decayed) and keeps s constant.
    """
    # Under tf.distribute the j run over the global batch (replicas.gather).
    prototypes, offset = replicas.gather(tf.matmul(assignments, mu))
    cos = cosine_similarity_matrix(features, prototypes)                      # [B, B]
    own = _own_columns(cos, offset)
    positive = tf.exp(additive_angular_margin(tf.reduce_sum(cos * own, axis=1), scale, margin))
    negatives = tf.reduce_sum(tf.exp(scale * cos) * (1.0 - own), axis=1)
    batch = tf.cast(tf.shape(cos)[1], cos.dtype)
    denominator = tf.clip_by_value((positive + negatives) / batch, CLIP_MIN, CLIP_MAX)
    per_sample = -tf.math.log(tf.clip_by_value(positive / denominator, CLIP_MIN, CLIP_MAX))
    return tf.reduce_mean(per_sample), per_sample


def cluster_probabilities(features, mu, scale=1.0):
    """p(c | x) = softmax_c(scale * cos(E(x), mu_c)), [N, K] (Eq. 67, App. D.2).

    The paper and the original (prob_test = softmax(cos(E(x), mu))) use no scale: keep 1.0 to
    reproduce their NMI; argmax (cluster assignment) does not depend on it.
    """
    return tf.nn.softmax(scale * cosine_similarity_matrix(features, mu), axis=1)


def simclr_loss(features, features_augmented, exclude_positive=True):
    """SimCLR on generated data (App. D.4), temperature 1, no projection head; (mean, per-sample).

    l_i = -log( exp(cos(e_i, e'_i)) / sum_j exp(cos(e_i, e'_j)) ), e' = E(DiffAugment(G(z))).
    exclude_positive=True (default) follows the original code: the sum runs over j != i.
    False gives Eq. 68 of the paper, whose sum runs over all j (positive included).
    Denominator and ratio clipped to [1e-10, 1e10] as the original.
    """
    # Under tf.distribute the j run over the global batch (replicas.gather).
    features_augmented, offset = replicas.gather(features_augmented)
    similarity = tf.exp(cosine_similarity_matrix(features, features_augmented))   # [B, B]
    own = _own_columns(similarity, offset)
    positive = tf.reduce_sum(similarity * own, axis=1)
    terms = similarity
    if exclude_positive:
        terms = similarity * (1.0 - own)
    denominator = tf.clip_by_value(tf.reduce_sum(terms, axis=1), CLIP_MIN, CLIP_MAX)
    per_sample = -tf.math.log(tf.clip_by_value(positive / denominator, CLIP_MIN, CLIP_MAX))
    return tf.reduce_mean(per_sample), per_sample


def linear_anneal(step, total_steps, start=1.0, end=0.0):
    """temp = max(0, start + step * (end - start) / total_steps), the original's schedule for
    lambda and the margin (both multiplied by temp). CIFAR: 1 -> 0 over the run; synthetic:
    end = -4, so temp reaches 0 at 20% of the run and stays there."""
    step = tf.cast(step, tf.float32)
    return tf.maximum(0.0, start + step * (end - start) / tf.cast(total_steps, tf.float32))


def learning_rate_decay(step, total_steps):
    """decay = max(0, 1 - step / total_steps): the factor on every learning rate of the original
    (Adam for G, E, D and the Stein steps on mu, Sigma, rho)."""
    return linear_anneal(step, total_steps, start=1.0, end=0.0)
