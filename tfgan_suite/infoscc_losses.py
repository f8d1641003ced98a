"""InfoSCC-GAN's adversarial losses (vkinakh/InfoSCC-GAN, src/loss/loss.py), chosen by name.

Each maps (D(x) scores, D(G) scores) to losses.AdversarialLoss(critic, generator); every
element of the score tensors is averaged (the patch discriminator gives a score map).

- hinge: D: E[relu(1 - D(x))] + E[relu(1 + D(G))]; G: E[relu(1 - D(G))] as the original
  (EigenGAN's form; the common -E[D(G)] differs only where D(G) > 1).
- non_saturating: D: E[softplus(-D(x))] + E[softplus(D(G))]; G: E[softplus(-D(G))].
- lsgan: least squares (Mao et al. 2017, a = 0, b = c = 1) on raw scores:
  D: E[(D(x) - 1)^2] + E[D(G)^2]; G: E[(D(G) - 1)^2].
- lsgan_quartic: what the original's "lsgan" computes, torch.square((1 - D)**2), i.e.
  D: E[(1 - D(x))^4] + E[D(G)^4]; G: E[(1 - D(G))^4]. Its AFHQ results (FID 11.59) used it.
"""

from __future__ import annotations

import tensorflow as tf

from tfgan_suite.losses import AdversarialLoss


def hinge(real, fake):
    critic = tf.reduce_mean(tf.nn.relu(1.0 - real)) + tf.reduce_mean(tf.nn.relu(1.0 + fake))
    return AdversarialLoss(critic, tf.reduce_mean(tf.nn.relu(1.0 - fake)))


def non_saturating(real, fake):
    critic = tf.reduce_mean(tf.nn.softplus(-real)) + tf.reduce_mean(tf.nn.softplus(fake))
    return AdversarialLoss(critic, tf.reduce_mean(tf.nn.softplus(-fake)))


def lsgan(real, fake):
    critic = tf.reduce_mean(tf.square(real - 1.0)) + tf.reduce_mean(tf.square(fake))
    return AdversarialLoss(critic, tf.reduce_mean(tf.square(fake - 1.0)))


def lsgan_quartic(real, fake):
    critic = tf.reduce_mean(tf.square(tf.square(1.0 - real))) + \
        tf.reduce_mean(tf.square(tf.square(fake)))
    return AdversarialLoss(critic, tf.reduce_mean(tf.square(tf.square(1.0 - fake))))


LOSSES = {"hinge": hinge, "non_saturating": non_saturating, "lsgan": lsgan,
          "lsgan_quartic": lsgan_quartic}


def get_loss(name):
    try:
        return LOSSES[name]
    except KeyError:
        raise ValueError(f"unknown InfoSCC-GAN loss {name!r}; choose one of {sorted(LOSSES)}") \
            from None
