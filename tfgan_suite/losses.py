"""Adversarial losses as plain functions of critic scores, chosen by name in `get_loss`.

Each loss maps (scores on real, scores on fake) to (critic loss, generator loss).
Scores are raw critic outputs (logits for the sigmoid losses); every element of the
score tensors is averaged, as the original code does with its 4x4 critic map.
"""

from __future__ import annotations

import collections

import tensorflow as tf

AdversarialLoss = collections.namedtuple("AdversarialLoss", "critic generator")

# The original cWGAN code's log(x + 1e-12) for the vanilla GAN loss.
LOG_EPS = 1e-12


def wasserstein(real_scores, fake_scores):
    """WGAN critic loss E[D(G(z))] - E[D(x)] (Fabbri Eq. 5 without the penalty); G: -E[D(G(z))].

    The original writes errD = E[D(x)] - E[D(G(z))], errG = E[D(G(z))]: the same game with the
    critic's sign flipped. We use the common convention so that "D(real)" is large.
    """
    critic = tf.reduce_mean(fake_scores) - tf.reduce_mean(real_scores)
    return AdversarialLoss(critic, -tf.reduce_mean(fake_scores))


def vanilla_gan(real_scores, fake_scores):
    """Original GAN (Goodfellow) with the non-saturating generator loss, as cameronfabbri/cWGANs:
    sigmoid, then -log(p + 1e-12)."""
    p_real, p_fake = tf.sigmoid(real_scores), tf.sigmoid(fake_scores)
    critic = -tf.reduce_mean(tf.math.log(p_real + LOG_EPS) + tf.math.log(1.0 - p_fake + LOG_EPS))
    return AdversarialLoss(critic, -tf.reduce_mean(tf.math.log(p_fake + LOG_EPS)))


def least_squares(real_scores, fake_scores):
    """LSGAN (Mao et al.) as the original: sigmoid outputs, 0.5 * squared error to 1 / 0."""
    p_real, p_fake = tf.sigmoid(real_scores), tf.sigmoid(fake_scores)
    critic = 0.5 * (tf.reduce_mean(tf.square(p_real - 1.0)) + tf.reduce_mean(tf.square(p_fake)))
    return AdversarialLoss(critic, 0.5 * tf.reduce_mean(tf.square(p_fake - 1.0)))


def hinge(real_scores, fake_scores):
    """Hinge loss E[relu(1 - D(x))] + E[relu(1 + D(G(z)))]; G: -E[D(G(z))] (SLOGAN synthetic)."""
    critic = tf.reduce_mean(tf.nn.relu(1.0 - real_scores)) + tf.reduce_mean(tf.nn.relu(1.0 + fake_scores))
    return AdversarialLoss(critic, -tf.reduce_mean(fake_scores))


LOSSES = {
    "wgan": wasserstein,
    "gan": vanilla_gan,
    "lsgan": least_squares,
    "hinge": hinge,
}


WASSERSTEIN_LOSS = "wgan"   # the one loss whose d_real - d_fake estimates a distance


def score_logs(loss_name, real_scores, fake_scores) -> dict:
    """Mean critic scores on real and fake; for the WGAN loss also their difference, the critic's
    estimate of the Wasserstein-1 distance (Arjovsky et al. Eq. 3), which has no such meaning
    for the other losses and is not logged for them."""
    d_real, d_fake = tf.reduce_mean(real_scores), tf.reduce_mean(fake_scores)
    logs = {"d_real": d_real, "d_fake": d_fake}
    if loss_name == WASSERSTEIN_LOSS:
        logs["wasserstein"] = d_real - d_fake
    return logs


def logged_names(loss_name, names) -> tuple:
    """`names` without "wasserstein" unless the loss is WGAN's (see score_logs)."""
    return tuple(n for n in names if n != "wasserstein" or loss_name == WASSERSTEIN_LOSS)


def get_loss(name):
    """The loss function registered under `name` (see LOSSES)."""
    try:
        return LOSSES[name]
    except KeyError:
        raise ValueError(f"unknown loss {name!r}; choose one of {sorted(LOSSES)}") from None
