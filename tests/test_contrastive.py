"""SLOGAN losses against independent NumPy computations: U2C (Eq. 66), cluster probabilities
(Eq. 67), SimCLR (original / Eq. 68), Gumbel-softmax assignments, schedules, and the ALP critic
penalty of the CIFAR code (tfgan_suite/penalties.py)."""

import numpy as np
import pytest
import tensorflow as tf

from tfgan_suite import contrastive, penalties, priors


def unit_rows(x):
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def np_cos(u, v):
    return unit_rows(u) @ unit_rows(v).T


def np_u2c(features, mu, assignments, s, m):
    """Eq. 66 written directly with angles: s cos(arccos(c) + m), ArcFace fallback below pi - m."""
    cos = np_cos(features, assignments @ mu)
    c = np.diag(cos)
    positive = np.where(c > np.cos(np.pi - m), s * np.cos(np.arccos(np.clip(c, -1, 1)) + m),
                        s * (c - np.sin(m) * m))
    b = len(c)
    negatives = [sum(np.exp(s * cos[i, j]) for j in range(b) if j != i) for i in range(b)]
    denominator = (np.exp(positive) + np.array(negatives)) / b
    return -np.log(np.exp(positive) / denominator)


@pytest.fixture
def u2c_inputs():
    rng = np.random.default_rng(0)
    b, k, d = 9, 3, 5
    mu = rng.standard_normal((k, d))
    assignments = rng.dirichlet(np.ones(k) * 0.3, size=b)
    features = rng.standard_normal((b, d))
    # Example 0 points away from its prototype (cos = -1): exercises the ArcFace fallback.
    features[0] = -(assignments[0] @ mu)
    return features, mu, assignments


@pytest.mark.parametrize("scale, margin", [(4.0, 0.5), (2.0, 0.0), (8.0, 0.25)])
def test_u2c_matches_numpy(u2c_inputs, scale, margin):
    features, mu, assignments = u2c_inputs
    mean, per_sample = contrastive.u2c_loss(features, mu, assignments, scale, margin)
    expected = np_u2c(features, mu, assignments, scale, margin)
    np.testing.assert_allclose(per_sample.numpy(), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(mean.numpy(), expected.mean(), rtol=1e-5)


def test_u2c_without_margin_is_eq10_with_scale(u2c_inputs):
    features, mu, assignments = u2c_inputs
    cos = np_cos(features, assignments @ mu)
    eq10 = -np.log(np.exp(3.0 * np.diag(cos)) / np.exp(3.0 * cos).mean(axis=1))
    _, per_sample = contrastive.u2c_loss(features, mu, assignments, 3.0, 0.0)
    np.testing.assert_allclose(per_sample.numpy(), eq10, rtol=1e-6)


def test_additive_angular_margin_branches():
    cos = tf.constant([0.9, 0.0, -0.8, -0.95, -1.0], tf.float64)
    got = contrastive.additive_angular_margin(cos, 2.0, 0.5).numpy()
    theta = np.arccos(cos.numpy())
    threshold = np.cos(np.pi - 0.5)                          # -0.8776
    expected = np.where(cos.numpy() > threshold, 2.0 * np.cos(theta + 0.5),
                        2.0 * (cos.numpy() - 0.5 * np.sin(0.5)))
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-7)


def test_u2c_gradient_reaches_z_through_gumbel_assignment():
    """The Stein update needs dl/dz including the path through log q(c|z) (as shinyflight/SLOGAN)."""
    prior = priors.GaussianMixturePrior(3, 4, seed=1)
    z, _ = prior.sample(16, seed=[0, 1])
    features = tf.random.stateless_normal([16, 4], seed=[0, 2])
    with tf.GradientTape() as tape:
        tape.watch(z)
        assignments = contrastive.soft_assignments(prior.log_responsibilities(z), 0.1,
                                                   seed=tf.constant([3, 4]))
        _, per_sample = contrastive.u2c_loss(features, prior.mu, assignments, 4.0, 0.5)
        total = tf.reduce_sum(per_sample)
    dldz = tape.gradient(total, z)
    assert np.all(np.isfinite(dldz.numpy())) and np.abs(dldz.numpy()).max() > 0


def test_soft_assignments_follow_gumbel_softmax():
    logits = tf.math.log(tf.constant([[0.6, 0.3, 0.1]] * 20_000))
    c = contrastive.soft_assignments(logits, 0.01, seed=tf.constant([1, 2])).numpy()
    np.testing.assert_allclose(c.sum(axis=1), 1.0, rtol=1e-5)
    assert c.min() >= 0 and np.median(c.max(axis=1)) > 0.99       # tau = 0.01: nearly one-hot
    # Gumbel-max: the argmax is distributed as softmax(logits).
    np.testing.assert_allclose(np.bincount(c.argmax(axis=1)) / len(c), [0.6, 0.3, 0.1], atol=0.015)
    again = contrastive.soft_assignments(logits[:5], 0.01, seed=tf.constant([1, 2])).numpy()
    np.testing.assert_allclose(again, c[:5], rtol=1e-4, atol=1e-12)   # same seed, same draw


@pytest.mark.parametrize("scale", [1.0, 4.0])
def test_cluster_probabilities_match_numpy(scale):
    rng = np.random.default_rng(1)
    features, mu = rng.standard_normal((6, 5)), rng.standard_normal((3, 5))
    logits = scale * np_cos(features, mu)
    expected = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    got = contrastive.cluster_probabilities(features, mu, scale).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-6)


@pytest.mark.parametrize("exclude_positive", [True, False])
def test_simclr_matches_numpy(exclude_positive):
    rng = np.random.default_rng(2)
    e, e_aug = rng.standard_normal((7, 6)), rng.standard_normal((7, 6))
    sim = np.exp(np_cos(e, e_aug))
    others = sim.sum(axis=1) - (np.diag(sim) if exclude_positive else 0.0)
    expected = -np.log(np.diag(sim) / others)
    mean, per_sample = contrastive.simclr_loss(e, e_aug, exclude_positive=exclude_positive)
    np.testing.assert_allclose(per_sample.numpy(), expected, rtol=1e-6)
    np.testing.assert_allclose(mean.numpy(), expected.mean(), rtol=1e-6)


def test_schedules():
    anneal = contrastive.linear_anneal
    assert [float(anneal(t, 100)) for t in (0, 50, 100, 150)] == [1.0, 0.5, 0.0, 0.0]
    # Synthetic: end = -4 reaches 0 at 20% of the run.
    np.testing.assert_allclose([float(anneal(t, 100, 1.0, -4.0)) for t in (0, 10, 20, 60)],
                               [1.0, 0.5, 0.0, 0.0], atol=1e-6)
    assert float(contrastive.learning_rate_decay(tf.constant(25, tf.int64), 100)) == 0.75
    assert float(contrastive.learning_rate_decay(200, 100)) == 0.0


# ---- ALP (penalties.adversarial_lipschitz_penalty) ------------------------------------------

SHAPE = (4, 4, 3)
RNG = np.random.default_rng(3)
CRITIC_W = RNG.standard_normal((48, 5))
CRITIC_V = RNG.standard_normal(5)


def tanh_critic(x):
    return tf.matmul(tf.tanh(tf.matmul(tf.reshape(x, [-1, 48]), CRITIC_W)), CRITIC_V[:, None])


def np_critic(x):
    return np.tanh(x.reshape(len(x), -1) @ CRITIC_W) @ CRITIC_V


def np_critic_input_grad(x):
    h = x.reshape(len(x), -1) @ CRITIC_W
    return ((1 - np.tanh(h) ** 2) * CRITIC_V) @ CRITIC_W.T          # [N, 48]


def test_alp_direction_matches_numpy_power_iteration():
    samples = RNG.uniform(-1, 1, (10,) + SHAPE)
    start = RNG.uniform(-0.5, 0.5, samples.shape)
    xi = 10.0
    got = penalties.alp_direction(tanh_critic, samples, tf.reshape(tanh_critic(samples), [-1]),
                                  start, xi).numpy()
    d = unit_rows(start.reshape(10, -1))
    moved = samples.reshape(10, -1) + xi * d
    inside = np.abs(moved) < 1                                       # clip passes gradient here
    assert 0.2 < inside.mean() < 0.95                                # clipping is exercised
    moved = np.clip(moved, -1, 1)
    gap = np_critic(samples) - np_critic(moved.reshape(samples.shape))
    grad = np.sign(gap)[:, None] * -xi * np_critic_input_grad(moved) * inside / 10
    np.testing.assert_allclose(got.reshape(10, -1), unit_rows(grad), rtol=1e-8, atol=1e-10)


def test_alp_from_perturbation_matches_numpy():
    samples = RNG.uniform(-1, 1, (12,) + SHAPE)
    r = RNG.standard_normal(samples.shape) * RNG.uniform(0.1, 2.0, (12, 1, 1, 1))
    got = penalties.alp_from_perturbation(tanh_critic, samples,
                                          tf.reshape(tanh_critic(samples), [-1]), r).numpy()
    hat = np.clip(samples + r, -1, 1)
    ratio = np.abs(np_critic(samples) - np_critic(hat)) / \
        np.linalg.norm((samples - hat).reshape(12, -1), axis=1)
    assert (ratio > 1).any() and (ratio < 1).any()
    np.testing.assert_allclose(got, np.mean(np.maximum(ratio - 1, 0) ** 2), rtol=1e-10)


@pytest.mark.parametrize("norm", [3.0, 0.5])
def test_alp_for_linear_critic_is_squared_excess_slope(norm):
    """D(x) = w.x: the power iteration finds +-w/||w||, the slope along it is ||w||, so
    ALP = max(||w|| - 1, 0)^2 whatever eps was drawn (no clipping: small inputs, flat w, xi=1)."""
    dim = 8 * 8 * 4
    w = norm * np.sign(RNG.standard_normal(dim)) / np.sqrt(dim)
    critic = lambda x: tf.reshape(x, [-1, dim]) @ tf.constant(w[:, None], tf.float32)
    real = tf.constant(RNG.uniform(-0.3, 0.3, (6, 8, 8, 4)), tf.float32)
    fake = tf.constant(RNG.uniform(-0.3, 0.3, (6, 8, 8, 4)), tf.float32)
    alp = penalties.get_penalty("alp")(critic, real, fake, xi=1.0)
    np.testing.assert_allclose(float(alp), max(norm - 1.0, 0.0) ** 2, rtol=1e-4, atol=1e-6)


def test_alp_critic_gradient_does_not_flow_through_the_direction():
    weights = tf.Variable(CRITIC_W)
    critic = lambda x: tf.matmul(tf.tanh(tf.matmul(tf.reshape(x, [-1, 48]), weights)),
                                 CRITIC_V[:, None])
    samples = tf.constant(RNG.uniform(-1, 1, (8,) + SHAPE))
    start = tf.constant(RNG.uniform(-0.5, 0.5, samples.shape))
    eps = tf.constant(RNG.uniform(0.1, 10, (8, 1, 1, 1)))
    with tf.GradientTape() as tape:
        scores = tf.reshape(critic(samples), [-1])
        direction = penalties.alp_direction(critic, samples, scores, start)
        alp = penalties.alp_from_perturbation(critic, samples, scores, direction * eps)
    through_tape = tape.gradient(alp, weights)
    fixed_r = tf.constant(direction * eps)
    with tf.GradientTape() as tape:
        alp_fixed = penalties.alp_from_perturbation(
            critic, samples, tf.reshape(critic(samples), [-1]), fixed_r)
    np.testing.assert_allclose(through_tape.numpy(), tape.gradient(alp_fixed, weights).numpy(),
                               rtol=1e-10)
    assert np.abs(through_tape.numpy()).max() > 0
