"""ID-GAN (Lee et al., "High-Fidelity Synthesis with Disentangled Representation", ECCV 2020;
1Konny/idgan gan_training/train.py), stage 2: a GAN G(s, c) distilled from a frozen beta-VAE
encoder q(c|x).

One train_step is one iteration of the original on one real batch x:
  1. c ~ q(c|x) (reparameterised; the aggregated posterior of the current real batch)
  2. D update, non-saturating GAN loss + R1 (Mescheder et al. 2018):
       BCE(D(x), 1) + BCE(D(G(s, c)), 0) + gamma * mean_b ||grad_x D(x)||^2   (gamma 10, no 1/2)
  3. G update with fresh s ~ N(0, I) and the same c (Eq. 2 with Eq. 4):
       BCE(D(G(s, c)), 1) + w_info * L_ID,
       L_ID = mean_b sum_j -log N(c_j; mu_j(G(s, c)), exp(logvar_j(G(s, c))))  (betavae.gaussian_nll)
     The encoder reads G's images mapped to [0, 1]; it is never updated.
  4. G's exponential moving average: ema = decay * ema + (1 - decay) * G (decay 0.999); the
     average is what samples, evaluation and export use (the original's generator_test).
Optimisers: RMSprop with PyTorch's update (alpha 0.99, eps 1e-8 added to sqrt(v), not inside
it as in Keras's RMSprop; optimizers.TorchRMSprop) with G's and D's learning rates.
Random draws (eps of the reparameterisation, s) are stateless from the checkpointed stream;
under tf.distribute each replica draws its rows of the global batch and scales its losses by
1/replicas (tfgan_suite.replicas).
"""

from __future__ import annotations

import os

import keras
import numpy as np
import tensorflow as tf

from tfgan_suite import optimizers, penalties, randomness, replicas
from tfgan_suite.models import betavae as betavae_lib
from tfgan_suite.models.base import SuiteModel

LOGGED = ("d_loss", "r1", "d_real", "d_fake", "g_loss", "id_loss")


def _bce(logits, target):
    return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(
        labels=tf.fill(tf.shape(logits), target), logits=logits))


class IDGAN(SuiteModel):
    """G(concat(s, c)) -> images, D(x) -> logits, frozen encoder (beta-VAE) x -> (mu, logvar)."""

    def __init__(self, generator, discriminator, encoder, s_dim, w_info=1e-4, r1_weight=10.0,
                 ema_decay=0.999, seed=0, **kwargs):
        super().__init__(**kwargs)
        self.generator, self.discriminator, self.encoder = generator, discriminator, encoder
        self.encoder.trainable = False
        self.generator_ema = keras.models.clone_model(generator)
        self.generator_ema.set_weights(generator.get_weights())
        self.generator_ema.trainable = False
        self.s_dim = int(s_dim)
        self.c_dim = int(encoder.outputs[0].shape[-1])
        if int(generator.inputs[0].shape[-1]) != self.s_dim + self.c_dim:
            raise ValueError("the generator must take s_dim + c_dim inputs")
        self.w_info, self.r1_weight = float(w_info), float(r1_weight)
        self.ema_decay = float(ema_decay)
        self._init_state(seed, LOGGED)

    def compile(self, d_optimizer, g_optimizer, **kwargs):
        super().compile(**kwargs)
        self.d_optimizer, self.g_optimizer = d_optimizer, g_optimizer

    @property
    def batches_per_step(self) -> int:
        return 1

    def sample_s(self, n):
        return randomness.normal((n, self.s_dim), self._seed())

    def encode(self, x):
        """(mu, logvar) of the frozen q(c|x) for images in [-1, 1]."""
        return self.encoder(betavae_lib.to_unit_range(x), training=False)

    def generate(self, c, s=None):
        """Images in [-1, 1] from the averaged generator; s defaults to zeros when s_dim = 0."""
        c = tf.convert_to_tensor(c, tf.float32)
        if s is None:
            s = tf.zeros((tf.shape(c)[0], self.s_dim))
        return self.generator_ema(tf.concat([s, c], 1), training=False)

    def call(self, inputs, training=False):
        c, s = inputs
        return self.generate(c, s)

    def train_step(self, data):
        x, _ = data
        n = tf.shape(x)[0]
        mu, logvar = self.encode(x)
        c = mu + tf.exp(0.5 * logvar) * randomness.normal((n, self.c_dim), self._seed())

        fake = self.generator(tf.concat([self.sample_s(n), c], 1), training=True)
        with tf.GradientTape() as tape:
            d_real, r1 = penalties.r1_penalty(lambda v: self.discriminator(v, training=True), x,
                                              return_scores=True)
            d_fake = self.discriminator(fake, training=True)
            d_loss = _bce(d_real, 1.0) + _bce(d_fake, 0.0) + self.r1_weight * r1
            replica_d_loss = d_loss * replicas.loss_scale()   # optimizers sum over replicas
        d_vars = self.discriminator.trainable_variables
        self.d_optimizer.apply_gradients(zip(tape.gradient(replica_d_loss, d_vars), d_vars))

        with tf.GradientTape() as tape:
            fake = self.generator(tf.concat([self.sample_s(n), c], 1), training=True)
            g_adv = _bce(self.discriminator(fake, training=True), 1.0)
            fake_mu, fake_logvar = self.encode(fake)
            id_loss = betavae_lib.gaussian_nll(c, fake_mu, fake_logvar)
            g_loss = g_adv + self.w_info * id_loss
            replica_g_loss = g_loss * replicas.loss_scale()
        g_vars = self.generator.trainable_variables
        self.g_optimizer.apply_gradients(zip(tape.gradient(replica_g_loss, g_vars), g_vars))

        for average, current in zip(self.generator_ema.weights, self.generator.weights):
            average.assign(self.ema_decay * average + (1.0 - self.ema_decay) * current)
        self.step.assign_add(1)
        return self.loss_trackers.update(
            {"d_loss": d_loss, "r1": r1, "d_real": tf.reduce_mean(d_real),
             "d_fake": tf.reduce_mean(d_fake), "g_loss": g_adv, "id_loss": id_loss})

    # ---- monitoring and export ----

    def grid_fn(self, source, rows, seed):
        """Latent traversal from the code of one fixed real image (row j varies c_j from -3 to
        3), s fixed; the averaged generator."""
        anchor = self.encode(betavae_lib.anchor_images(source, seed))[0].numpy()[0]
        s = np.random.default_rng(seed).normal(size=(1, self.s_dim)).astype(np.float32)

        def sample():
            def decode(c):
                return self.generate(c, np.repeat(s, len(c), 0)).numpy()
            return betavae_lib.traversal_grid(decode, anchor, betavae_lib.traversal_values())
        return sample

    def export_trackables(self):
        return [self.generator_ema, self.encoder]

    def serving_endpoints(self):
        """serving_default(c [None, c_dim], s [None, s_dim] when s_dim > 0) -> {"images"};
        encode(images in [-1, 1]) -> {"mean", "log_variance"} of the distilled encoder."""
        image_shape = tuple(self.encoder.inputs[0].shape[1:])
        c_spec = tf.TensorSpec([None, self.c_dim], tf.float32, name="c")
        if self.s_dim:
            endpoint = ("serving_default", lambda c, s: {"images": self.generate(c, s)},
                        [c_spec, tf.TensorSpec([None, self.s_dim], tf.float32, name="s")])
        else:
            endpoint = ("serving_default", lambda c: {"images": self.generate(c)}, [c_spec])

        def encode(images):
            mu, logvar = self.encode(images)
            return {"mean": mu, "log_variance": logvar}
        return [endpoint, ("encode", encode, [tf.TensorSpec((None,) + image_shape, tf.float32,
                                                             name="images")])]

    def export_metadata(self):
        return {"c_dim": self.c_dim, "s_dim": self.s_dim, "c_distribution": "normal(0, 1)",
                "s_distribution": "normal(0, 1)", "generator": "exponential moving average "
                f"(decay {self.ema_decay})"}

    def optimizer_variables(self):
        return [(self.d_optimizer, self.discriminator.trainable_variables),
                (self.g_optimizer, self.generator.trainable_variables)]

    def trackables(self):
        return dict(generator=self.generator, generator_ema=self.generator_ema,
                    discriminator=self.discriminator, encoder=self.encoder,
                    d_optimizer=self.d_optimizer, g_optimizer=self.g_optimizer, step=self.step,
                    noise_seed=self.noise_seed.state)


# ------------------------------------------------------------------ builders

def rmsprop(learning_rate):
    """The original's optimizer: torch.optim.RMSprop(lr, alpha=0.99, eps=1e-8), its update
    exactly (optimizers.TorchRMSprop; Keras's RMSprop places eps differently)."""
    return optimizers.TorchRMSprop(learning_rate, rho=0.99, epsilon=1e-8)


def build_betavae(config, info):
    from tfgan_suite.nets import idgan_nets

    model = betavae_lib.BetaVAE(idgan_nets.vae_encoder(info.example_shape, config.c_dim),
                                idgan_nets.vae_decoder(info.example_shape, config.c_dim),
                                beta=config.beta, likelihood=config.likelihood, seed=config.seed)
    model.compile(optimizers.adam(config.learning_rate, config.beta1, config.beta2),
                  jit_compile=False)
    return model


def build_idgan(config, info, restore_encoder=True):
    """The ID-GAN of `config`; the encoder's weights come from the newest checkpoint of
    config.vae_run_dir when that run is there (training always checks it is; a trained ID-GAN
    run holds the encoder in its own checkpoints, so evaluating it does not need it)."""
    from tfgan_suite.models import idgan_defaults
    from tfgan_suite.nets import idgan_nets

    shape = info.example_shape
    if idgan_defaults.uses_dsprites_networks(config.dataset):
        generator = idgan_nets.dsprites_generator(config.z_dim, shape)
        discriminator = idgan_nets.dsprites_discriminator(shape)
    else:
        generator = idgan_nets.resnet_generator(config.z_dim, shape)
        discriminator = idgan_nets.resnet_discriminator(shape)
    encoder = idgan_nets.vae_encoder(shape, config.c_dim)
    if restore_encoder and os.path.isfile(os.path.join(config.vae_run_dir, "config.json")):
        encoder.set_weights(restore_vae(config.vae_run_dir).encoder.get_weights())
    model = IDGAN(generator, discriminator, encoder, config.s_dim, w_info=config.w_info,
                  r1_weight=config.penalty_weight, ema_decay=config.ema_decay, seed=config.seed)
    model.compile(d_optimizer=rmsprop(config.d_learning_rate),
                  g_optimizer=rmsprop(config.learning_rate), jit_compile=False)
    return model


def restore_vae(vae_run_dir):
    """The trained beta-VAE of a stage-1 run directory (newest readable checkpoint)."""
    from tfgan_suite import data, runs

    vae_config = runs.read_config(vae_run_dir)
    vae = build_betavae(vae_config, data.describe(vae_config.dataset,
                                                  **vae_config.dataset_options))
    manager = runs.checkpoint_manager(vae, vae_run_dir, vae_config.keep_checkpoints)
    runs.restore_latest(vae, manager, require=True, expect_partial=True)
    return vae


def build(config, info):
    if config.model == "betavae":
        return build_betavae(config, info)
    return build_idgan(config, info)
