"""SLOGAN prior: Stein estimators (Eqs. 3-7) against autodiff of a closed-form expected loss,
the PD-preserving covariance step (Eq. 6), log-space responsibilities, sampling, checkpointing."""

import numpy as np
import pytest
import tensorflow as tf

from tfgan_suite import priors

# A 2-component mixture in 2-D whose components overlap, so responsibilities are far from 0/1.
MU = np.array([[0.3, -0.2], [-0.5, 0.4]])
SIGMA = np.array([[[1.0, 0.3], [0.3, 0.5]], [[0.6, -0.2], [-0.2, 0.9]]])
RHO = np.array([0.4, -0.3])
# Per-sample loss l(z) = ||A z - b||^2 + sum_j a_j sin(w_j . z): its Hessian is not constant,
# so the Sigma identity is exercised beyond the quadratic case.
A = np.array([[1.0, -0.5], [0.3, 0.8], [-0.7, 0.2]])
B_VEC = np.array([0.5, -1.0, 0.2])
W = np.array([[1.2, -0.4], [0.3, 0.9]])
AMP = np.array([1.5, -0.8])


def per_sample_loss(z):
    z = tf.convert_to_tensor(z)
    quad = tf.reduce_sum(tf.square(tf.matmul(z, A.T) - B_VEC), axis=1)
    return quad + tf.reduce_sum(AMP * tf.sin(tf.matmul(z, W.T)), axis=1)


def expected_loss(mu, sigma, rho):
    """E_q[l] in closed form: E[sin(w.z)] = sin(w.mu) exp(-w^T Sigma w / 2) under N(mu, Sigma)."""
    ata = tf.constant(A.T @ A)
    quad = tf.reduce_sum(tf.square(tf.matmul(mu, A.T) - B_VEC), axis=1) \
        + tf.linalg.trace(tf.matmul(ata[None], sigma))
    w_sigma_w = tf.einsum("jd,kde,je->kj", W, sigma, W)
    sines = tf.reduce_sum(AMP * tf.sin(tf.matmul(mu, W.T)) * tf.exp(-0.5 * w_sigma_w), axis=1)
    return tf.reduce_sum(tf.nn.softmax(rho) * (quad + sines))


def exact_gradients():
    mu, sigma, rho = (tf.Variable(v) for v in (MU, SIGMA, RHO))
    with tf.GradientTape() as tape:
        value = expected_loss(mu, sigma, rho)
    return [g.numpy() for g in tape.gradient(value, [mu, sigma, rho])]


def sample_mixture(n, seed):
    rng = np.random.default_rng(seed)
    pi = np.exp(RHO) / np.exp(RHO).sum()
    ids = rng.choice(len(pi), size=n, p=pi)
    chol = np.linalg.cholesky(SIGMA)
    return MU[ids] + np.einsum("nij,nj->ni", chol[ids], rng.standard_normal((n, 2)))


def make_prior(mu=MU, sigma=SIGMA, rho=RHO, **kwargs):
    prior = priors.GaussianMixturePrior(mu.shape[0], mu.shape[1], **kwargs)
    prior.mu.assign(mu.astype(np.float32))
    prior.sigma.assign(sigma.astype(np.float32))
    prior.rho.assign(rho.astype(np.float32))
    return prior


@pytest.fixture(scope="module")
def monte_carlo_gradients():
    """Stein estimates from 1M samples of q, in float32 as in training."""
    z = tf.constant(sample_mixture(1_000_000, seed=0))
    with tf.GradientTape() as tape:
        tape.watch(z)
        losses = per_sample_loss(z)
        total = tf.reduce_sum(losses)
    z, dldz, losses = (tf.cast(t, tf.float32) for t in (z, tape.gradient(total, z), losses))
    return make_prior().stein_gradients(z, dldz, losses), (z, dldz)


def test_stein_mu_matches_autodiff_of_expected_loss(monte_carlo_gradients):
    (g_mu, _, _), _ = monte_carlo_gradients
    exact = exact_gradients()[0]
    np.testing.assert_allclose(g_mu.numpy(), exact, atol=0.02 * np.abs(exact).max())


def test_stein_sigma_paper_scale_is_the_exact_gradient(monte_carlo_gradients):
    (_, g_sigma, _), _ = monte_carlo_gradients
    exact = exact_gradients()[1]
    np.testing.assert_allclose(g_sigma.numpy(), exact, atol=0.02 * np.abs(exact).max())
    # The original code's factor (no 1/2) would be off by 2x: far outside the tolerance.
    assert np.abs(2 * g_sigma.numpy() - exact).max() > 0.3 * np.abs(exact).max()


def test_stein_rho_matches_autodiff_of_expected_loss(monte_carlo_gradients):
    (_, _, g_rho), _ = monte_carlo_gradients
    exact = exact_gradients()[2]
    np.testing.assert_allclose(g_rho.numpy(), exact, atol=0.04 * np.abs(exact).max())
    assert abs(float(tf.reduce_sum(g_rho))) < 1e-5   # softmax logits: gradients sum to 0


def test_original_sigma_scale_is_twice_paper_and_doubled_lr(monte_carlo_gradients):
    _, (z, dldz) = monte_carlo_gradients
    z, dldz = z[:512], dldz[:512]
    adv = tf.zeros([512])
    paper, original = make_prior(), make_prior(sigma_grad_scale="original")
    g_paper = paper.stein_gradients(z, dldz, adv)[1]
    g_original = original.stein_gradients(z, dldz, adv)[1]
    np.testing.assert_allclose(g_original.numpy(), 2 * g_paper.numpy(), rtol=1e-6, atol=1e-7)
    paper.apply_stein_update(z, dldz, adv, 0.0, 0.2, 0.0)
    original.apply_stein_update(z, dldz, adv, 0.0, 0.1, 0.0)
    np.testing.assert_allclose(paper.sigma.numpy(), original.sigma.numpy(), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="paper"):
        priors.GaussianMixturePrior(2, 2, sigma_grad_scale="half")


def test_stein_sigma_matches_per_sample_reference():
    """The batched-matmul form equals the per-sample outer products of Algorithm 1."""
    rng = np.random.default_rng(1)
    z, dldz = rng.standard_normal((7, 2)), rng.standard_normal((7, 2))
    chol = np.linalg.cholesky(SIGMA)
    resp = tf.exp(priors.log_responsibilities(z, MU, chol, RHO)).numpy()
    s = np.zeros((2, 2, 2))
    for b in range(7):
        for c in range(2):
            s[c] += resp[b, c] * np.outer(np.linalg.solve(SIGMA[c], z[b] - MU[c]), dldz[b]) / 7
    expected = 0.25 * (s + s.transpose(0, 2, 1))          # Algorithm 1: 1/(4B) sum (S + S^T)
    got = priors.stein_grad_sigma(z, dldz, resp, MU, chol).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-10)


def test_pd_step_matches_eq6_and_stays_pd_where_plain_step_fails():
    rng = np.random.default_rng(2)
    d, k = 6, 3
    sigma = np.stack([np.eye(d)] * k)
    plain_failed = 0
    for _ in range(150):
        # Steps on the scale of the smallest eigenvalue: the plain update keeps leaving the cone.
        g = rng.standard_normal((k, d, d)) * np.linalg.eigvalsh(sigma)[:, :1, None]
        g = 0.5 * (g + g.transpose(0, 2, 1))
        lr = rng.uniform(0.1, 2.0)
        chol = np.linalg.cholesky(sigma)
        new = priors.pd_sigma_step(sigma, chol, g, lr).numpy()
        delta = -g                                   # Eq. 6 / Theorem 3 written as in the paper
        eq6 = sigma + lr * (delta + lr / 2 * delta @ np.linalg.inv(sigma) @ delta)
        np.testing.assert_allclose(new, 0.5 * (eq6 + eq6.transpose(0, 2, 1)), rtol=1e-8, atol=1e-8)
        plain_failed += int(np.linalg.eigvalsh(sigma - lr * g).min() <= 0)
        assert np.array_equal(new, new.transpose(0, 2, 1))
        assert np.linalg.eigvalsh(new).min() > 0
        assert bool(priors.is_valid_covariance(new))
        sigma = new
    assert plain_failed > 50


def test_apply_stein_update_keeps_sigma_pd_over_many_large_float32_steps():
    prior = priors.GaussianMixturePrior(3, 16, seed=3)
    for step in range(60):
        z, ids = prior.sample(64, seed=[step, 0])
        dldz = 5.0 * tf.random.stateless_normal([64, 16], seed=[step, 1])
        adv = tf.random.stateless_normal([64], seed=[step, 2])
        assert bool(prior.apply_stein_update(z, dldz, adv, 1.0, 1.0, 1.0))
        sigma = prior.sigma.numpy()
        assert np.array_equal(sigma, sigma.transpose(0, 2, 1))
        assert prior.min_eigenvalues().numpy().min() > 0


def test_apply_stein_update_is_gradient_descent_on_all_three():
    prior = make_prior()
    rng = np.random.default_rng(4)
    z = tf.constant(rng.standard_normal((32, 2)), tf.float32)
    dldz = tf.constant(rng.standard_normal((32, 2)), tf.float32)
    adv = tf.constant(rng.standard_normal(32), tf.float32)
    g_mu, g_sigma, g_rho = prior.stein_gradients(z, dldz, adv)
    before = [v.numpy() for v in (prior.mu, prior.sigma, prior.rho)]
    assert bool(prior.apply_stein_update(z, dldz, adv, 0.5, 0.0, 0.25))
    np.testing.assert_allclose(prior.mu.numpy(), before[0] - 0.5 * g_mu.numpy(), rtol=1e-6)
    np.testing.assert_allclose(prior.sigma.numpy(), before[1], rtol=1e-6)
    np.testing.assert_allclose(prior.rho.numpy(), before[2] - 0.25 * g_rho.numpy(), rtol=1e-6)
    # A descent step on mu lowers the estimate's objective: mu moves against the gradient.
    assert np.sum((prior.mu.numpy() - before[0]) * g_mu.numpy()) < 0


def test_apply_stein_update_refuses_non_finite_and_keeps_last_valid_state():
    prior = make_prior()
    before = [v.numpy() for v in (prior.mu, prior.sigma, prior.rho)]
    z = tf.zeros([4, 2])
    dldz = tf.constant([[np.nan, 0.0]] * 4, tf.float32)
    step = tf.function(prior.apply_stein_update)
    assert not bool(step(z, dldz, tf.zeros([4]), 0.1, 0.1, 0.1))
    for var, old in zip((prior.mu, prior.sigma, prior.rho), before):
        np.testing.assert_array_equal(var.numpy(), old)
    assert not bool(priors.is_valid_covariance(np.array([[[1.0, 2.0], [2.0, 1.0]]])))


def test_log_responsibilities_finite_for_far_apart_components_in_128d():
    d = 128
    mu = np.stack([np.zeros(d), np.full(d, 10.0), np.full(d, -10.0)]).astype(np.float32)
    prior = make_prior(mu, np.stack([np.eye(d)] * 3), np.zeros(3))
    z = tf.constant(mu + 0.5, tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(z)
        log_r = prior.log_responsibilities(z)
        total = tf.reduce_sum(log_r[:, 0])
    grads = tape.gradient(total, z)
    assert np.all(np.isfinite(log_r.numpy())) and np.all(np.isfinite(grads.numpy()))
    # Gaps of thousands of nats: linear-space delta(z) would give 0/0 here.
    assert log_r.numpy().min() < -1000
    np.testing.assert_array_equal(np.argmax(log_r.numpy(), axis=1), [0, 1, 2])
    np.testing.assert_allclose(tf.reduce_logsumexp(log_r, axis=1).numpy(), 0.0, atol=1e-5)


def test_log_responsibilities_agree_with_tfp_distribution():
    prior = make_prior()
    z = tf.constant(sample_mixture(50, seed=5), tf.float32)
    dist = prior.distribution()
    comp = dist.components_distribution.log_prob(z[:, None, :])
    mixture_log_pi = tf.nn.log_softmax(dist.mixture_distribution.logits)
    expected = comp + mixture_log_pi - dist.log_prob(z)[:, None]
    np.testing.assert_allclose(prior.log_responsibilities(z).numpy(), expected.numpy(),
                               rtol=1e-5, atol=1e-5)


def test_initialisation_and_variables_are_not_trainable():
    prior = priors.GaussianMixturePrior(4, 8, seed=7)
    assert prior.trainable_variables == [] and len(prior.non_trainable_variables) == 3
    np.testing.assert_array_equal(prior.sigma.numpy(), np.stack([np.eye(8)] * 4))
    np.testing.assert_allclose(prior.mixing_coefficients().numpy(), 0.25, rtol=1e-6)
    np.testing.assert_allclose(prior.rho.numpy(), 0.25)
    assert 0.03 < prior.mu.numpy().std() < 0.2
    np.testing.assert_array_equal(priors.GaussianMixturePrior(4, 8, seed=7).mu.numpy(),
                                  prior.mu.numpy())
    np.testing.assert_allclose(prior.min_eigenvalues().numpy(), 1.0, rtol=1e-6)


def test_checkpoint_round_trip(tmp_path):
    prior = make_prior()
    path = tf.train.Checkpoint(prior=prior).write(str(tmp_path / "ckpt"))
    restored = priors.GaussianMixturePrior(2, 2, seed=99)
    tf.train.Checkpoint(prior=restored).read(path).assert_consumed()
    for a, b in zip(prior.non_trainable_variables, restored.non_trainable_variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_sample_and_sample_component_moments():
    prior = make_prior()
    z, ids = prior.sample(40_000, seed=[1, 2])
    pi = np.exp(RHO) / np.exp(RHO).sum()
    np.testing.assert_allclose(np.bincount(ids.numpy()) / 40_000, pi, atol=0.01)
    z2, _ = prior.sample(10, seed=[1, 2])
    np.testing.assert_array_equal(z[:10].numpy(), z2.numpy())     # same seed, same draw
    serve = tf.function(prior.sample_component,
                        input_signature=[tf.TensorSpec([None], tf.int32)])
    for c in range(2):
        zc = serve(tf.fill([20_000], c)).numpy()
        np.testing.assert_allclose(zc.mean(0), MU[c], atol=0.03)
        np.testing.assert_allclose(np.cov(zc.T), SIGMA[c], atol=0.04)
        from_mixture = z.numpy()[ids.numpy() == c]
        np.testing.assert_allclose(from_mixture.mean(0), MU[c], atol=0.04)


def test_min_eigenvalues():
    prior = make_prior()
    np.testing.assert_allclose(prior.min_eigenvalues().numpy(),
                               np.linalg.eigvalsh(SIGMA)[:, 0], rtol=1e-5)
