"""Critic regularisers as plain functions, chosen by name in `get_penalty`.

Each takes the critic as a callable `critic(x) -> scores` (condition inputs already bound)
and returns a scalar to be added (times its weight) to the critic loss.
"""

from __future__ import annotations

import tensorflow as tf

# Inside the square root of gradient norms: keeps the gradient of the norm finite at 0
# (the keras-io WGAN-GP example omits it and can produce NaN).
NORM_EPS = 1e-12


def _batch_shape_ones(x):
    """[B, 1, 1, ...] matching x's rank: one random value per example."""
    return tf.concat([tf.shape(x)[:1], tf.ones([tf.rank(x) - 1], tf.int32)], axis=0)


def interpolates(real, fake, per_sample=True, seed=None):
    """x_hat = eps * real + (1 - eps) * fake, eps ~ U(0, 1) (Gulrajani et al., Alg. 1 line 6).

    per_sample=False draws ONE eps for the whole batch, as the original cWGAN code does.
    """
    shape = _batch_shape_ones(real) if per_sample else tf.ones([tf.rank(real)], tf.int32)
    eps = tf.random.uniform(shape, dtype=real.dtype, seed=seed)
    return eps * real + (1.0 - eps) * fake


def critic_input_gradients(critic, x_hat):
    """d sum(D(x_hat)) / d x_hat (the sum makes each example's gradient its own)."""
    with tf.GradientTape() as tape:
        tape.watch(x_hat)
        total = tf.reduce_sum(critic(x_hat))
    return tape.gradient(total, x_hat)


def gradient_norms(grads, norm_axes=None):
    """L2 norm of each example's gradient over `norm_axes` (default: all non-batch axes)."""
    if norm_axes is None:
        norm_axes = tf.range(1, tf.rank(grads))
    return tf.sqrt(tf.reduce_sum(tf.square(grads), axis=norm_axes) + NORM_EPS)


def gradient_penalty(critic, real, fake, original_cwgan=False):
    """WGAN-GP penalty E[(||grad_x_hat D(x_hat)||_2 - 1)^2] (Fabbri Eq. 5, last term).

    Correct (default): one eps per example, norm over all image axes -> one norm per example.
    original_cwgan=True reproduces cameronfabbri/cWGANs: one eps for the whole batch and the
    norm taken over axis 1 only (image height), giving [B, W, C] "slopes" that are averaged.
    """
    x_hat = interpolates(real, fake, per_sample=not original_cwgan)
    grads = critic_input_gradients(critic, x_hat)
    norms = gradient_norms(grads, norm_axes=1 if original_cwgan else None)
    return tf.reduce_mean(tf.square(norms - 1.0))


def lipschitz_penalty(critic, real, fake):
    """LP (Petzka et al.): E[max(0, ||grad_x_hat D(x_hat)||_2 - 1)^2] on interpolates.

    Used by SLOGAN for synthetic, MNIST and FMNIST data (slogan_original.md, Discriminator).
    """
    x_hat = interpolates(real, fake)
    norms = gradient_norms(critic_input_gradients(critic, x_hat))
    return tf.reduce_mean(tf.square(tf.nn.relu(norms - 1.0)))


PENALTIES = {
    "gp": gradient_penalty,
    "lp": lipschitz_penalty,
}


def get_penalty(name):
    """The penalty function registered under `name` (see PENALTIES)."""
    try:
        return PENALTIES[name]
    except KeyError:
        raise ValueError(f"unknown penalty {name!r}; choose one of {sorted(PENALTIES)}") from None
