"""SLOGAN: Stein Latent Optimization for GANs (Hwang et al.; shinyflight/SLOGAN).

One `train_step` is one iteration of Algorithm 1:
  line 3   critic update on a real batch and B fakes from the mixture prior (n_critic = 1),
           Wasserstein (or hinge) loss + LP / ALP / GP (Appendix E);
  line 4-5 z ~ q(z) (2B samples, as the original), soft assignments C = GumbelSoftmax_tau(
           log q(c|z)), U2C loss (Eq. 66) on E(G(z)), SimCLR on DiffAugment(G(z)) (D.4);
  line 6   G and E updates (Adam; E also carries SimCLR and L2 weight decay);
  line 7-9 Stein updates of mu (Eq. 3, 10 gamma), Sigma (Eqs. 5-6, gamma) and rho (Eq. 7,
           adversarial loss only, gamma), all from the same z batch, by plain gradient descent.
Every learning rate decays linearly to 0 over the run; lambda and the margin m are multiplied
by the original's linear schedule `temp` (1 -> `schedule_end` over the run, clipped at 0).
With probe data (Sec. 3.4, Algorithm 3; tfgan_suite/probe.py) line 6 also minimises
weight * L_m for E, and mu's step adds the direct gradient weight * dL_m/dmu.

Every random draw (mixture samples, Gumbel noise, the penalty's eps, DiffAugment views, real
flips and dequantisation, probe mixup) is stateless, seeded from the checkpointed `noise_seed`
stream, so a resumed run repeats an uninterrupted one exactly. Under tf.distribute every replica
draws its rows of the global batch's values, scales its losses by 1/replicas, and the Stein
estimates, U2C and SimCLR negatives span the global batch (tfgan_suite.replicas): R replicas
compute what one device computes on the same global batch. Losses are per-iteration
`keras.metrics.Mean` trackers; `prior_valid` is a minimum (models/base.py).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from tfgan_suite import (augment, contrastive, losses, optimizers, penalties, plots, priors, probe,
                         randomness, replicas)
from tfgan_suite.data.base import DatasetInfo
from tfgan_suite.models.base import SuiteModel
from tfgan_suite.models.slogan_defaults import DATASET_DEFAULTS
from tfgan_suite.nets import slogan_nets

LOGGED = ("d_loss", "penalty", "d_real", "d_fake", "g_loss", "u2c_loss", "simclr_loss",
          "u2c_schedule", "prior_valid")


class SLOGAN(SuiteModel):
    """Unsupervised conditional GAN with a learnable Gaussian-mixture prior (Algorithm 1).

    Args:
      generator G(z), discriminator D(x) -> [B, 1], encoder E(x) -> [B, feature_dim].
      prior: priors.GaussianMixturePrior (mu, Sigma, rho; no autodiff gradients).
      total_steps: length of the run (learning-rate decay and lambda/m schedules).
      unit_interval: networks work in [0, 1] pixels (MNIST/FMNIST, Table 12's sigmoid);
        real batches arrive in [-1, 1] and `generate` returns [-1, 1].
      real_augment: random left-right flip and U(0, 1/128) dequantisation noise on real images
        (the original CIFAR pipeline: x/256 + U(0, 1/256), flip, then *2-1).
      probe: probe.ProbeObjective for attribute manipulation (Sec. 3.4), or None.
    """

    def __init__(self, generator, discriminator, encoder, prior, total_steps, tau, u2c_weight,
                 feature_scale, margin, learning_rate, prior_learning_rate, loss="wgan",
                 penalty="lp", penalty_weight=10.0, schedule_end=0.0, simclr=False,
                 encoder_weight_decay=1e-4, generator_batch_factor=2, lr_decay=True, learn_pi=True,
                 unit_interval=False,
                 real_augment=False, probe=None, seed=0, **kwargs):
        super().__init__(**kwargs)
        self.generator, self.discriminator, self.encoder = generator, discriminator, encoder
        self.prior = prior
        self.total_steps = int(total_steps)
        self.tau, self.u2c_weight = float(tau), float(u2c_weight)
        self.feature_scale, self.margin = float(feature_scale), float(margin)
        self.base_learning_rate = float(learning_rate)
        self.prior_learning_rate = float(prior_learning_rate)
        self.adversarial_loss = losses.get_loss(loss)
        self.penalty = None if penalty == "none" else penalties.get_penalty(penalty)
        self.penalty_weight = float(penalty_weight)
        self.schedule_end = float(schedule_end)
        self.simclr = bool(simclr)
        self.encoder_weight_decay = float(encoder_weight_decay)
        self.generator_batch_factor = int(generator_batch_factor)
        self.lr_decay = bool(lr_decay)
        self.learn_pi = bool(learn_pi)
        self.unit_interval = bool(unit_interval)
        self.real_augment = bool(real_augment)
        self.probe = probe
        self._init_state(seed, LOGGED + (("probe_loss",) if probe else ()),
                         minimum=("prior_valid",))

    @property
    def batches_per_step(self) -> int:
        """One real batch per iteration (n_critic = 1)."""
        return 1

    def compile(self, d_optimizer, g_optimizer, e_optimizer, **kwargs):
        super().compile(**kwargs)
        self.d_optimizer, self.g_optimizer, self.e_optimizer = d_optimizer, g_optimizer, e_optimizer

    # ---- units and sampling ----

    def _net_units(self, x):
        return (x + 1.0) * 0.5 if self.unit_interval else x

    def generate(self, z, training=False):
        """G(z) in [-1, 1]."""
        x = self.generator(z, training=training)
        return x * 2.0 - 1.0 if self.unit_interval else x

    def call(self, z, training=False):
        return self.generate(z, training=training)

    def generate_component(self, component_ids, seed=None):
        """Images from the learned components `component_ids` (int [N]): z ~ N(mu_c, Sigma_c)."""
        return self.generate(self.prior.sample_component(component_ids, seed=seed))

    def encode(self, images):
        """E(x) for images in [-1, 1]."""
        return self.encoder(self._net_units(tf.convert_to_tensor(images, tf.float32)),
                            training=False)

    def cluster_probabilities(self, images):
        """p(c | x) = softmax_c cos(E(x), mu_c) (Eq. 67), [N, K], for images in [-1, 1]."""
        return contrastive.cluster_probabilities(self.encode(images), self.prior.mu.value)

    # ---- Algorithm 1 ----

    def _schedules(self):
        step = self.step
        decay = contrastive.learning_rate_decay(step, self.total_steps) if self.lr_decay \
            else tf.constant(1.0)
        temp = contrastive.linear_anneal(step, self.total_steps, 1.0, self.schedule_end)
        return decay, temp

    def _augment_real(self, x):
        if not self.real_augment:
            return x
        batch = tf.shape(x)[0]
        flip = randomness.uniform([batch, 1, 1, 1], self._seed()) < 0.5
        x = tf.where(flip, tf.reverse(x, axis=[2]), x)
        return x + randomness.uniform(tf.shape(x), self._seed(), 0.0, 2.0 / 256.0)

    def discriminator_step(self, real):
        """Algorithm 1 line 3: D on a real batch and as many fakes from q(z)."""
        z, _ = self.prior.sample(tf.shape(real)[0], seed=self._seed())
        fake = self.generator(z, training=True)
        with tf.GradientTape() as tape:
            scores = self.discriminator(tf.concat([real, fake], 0), training=True)
            d_real, d_fake = tf.split(scores, 2)
            loss = self.adversarial_loss(d_real, d_fake).critic
            penalty = tf.constant(0.0)
            if self.penalty is not None:
                penalty = self.penalty(lambda x: self.discriminator(x, training=True), real, fake,
                                       seed=self._seed())
            total = loss + self.penalty_weight * penalty
            replica_total = total * replicas.loss_scale()   # optimizers sum over replicas
        variables = self.discriminator.trainable_variables
        self.d_optimizer.apply_gradients(zip(tape.gradient(replica_total, variables), variables))
        return {"d_loss": total, "penalty": penalty, "d_real": tf.reduce_mean(d_real),
                "d_fake": tf.reduce_mean(d_fake)}

    def generator_encoder_prior_step(self, batch_size, decay, temp):
        """Algorithm 1 lines 4-9 on one z batch of generator_batch_factor * B."""
        z_batch = self.generator_batch_factor * batch_size
        z, _ = self.prior.sample(z_batch, seed=self._seed())
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(z)
            # log q(c|z) inside the tape: dl/dz keeps the assignment path (original code).
            assignments = contrastive.soft_assignments(
                self.prior.log_responsibilities(z), self.tau, seed=self._seed())
            fake = self.generator(z, training=True)
            adversarial = -tf.reshape(self.discriminator(fake, training=True), [-1])   # l_adv(z_i)
            features = self.encoder(fake, training=True)
            u2c, _ = contrastive.u2c_loss(features, self.prior.mu.value, assignments,
                                          self.feature_scale, self.margin * temp)
            g_loss = tf.reduce_mean(adversarial) + self.u2c_weight * temp * u2c
            simclr = tf.constant(0.0)
            if self.simclr:
                view = augment.diff_augment(fake, "translation,color,cutout", seed=self._seed())
                simclr, _ = contrastive.simclr_loss(features, self.encoder(view, training=True))
            e_loss = g_loss + simclr
            if self.encoder_weight_decay:
                e_loss += self.encoder_weight_decay * tf.add_n(
                    [tf.nn.l2_loss(v) for v in self.encoder.trainable_variables])
            if self.probe is not None:
                probe_mu, probe_loss = self._probe_loss(tape, temp)
                e_loss += self.probe.weight * probe_loss
            # Optimizers sum over replicas: per-replica means / R sum to global-batch means.
            replica_g_loss = g_loss * replicas.loss_scale()
            replica_e_loss = e_loss * replicas.loss_scale()
        g_vars, e_vars = self.generator.trainable_variables, self.encoder.trainable_variables
        grads = tape.gradient(replica_g_loss, g_vars + [z])
        e_grads = tape.gradient(replica_e_loss, e_vars)
        if self.probe is not None:
            probe_grad_mu = tape.gradient(probe_loss, probe_mu)
        del tape
        self.g_optimizer.apply_gradients(zip(grads[:-1], g_vars))
        self.e_optimizer.apply_gradients(zip(e_grads, e_vars))
        # The gradient is of the global batch MEAN of l(z_i) (the replica's mean / R); the
        # estimators need d(sum_i l(z_i))/dz: times the global z batch.
        dldz = grads[-1] * tf.cast(z_batch * replicas.count(), tf.float32)
        lr = self.prior_learning_rate * decay
        # Algorithm 1: mu with 10 gamma, Sigma and rho with gamma; rho frozen (pi stays uniform)
        # for the DeLiGAN-like ablation.
        lr_rho = lr if self.learn_pi else 0.0
        valid = self.prior.apply_stein_update(z, dldz, adversarial, 10.0 * lr, lr, lr_rho)
        logs = {"g_loss": g_loss, "u2c_loss": u2c, "simclr_loss": simclr}
        if self.probe is not None:
            valid = self._probe_mu_step(probe_grad_mu, 10.0 * lr, valid)
            logs["probe_loss"] = probe_loss
        logs["prior_valid"] = tf.cast(valid, tf.float32)
        return logs

    def _probe_loss(self, tape, temp):
        """(watched copy of mu, L_m) on this step's probe batch (probe.py; Sec. 3.4, Eq. 11 with
        the U2C scale s and decayed margin m * temp, App. D.3; mixup of Algorithm 3).

        L_m reaches mu directly (probe images do not depend on z), so mu is watched here, as a
        copy used by L_m only: U2C keeps its Stein-only path to mu.
        """
        seed = self._seed() if self.probe.mixup else None
        images, components = self.probe.batch(seed)
        mu = tf.identity(self.prior.mu.value)
        tape.watch(mu)
        features = self.encoder(self._net_units(images), training=True)
        return mu, self.probe.loss(features, mu, components, self.feature_scale,
                                   self.margin * temp)

    def _probe_mu_step(self, grad_mu, lr_mu, valid):
        """mu -= lr_mu * weight * dL_m/dmu, the gradient taken at the mu the Stein step started
        from, so the two steps together are one plain descent step on l + weight * L_m.
        Skipped (and the step reported invalid) when the prior update was refused or mu would
        stop being finite."""
        new_mu = self.prior.mu.value - lr_mu * self.probe.weight * grad_mu
        ok = tf.logical_and(valid, tf.reduce_all(tf.math.is_finite(new_mu)))
        self.prior.mu.assign(tf.where(ok, new_mu, self.prior.mu.value))
        return ok

    def train_step(self, data):
        real, _ = data
        decay, temp = self._schedules()
        for optimizer, factor in ((self.g_optimizer, 1.0), (self.e_optimizer, 1.0),
                                  (self.d_optimizer, 4.0)):   # TTUR: D at 4 eta
            optimizer.learning_rate.assign(factor * self.base_learning_rate * decay)
        real = self._augment_real(self._net_units(real))
        logs = self.discriminator_step(real)
        logs.update(self.generator_encoder_prior_step(tf.shape(real)[0], decay, temp))
        logs["u2c_schedule"] = temp
        self.step.assign_add(1)
        return self.loss_trackers.update(logs)

    # ---- monitoring, checkpoints, export ----

    def monitoring_scalars(self):
        pi = self.prior.mixing_coefficients().numpy()
        eig = self.prior.min_eigenvalues().numpy()
        out = {f"prior/pi_{c}": float(p) for c, p in enumerate(pi)}
        out.update({f"prior/min_eigenvalue_sigma_{c}": float(e) for c, e in enumerate(eig)})
        return out

    def grid_fn(self, source, rows, seed):
        """Per-component samples (rows = fixed noise, columns = components); for 2-D data a
        plots.Scatter of real points and generated points labelled by component."""
        k = self.prior.num_components
        fixed_seed = tf.constant([seed, 7], tf.int64)
        if len(source.info.example_shape) == 1:
            pick = np.random.default_rng(seed).choice(len(source), min(2000, len(source)), False)
            real = np.asarray(source.examples[np.sort(pick)])

            def scatter():
                z, comp = self.prior.sample(2000, seed=fixed_seed)
                return plots.Scatter(real, self.generate(z).numpy(), comp.numpy(), k)
            return scatter

        def sample():
            # The same noise eps_r in every column: z[r, c] = mu_c + L_c eps_r.
            eps = tf.random.stateless_normal([rows, self.prior.latent_dim], seed=fixed_seed)
            scaled = tf.einsum("kij,rj->rki", self.prior.cholesky(), eps)
            z = tf.reshape(scaled + self.prior.mu.value[None], [rows * k, -1])
            images = self.generate(z).numpy()
            return images.reshape((rows, k) + images.shape[1:])
        return sample

    def export_trackables(self):
        return [self.generator, self.encoder, self.prior]

    def serving_endpoints(self):
        """serving_default(z) -> images; generate_component(component int32 [None]) -> images
        from that learned component, with fresh noise on every call (repeatable images: send
        serving_default a z drawn from the exported mixture); cluster_probabilities(images) ->
        p(c|x) (Eq. 67)."""
        d = self.prior.latent_dim
        image_shape = tuple(self.generator.output_shape[1:])

        def serve(z):
            return {"images": self.generate(z)}

        def by_component(component):
            return {"images": self.generate_component(component)}

        def clusters(images):
            return {"probabilities": self.cluster_probabilities(images)}
        return [("serving_default", serve, [tf.TensorSpec([None, d], tf.float32, name="z")]),
                ("generate_component", by_component,
                 [tf.TensorSpec([None], tf.int32, name="component")]),
                ("cluster_probabilities", clusters,
                 [tf.TensorSpec((None,) + image_shape, tf.float32, name="images")])]

    def export_metadata(self):
        return {"z_distribution": "learned Gaussian mixture (generate_component samples it)",
                "num_components": self.prior.num_components,
                "mixing_coefficients": self.prior.mixing_coefficients().numpy().tolist(),
                "means": self.prior.mu.numpy().tolist(),
                "covariances": self.prior.sigma.numpy().tolist()}

    def optimizer_variables(self):
        return [(self.d_optimizer, self.discriminator.trainable_variables),
                (self.g_optimizer, self.generator.trainable_variables),
                (self.e_optimizer, self.encoder.trainable_variables)]

    def trackables(self):
        return dict(generator=self.generator, discriminator=self.discriminator,
                    encoder=self.encoder, prior=self.prior, d_optimizer=self.d_optimizer,
                    g_optimizer=self.g_optimizer, e_optimizer=self.e_optimizer, step=self.step,
                    noise_seed=self.noise_seed.state)


def build(config, info: DatasetInfo) -> SLOGAN:
    """A compiled SLOGAN for a resolved tfgan_suite.config.SLOGANConfig and dataset."""
    family = DATASET_DEFAULTS[config.dataset]["family"]
    g, d, e = slogan_nets.slogan_networks(family, config.z_dim, config.feature_dim)
    prior = priors.GaussianMixturePrior(config.num_components, config.z_dim,
                                        seed=config.seed,
                                        sigma_grad_scale=config.sigma_grad_scale, name="prior")
    model = SLOGAN(g, d, e, prior, total_steps=config.steps, tau=config.tau,
                   u2c_weight=config.u2c_weight, feature_scale=config.feature_scale,
                   margin=config.margin, learning_rate=config.learning_rate,
                   prior_learning_rate=config.prior_learning_rate, loss=config.loss,
                   penalty=config.penalty, penalty_weight=config.penalty_weight,
                   schedule_end=config.schedule_end, simclr=config.simclr,
                   encoder_weight_decay=config.encoder_weight_decay, learn_pi=config.learn_pi,
                   generator_batch_factor=config.generator_batch_factor,
                   unit_interval=family == "mnist", real_augment=family in ("cifar", "celeba"),
                   probe=probe_objective(config, info), seed=config.seed)

    def adam():
        return optimizers.adam(config.learning_rate, 0.0, 0.9)
    # No XLA: the mixture sampling does not compile under it, and on CPU it is slower anyway.
    model.compile(d_optimizer=adam(), g_optimizer=adam(), e_optimizer=adam(), jit_compile=False)
    return model


def probe_objective(config, info: DatasetInfo):
    """The probe.ProbeObjective of a resolved SLOGANConfig (--probe_data and friends), or None.

    Reads no file (the set is read when training starts)."""
    if not config.probe_data:
        return None
    return probe.ProbeObjective(
        config.probe_data, info, config.num_components, folders=config.probe_folders,
        weight=config.probe_weight, mixup=config.probe_mixup,
        mixup_iterations=config.probe_mixup_iterations, loss_form=config.probe_loss)
