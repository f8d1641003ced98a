"""SLOGAN's Gaussian-mixture latent prior and its Stein gradient estimators (Hwang et al.).

q(z) = sum_c pi_c N(z; mu_c, Sigma_c), pi = softmax(rho) (Sec. 3.1). The parameters get NO autodiff
gradients: they are updated by plain gradient descent with the implicit-reparameterisation
estimators of Theorems 1, 2 and 4 (Eqs. 3-7, Algorithm 1), computed from a batch z ~ q and the
per-sample loss gradients dl/dz.

Notation used below: B batch, K components, d latent size; r[b, c] = q(c | z_b) = delta(z_b)_c pi_c
(Eq. 2), the responsibilities. Every [K, d, d] quantity is formed with batched matmuls of
[K, d, B] by [B, d] (no [B, K, d, d] intermediate), and Sigma^-1 is only ever applied through a
Cholesky solve.
"""

from __future__ import annotations

import math

import keras
import tensorflow as tf
import tensorflow_probability as tfp

from tfgan_suite import randomness, replicas

tfd = tfp.distributions

# Factor in front of sym(E[r_c Sigma_c^-1 (z - mu_c) dl/dz^T]) in the Sigma gradient.
#  "paper": 1/2, Eq. 4 / Eq. 5 / Algorithm 1 (Price's theorem, Lemma 3: d/dSigma E[h] =
#           1/2 E[hessian h]). This is the exact gradient of the expected loss with respect to
#           the entries of Sigma; tests/test_priors.py checks it against autodiff of a closed form.
#  "original": 1, what shinyflight/SLOGAN computes (no 1/2): twice the gradient. Because the Eq. 6
#           step is a function of lr * G only, "original" at lr equals "paper" at 2 * lr.
SIGMA_GRAD_SCALES = {"paper": 0.5, "original": 1.0}


def sigma_grad_scale_factor(name):
    """The factor SIGMA_GRAD_SCALES[name]; ValueError naming the choices otherwise."""
    try:
        return SIGMA_GRAD_SCALES[name]
    except KeyError:
        raise ValueError(f"unknown sigma_grad_scale {name!r}; "
                         f"choose one of {sorted(SIGMA_GRAD_SCALES)}") from None


def _symmetrise(m):
    return 0.5 * (m + tf.linalg.matrix_transpose(m))


def _centred(z, mu):
    """(z_b - mu_c) laid out as [K, d, B] so that per-component work is one batched matmul."""
    return tf.transpose(z)[None, :, :] - mu[:, :, None]


def component_log_probs(z, mu, sigma_chol):
    """log N(z_b; mu_c, Sigma_c) as [B, K], with Sigma_c = L_c L_c^T given by its Cholesky factor.

    Differentiable with respect to z (the U2C assignment path needs it, as in shinyflight/SLOGAN).
    """
    whitened = tf.linalg.triangular_solve(sigma_chol, _centred(z, mu), lower=True)  # L^-1 (z - mu)
    mahalanobis = tf.reduce_sum(tf.square(whitened), axis=1)                       # [K, B]
    log_det = 2.0 * tf.reduce_sum(tf.math.log(tf.linalg.diag_part(sigma_chol)), axis=1)  # [K]
    d = tf.cast(tf.shape(mu)[1], z.dtype)
    log_norm = -0.5 * (d * math.log(2.0 * math.pi) + log_det)
    return tf.transpose(-0.5 * mahalanobis + log_norm[:, None])


def log_responsibilities(z, mu, sigma_chol, rho):
    """log q(c | z) = log N(z; mu_c, Sigma_c) + log pi_c - log q(z), [B, K] (Eq. 2).

    Kept in log space: for d = 128 the components' log densities differ by hundreds of nats, so
    delta(z) = q(z|c) / q(z) formed in linear space under/overflows.
    """
    logits = component_log_probs(z, mu, sigma_chol) + tf.nn.log_softmax(rho)[None, :]
    return logits - tf.reduce_logsumexp(logits, axis=1, keepdims=True)


def stein_grad_mu(resp, dldz):
    """Eq. 3 (Bonnet): d E_q[l] / d mu_c ~= 1/B sum_b r_bc dl/dz_b; [K, d]."""
    batch = tf.cast(tf.shape(dldz)[0], dldz.dtype)
    return tf.matmul(resp, dldz, transpose_a=True) / batch


def stein_grad_sigma(z, dldz, resp, mu, sigma_chol, sigma_grad_scale="paper"):
    """Eqs. 4-5 (Price): d E_q[l] / d Sigma_c ~= scale * sym(S_c), [K, d, d], with
    S_c = 1/B sum_b r_bc Sigma_c^-1 (z_b - mu_c) dl/dz_b^T and scale from SIGMA_GRAD_SCALES.

    The batch average of S is not symmetric, hence the symmetrisation of Eq. 5.
    """
    scale = sigma_grad_scale_factor(sigma_grad_scale)
    solved = tf.linalg.cholesky_solve(sigma_chol, _centred(z, mu))    # Sigma^-1 (z-mu) [K,d,B]
    weighted = solved * tf.transpose(resp)[:, None, :]               # times r_bc
    batch = tf.cast(tf.shape(dldz)[0], dldz.dtype)
    s = tf.matmul(weighted, dldz[None, :, :]) / batch                # [K,d,B] @ [B,d] -> [K,d,d]
    return scale * _symmetrise(s)


def stein_grad_rho(resp, adv_loss, rho):
    """Eq. 7: d E_q[l_adv] / d rho_c ~= 1/B sum_b (r_bc - pi_c) l_adv(z_b); [K].

    pi_c (delta_c - 1) = r_c - pi_c. Only the adversarial loss enters (Sec. 3.3: the U2C loss
    would stop pi from tracking the data's imbalance).
    """
    pi = tf.nn.softmax(rho)
    return tf.reduce_mean((resp - pi[None, :]) * adv_loss[:, None], axis=0)


def pd_sigma_step(sigma, sigma_chol, grad, lr):
    """One positive-definite descent step on Sigma (Eq. 6, Theorem 3), [K, d, d].

    With Delta = -grad: Sigma' = Sigma + lr (Delta + lr/2 Delta Sigma^-1 Delta)
                               = Sigma - lr grad + lr^2/2 grad Sigma^-1 grad
                               = 1/2 (Sigma + U^T U), U = L^T - lr L^-1 grad  (PD when Sigma is).
    The plain step Sigma - lr grad can leave the PD cone; the quadratic term keeps it inside.
    """
    correction = tf.matmul(grad, tf.linalg.cholesky_solve(sigma_chol, grad))
    return _symmetrise(sigma - lr * grad + 0.5 * lr * lr * correction)


def is_valid_covariance(sigma):
    """True when every Sigma_c is finite and its smallest eigenvalue is positive (scalar bool)."""
    finite = tf.reduce_all(tf.math.is_finite(sigma))
    # eigvalsh of a non-finite matrix is meaningless; feed zeros then (finite is False anyway).
    safe = tf.where(finite, sigma, tf.zeros_like(sigma))
    return tf.logical_and(finite, tf.reduce_all(tf.linalg.eigvalsh(safe)[:, 0] > 0.0))


class GaussianMixturePrior(keras.layers.Layer):
    """Learnable latent prior q(z) of SLOGAN with full covariances (Sec. 3.1, Algorithm 1).

    Variables (all trainable=False: checkpointed with the model, invisible to optimizers and to
    GradientTape's trainable lists, so no autodiff gradient can reach them; U2C must not add a
    d/dmu that the original never applies):
      mu [K, d] ~ N(0, mean_stddev^2) seeded, sigma [K, d, d] = I (full matrices), rho [K] = 1/K.
    """

    def __init__(self, num_components, latent_dim, mean_stddev=0.1, seed=0,
                 sigma_grad_scale="paper", **kwargs):
        super().__init__(**kwargs)
        sigma_grad_scale_factor(sigma_grad_scale)      # fail at construction, not mid-training
        self.num_components = int(num_components)
        self.latent_dim = int(latent_dim)
        self.mean_stddev = float(mean_stddev)
        self.seed = int(seed)
        self.sigma_grad_scale = sigma_grad_scale
        k, d = self.num_components, self.latent_dim
        self.mu = self.add_weight(
            shape=(k, d), name="mu", trainable=False,
            initializer=keras.initializers.RandomNormal(stddev=self.mean_stddev, seed=self.seed))
        self.sigma = self.add_weight(
            shape=(k, d, d), name="sigma", trainable=False,
            initializer=lambda shape, dtype: tf.eye(d, batch_shape=[k], dtype=dtype))
        self.rho = self.add_weight(
            shape=(k,), name="rho", trainable=False,
            initializer=keras.initializers.Constant(1.0 / k))
        self.built = True

    def get_config(self):
        return {**super().get_config(), "num_components": self.num_components,
                "latent_dim": self.latent_dim, "mean_stddev": self.mean_stddev,
                "seed": self.seed, "sigma_grad_scale": self.sigma_grad_scale}

    # -- read-outs -------------------------------------------------------------------------------
    def mixing_coefficients(self):
        """pi = softmax(rho), [K]."""
        return tf.nn.softmax(self.rho.value)

    def cholesky(self):
        """Lower Cholesky factors of Sigma, [K, d, d]."""
        return tf.linalg.cholesky(self.sigma.value)

    def min_eigenvalues(self):
        """Smallest eigenvalue of each Sigma_c, [K] (monitoring: must stay > 0)."""
        return tf.linalg.eigvalsh(self.sigma.value)[:, 0]

    def distribution(self):
        """q(z) as a tfp MixtureSameFamily of MultivariateNormalTriL components."""
        return tfd.MixtureSameFamily(
            mixture_distribution=tfd.Categorical(logits=tf.nn.log_softmax(self.rho.value)),
            components_distribution=tfd.MultivariateNormalTriL(
                loc=self.mu.value, scale_tril=self.cholesky()))

    def log_responsibilities(self, z):
        """log q(c | z), [B, K], differentiable w.r.t. z (see the module function)."""
        return log_responsibilities(z, self.mu.value, self.cholesky(), self.rho.value)

    # -- sampling --------------------------------------------------------------------------------
    def sample_component(self, component_ids, seed=None):
        """z ~ N(mu_c, Sigma_c) for each c in int [N] `component_ids`; [N, d].

        Serving endpoints call this with an int32 [None] tensor. `seed`: None (stateful random
        ops) or a stateless seed of shape [2].
        """
        ids = tf.cast(component_ids, tf.int32)
        shape = tf.stack([tf.shape(ids)[0], self.latent_dim])
        if seed is None:
            eps = tf.random.normal(shape, dtype=self.mu.dtype)
        else:
            eps = randomness.normal(shape, seed, dtype=self.mu.dtype)
        # L_c eps_n for every c at once ([K, d, d] @ [d, N]), then pick each row's own component:
        # cheaper than gathering an [N, d, d] stack of factors.
        scaled = tf.transpose(tf.matmul(self.cholesky(), tf.transpose(eps)[None]), [2, 0, 1])
        return tf.gather(self.mu.value, ids) + tf.gather(scaled, ids, batch_dims=1)

    def sample(self, n, seed=None):
        """(z [n, d], component ids int32 [n]) with c ~ Categorical(pi), z ~ N(mu_c, Sigma_c)."""
        seed_c, seed_z = randomness.split(seed, 2)
        logits = tf.nn.log_softmax(self.rho.value)[None, :]
        if seed_c is None:
            ids = tf.random.categorical(logits, n, dtype=tf.int32)[0]
        else:
            ids = replicas.per_example(lambda rows: tf.random.stateless_categorical(
                logits, rows, seed=seed_c, dtype=tf.int32)[0], n)
        return self.sample_component(ids, seed=seed_z), ids

    # -- Algorithm 1, prior update -------------------------------------------------------------
    def stein_gradients(self, z, dldz, adv_loss):
        """(grad mu [K, d], grad Sigma [K, d, d], grad rho [K]) of Eqs. 3, 4-5 and 7.

        z: [B, d] the batch the losses were computed on; dldz: [B, d] the gradient of the SUM over
        the batch of the per-sample loss l_adv + lambda * l_U2C (dldz[b] = dl(z_b)/dz_b);
        adv_loss: [B] the per-sample adversarial loss -D(G(z_b)).
        """
        z, dldz = tf.stop_gradient(z), tf.stop_gradient(dldz)
        adv_loss = tf.reshape(tf.stop_gradient(adv_loss), [-1])
        mu, rho, chol = self.mu.value, self.rho.value, self.cholesky()
        resp = tf.exp(log_responsibilities(z, mu, chol, rho))
        # Batch means per replica, averaged over replicas: the estimates over the global batch,
        # identical on every replica, so the prior stays the same everywhere.
        return replicas.mean((stein_grad_mu(resp, dldz),
                              stein_grad_sigma(z, dldz, resp, mu, chol, self.sigma_grad_scale),
                              stein_grad_rho(resp, adv_loss, rho)))

    def apply_stein_update(self, z, dldz, adv_loss, lr_mu, lr_sigma, lr_rho):
        """One plain gradient-descent step of Algorithm 1 on mu, Sigma (Eq. 6) and rho.

        All three gradients come from the current parameters. Returns a scalar bool: True when the
        new parameters are finite and every Sigma_c is positive definite. When False, nothing is
        assigned (the variables keep their last valid values) and the caller should stop the run
        with a clear message before writing a checkpoint.
        """
        g_mu, g_sigma, g_rho = self.stein_gradients(z, dldz, adv_loss)
        new_mu = self.mu.value - lr_mu * g_mu
        new_sigma = pd_sigma_step(self.sigma.value, self.cholesky(), g_sigma, lr_sigma)
        new_rho = self.rho.value - lr_rho * g_rho
        ok = tf.logical_and(is_valid_covariance(new_sigma),
                            tf.reduce_all(tf.math.is_finite(tf.concat(
                                [tf.reshape(new_mu, [-1]), new_rho], axis=0))))
        for var, new in ((self.mu, new_mu), (self.sigma, new_sigma), (self.rho, new_rho)):
            var.assign(tf.where(ok, new, var.value))
        return ok
