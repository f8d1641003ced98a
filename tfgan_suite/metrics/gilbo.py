"""GILBO (Alemi & Fischer, "GILBO: One Metric to Measure Them All", NeurIPS 2018), the
generative lower bound on the mutual information I(c; G(s, c)) that ID-GAN reports (Table 3).

  GILBO = E_{c ~ p(c), s ~ p(s)} [ log e(c | G(s, c)) - log p(c) ]   (nats; <= I(c; x) <= H(c))

with e a fresh encoder trained to maximise E[log e(c | G(s, c))] on the generator's own samples
(the generator is fixed). Here e is the beta-VAE encoder architecture (Conv 32-32-64-64-256,
Dense 2c; Gaussian output N(mu, diag exp(logvar))), trained with Adam for `steps` batches of
fresh samples, then the bound is averaged over `eval_samples` new samples. The original trains
e to convergence; with fewer steps the value is a looser (lower) bound, so the steps are part of
what is reported.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

LEARNING_RATE = 1e-3


def log_normal(c, mu, logvar):
    """log N(c; mu, diag exp(logvar)) summed over dimensions, [N]."""
    return -0.5 * np.sum(math.log(2 * math.pi) + logvar + (c - mu) ** 2 / np.exp(logvar), axis=1)


def gilbo(generate_with_codes: Callable, image_shape, c_dim: int, steps: int = 2000,
          batch_size: int = 64, eval_samples: int = 10_000, seed: int = 0) -> dict:
    """{"gilbo": nats, "train_nll": last batch's -log e(c|x), "steps", "eval_samples"}.

    generate_with_codes(n) -> (c [n, c_dim] ~ N(0, I), images [n, H, W, C] in [-1, 1])."""
    import keras
    import tensorflow as tf

    from tfgan_suite.models.betavae import gaussian_nll, to_unit_range
    from tfgan_suite.nets.idgan_nets import vae_encoder

    keras.utils.set_random_seed(seed)
    encoder = vae_encoder(tuple(image_shape), c_dim, name="gilbo_encoder")
    optimizer = keras.optimizers.Adam(LEARNING_RATE)

    @tf.function
    def train_step(c, x):
        with tf.GradientTape() as tape:
            mu, logvar = encoder(to_unit_range(x), training=True)
            loss = gaussian_nll(c, mu, logvar)
        grads = tape.gradient(loss, encoder.trainable_variables)
        optimizer.apply_gradients(zip(grads, encoder.trainable_variables))
        return loss

    loss = float("nan")
    for _ in range(steps):
        c, x = generate_with_codes(batch_size)
        loss = float(train_step(tf.constant(c), tf.constant(x)))
    bounds = []
    done = 0
    while done < eval_samples:
        n = min(batch_size * 4, eval_samples - done)
        c, x = generate_with_codes(n)
        mu, logvar = (t.numpy().astype(np.float64) for t in encoder(to_unit_range(x)))
        c = c.astype(np.float64)
        bounds.append(log_normal(c, mu, logvar) - log_normal(c, 0.0, np.zeros_like(c)))
        done += n
    return {"gilbo": float(np.mean(np.concatenate(bounds))), "train_nll": loss,
            "steps": steps, "eval_samples": eval_samples}
