"""Critic regularisers as plain functions, chosen by name in `get_penalty`.

Each takes the critic as a callable `critic(x) -> scores` (condition inputs already bound)
and returns a scalar to be added (times its weight) to the critic loss.

Randomness: every penalty takes `seed`, a stateless shape-[2] integer seed; the train steps
pass one drawn from a checkpointed stream, so a resumed run draws the same eps as an
uninterrupted one. seed=None falls back to TensorFlow's global (stateful) random ops.
"""

from __future__ import annotations

import tensorflow as tf

from tfgan_suite import randomness

# Inside the square root of gradient norms: keeps the gradient of the norm finite at 0
# (the keras-io WGAN-GP example omits it and can produce NaN).
NORM_EPS = 1e-12


def _batch_shape_ones(x):
    """[B, 1, 1, ...] matching x's rank: one random value per example."""
    return tf.concat([tf.shape(x)[:1], tf.ones([tf.rank(x) - 1], tf.int32)], axis=0)


def interpolates(real, fake, per_sample=True, eps=None, seed=None):
    """x_hat = eps * real + (1 - eps) * fake, eps ~ U(0, 1) (Gulrajani et al., Alg. 1 line 6).

    per_sample=False draws ONE eps for the whole batch, as the original cWGAN code does.
    `eps` may be given (shape [B, 1, ...] or scalar) to make the penalty reproducible in tests.
    """
    real, fake = tf.convert_to_tensor(real), tf.convert_to_tensor(fake)
    if eps is None:
        shape = _batch_shape_ones(real) if per_sample else tf.ones([tf.rank(real)], tf.int32)
        eps = randomness.uniform(shape, seed, dtype=real.dtype, per_example=per_sample)
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


def gradient_penalty(critic, real, fake, original_cwgan=False, eps=None, seed=None):
    """WGAN-GP penalty E[(||grad_x_hat D(x_hat)||_2 - 1)^2] (Fabbri Eq. 5, last term).

    Correct (default): one eps per example, norm over all image axes -> one norm per example.
    original_cwgan=True reproduces cameronfabbri/cWGANs: one eps for the whole batch and the
    norm taken over axis 1 only (image height), giving [B, W, C] "slopes" that are averaged.
    """
    x_hat = interpolates(real, fake, per_sample=not original_cwgan, eps=eps, seed=seed)
    grads = critic_input_gradients(critic, x_hat)
    norms = gradient_norms(grads, norm_axes=1 if original_cwgan else None)
    return tf.reduce_mean(tf.square(norms - 1.0))


def lipschitz_penalty(critic, real, fake, seed=None):
    """LP (Petzka et al. 2018): E[max(0, ||grad_x_hat D(x_hat)||_2 - 1)^2] on interpolates.

    Used by SLOGAN for synthetic, MNIST and FMNIST data (Appendix E; shinyflight/SLOGAN).
    """
    x_hat = interpolates(real, fake, seed=seed)
    norms = gradient_norms(critic_input_gradients(critic, x_hat))
    return tf.reduce_mean(tf.square(tf.nn.relu(norms - 1.0)))


def r1_penalty(critic, real, return_scores=False):
    """R1 (Mescheder et al. 2018, Eq. 9 without the 1/2): E_b[ sum ||grad_x D(x)||^2 ] on real
    images, as InfoSCC-GAN's r1_loss and GAN_stability's compute_grad2 (ID-GAN); the caller
    multiplies by its weight (10 in both).

    `critic` maps the real batch to scores (any augmentation inside it is differentiated
    through, as the original differentiates D(augment(x)) w.r.t. x). return_scores: also the
    scores of that pass, (scores, penalty), for a loss on the same forward pass."""
    real = tf.convert_to_tensor(real)
    with tf.GradientTape() as tape:
        tape.watch(real)
        scores = critic(real)
        total = tf.reduce_sum(scores)   # the sum makes each example's gradient its own
    grads = tape.gradient(total, real)
    penalty = tf.reduce_mean(tf.reduce_sum(tf.square(tf.reshape(grads, [tf.shape(grads)[0], -1])),
                                           axis=1))
    return (scores, penalty) if return_scores else penalty


def _per_example_norms(x):
    """||x_n||_2 over all non-batch axes, [N] (the original's stable_norm, no epsilon)."""
    return tf.norm(tf.reshape(x, [tf.shape(x)[0], -1]), axis=1)


def _normalise_per_example(x):
    """x_n / max(||x_n||_2, 1e-10), as the original ALP code's normalize."""
    norms = tf.maximum(_per_example_norms(x), 1e-10)
    return x / tf.reshape(norms, _batch_shape_ones(x))


def alp_direction(critic, samples, scores, direction, xi=10.0, power_iterations=1):
    """Adversarial direction of ALP (Terjek 2019) by power iteration from `direction`.

    scores = critic(samples), flattened to [N]. Each iteration: x' = clip(x + xi d, -1, 1),
    d <- normalise(grad_d mean|D(x) - D(x')|), the gradient stop-gradient'ed as in the SLOGAN
    CIFAR code, so the critic's update never differentiates through the choice of direction.
    Returns unit-norm directions per example.
    """
    d = _normalise_per_example(direction)
    for _ in range(power_iterations):
        with tf.GradientTape() as tape:
            tape.watch(d)
            moved = tf.clip_by_value(samples + xi * d, -1.0, 1.0)
            distance = tf.reduce_mean(tf.abs(scores - tf.reshape(critic(moved), [-1])))
        d = _normalise_per_example(tf.stop_gradient(tape.gradient(distance, d)))
    return d


def alp_from_perturbation(critic, samples, scores, perturbation):
    """mean(max(|D(x) - D(x_hat)| / ||x - x_hat||_2 - 1, 0)^2), x_hat = clip(x + r, -1, 1).

    scores = critic(samples) flattened to [N]. The norm is floored at 1e-10 as in the original;
    Lipschitz constant K = 1, p = 2.
    """
    samples_hat = tf.clip_by_value(samples + perturbation, -1.0, 1.0)
    distances = tf.maximum(_per_example_norms(samples - samples_hat), 1e-10)
    score_gaps = tf.abs(scores - tf.reshape(critic(samples_hat), [-1]))
    return tf.reduce_mean(tf.square(tf.nn.relu(score_gaps / distances - 1.0)))


def adversarial_lipschitz_penalty(critic, real, fake, xi=10.0, eps_min=0.1, eps_max=10.0,
                                  power_iterations=1, seed=None):
    """ALP (Terjek 2019, "Adversarial Lipschitz Regularization") as SLOGAN's CIFAR code.

    samples = concat(real, fake); d ~ U(-0.5, 0.5) normalised; `power_iterations` steps with xi
    (alp_direction); r = d * eps, eps ~ U(eps_min, eps_max) per example; then
    mean(max(|D(x) - D(x_hat)| / ||x - x_hat|| - 1, 0)^2), x_hat = clip(x + r, -1, 1).
    The caller applies the weight (10 in SLOGAN). Inputs are expected in [-1, 1].
    D(samples) is evaluated once and shared (the original evaluates it twice, same values).
    """
    samples = tf.concat([real, fake], axis=0)
    scores = tf.reshape(critic(samples), [-1])
    seed_start, seed_eps = randomness.split(seed, 2)
    # samples = [real; fake]: two blocks of examples (randomness.uniform's `blocks`).
    start = randomness.uniform(tf.shape(samples), seed_start, dtype=samples.dtype, blocks=2) - 0.5
    eps = randomness.uniform(_batch_shape_ones(samples), seed_eps, eps_min, eps_max,
                             dtype=samples.dtype, blocks=2)
    direction = alp_direction(critic, samples, scores, start, xi, power_iterations)
    return alp_from_perturbation(critic, samples, scores, direction * eps)


PENALTIES = {
    "gp": gradient_penalty,
    "lp": lipschitz_penalty,
    "alp": adversarial_lipschitz_penalty,
}


def get_penalty(name):
    """The penalty function registered under `name` (see PENALTIES)."""
    try:
        return PENALTIES[name]
    except KeyError:
        raise ValueError(f"unknown penalty {name!r}; choose one of {sorted(PENALTIES)}") from None
