"""ICGAN: Information Compensation GAN (Wang, Wang, Tuytelaars, Oramas; "Information
Compensation for Deep Conditional Generative Networks"), its "w/o IC" ablation and the
InfoGAN baseline of its tables. No public code exists.

Latent (Sec. 4.1): z = [c_digit | c_colour | noise], c_digit one-hot over 10 categories,
c_colour the RGB of one of the 100 ColorMNIST hues HSV(k/100, 1, 1) ("the RGB background colour
information converted from 100 solid colors"), noise ~ U(0, 1)^(z_dim - 13).

One `train_step` is one generator iteration: n_critic discriminator updates, each on a fresh
real batch and fresh latents, then one generator update. Both minimise their adversarial loss
plus the mutual-information terms of Eq. 5 on the generated images,
    L_total = L_adv + lambda1 L_cat (Eq. 3, softmax cross-entropy of the Q head's digit logits)
                    + lambda2 L_con (Eq. 4, mean squared error of the Q head's colour),
L_adv being WGAN-GP (Eq. 2, lambda = 10) for ICGAN and w/o IC, and the non-saturating GAN loss
for InfoGAN (Chen et al. 2016). The Q head shares the discriminator's trunk and is updated with
it (InfoGAN's arrangement). Learning rates follow TTUR (Heusel et al. 2017; separate rates for
G and D) and drop by `lr_drop_factor` every `lr_drop_every` iterations (paper: 10% every 5
epochs).

Random draws are stateless, seeded from the checkpointed `noise_seed` stream: a resumed run
repeats an uninterrupted one exactly.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from tfgan_suite import losses, optimizers, penalties, randomness, replicas
from tfgan_suite.models.base import SuiteModel
from tfgan_suite.nets import icgan_nets

NUM_DIGITS, COLOR_DIM, CODE_DIM = icgan_nets.NUM_DIGITS, icgan_nets.COLOR_DIM, icgan_nets.CODE_DIM
NUM_HUES = 100
LOGGED = ("d_loss", "gradient_penalty", "d_real", "d_fake", "wasserstein", "g_loss",
          "info_digit_ce", "info_color_mse", "q_digit_accuracy", "learning_rate")


def hue_to_rgb_tf(hue):
    """TensorFlow twin of tfgan_suite.hue.hue_to_rgb: RGB in [0, 1] of HSV(hue, 1, 1)."""
    h = tf.math.floormod(tf.cast(hue, tf.float32), 1.0)[..., None]
    return tf.clip_by_value(
        tf.abs(tf.math.floormod(6.0 * h + tf.constant([0.0, 4.0, 2.0]), 6.0) - 3.0) - 1.0,
        0.0, 1.0)


def compose_latent(digits, hues, noise):
    """z [B, 13 + noise_dim] from digit ids int [B], hues float [B] in [0, 1), noise [B, n]."""
    return tf.concat([tf.one_hot(tf.cast(digits, tf.int32), NUM_DIGITS), hue_to_rgb_tf(hues),
                      tf.cast(noise, tf.float32)], axis=1)


class ICGAN(SuiteModel):
    """Unsupervised conditional GAN with categorical and continuous codes (InfoGAN-style).

    Args:
      generator: G(z) -> images in [-1, 1]; discriminator: D(x) -> [score, digit logits, colour].
      z_dim: latent size (13 code dimensions + noise).
      loss, penalty, penalty_weight: adversarial loss (losses.py) and critic regulariser.
      n_critic: discriminator updates per generator update.
      info_digit_weight, info_color_weight: lambda1, lambda2 of Eq. 5.
      learning_rate, d_learning_rate: TTUR rates of G and D.
      lr_drop_every, lr_drop_factor: the rates are multiplied by lr_drop_factor every
        lr_drop_every iterations (0: never).
      num_hues: the colour code takes the RGB of hue k / num_hues, k uniform.
    """

    def __init__(self, generator, discriminator, z_dim=100, loss="wgan", penalty="gp",
                 penalty_weight=10.0, n_critic=1, info_digit_weight=1.0, info_color_weight=1.0,
                 learning_rate=5e-2, d_learning_rate=8e-2, lr_drop_every=0, lr_drop_factor=0.9,
                 num_hues=NUM_HUES, seed=0, **kwargs):
        super().__init__(**kwargs)
        if z_dim <= CODE_DIM:
            raise ValueError(f"z_dim must exceed the {CODE_DIM} code dimensions, got {z_dim}")
        self.generator, self.discriminator = generator, discriminator
        self.z_dim, self.noise_dim = int(z_dim), int(z_dim) - CODE_DIM
        self.adversarial_loss = losses.get_loss(loss)
        self.penalty = None if penalty == "none" else penalties.get_penalty(penalty)
        self.penalty_weight = float(penalty_weight)
        self.n_critic = int(n_critic)
        self.info_digit_weight, self.info_color_weight = float(info_digit_weight), \
            float(info_color_weight)
        self.base_learning_rate, self.base_d_learning_rate = float(learning_rate), \
            float(d_learning_rate)
        self.lr_drop_every, self.lr_drop_factor = int(lr_drop_every), float(lr_drop_factor)
        self.num_hues = int(num_hues)
        self.loss_name = loss
        self._init_state(seed, losses.logged_names(loss, LOGGED))

    def compile(self, d_optimizer, g_optimizer, **kwargs):
        super().compile(**kwargs)
        self.d_optimizer, self.g_optimizer = d_optimizer, g_optimizer

    @property
    def batches_per_step(self) -> int:
        """One real batch per discriminator update; G needs no real data."""
        return self.n_critic

    # ---- latents ----

    def sample_latent(self, n):
        """(z [n, z_dim], digit ids [n], colour codes [n, 3]) from the paper's prior."""
        # randomness.uniform: under tf.distribute each replica keeps its rows of the global draw.
        digits = randomness.uniform([n], self._seed(), 0, NUM_DIGITS, tf.int32)
        hue_ids = randomness.uniform([n], self._seed(), 0, self.num_hues, tf.int32)
        noise = randomness.uniform([n, self.noise_dim], self._seed())
        z = compose_latent(digits, tf.cast(hue_ids, tf.float32) / self.num_hues, noise)
        return z, digits, z[:, NUM_DIGITS:CODE_DIM]

    def generate(self, z, training=False):
        """G(z) in [-1, 1]."""
        return self.generator(z, training=training)

    def call(self, z, training=False):
        return self.generate(z, training=training)

    # ---- Eq. 5 ----

    def _info_losses(self, digit_logits, color, digits, colors):
        """(L_cat, L_con, digit accuracy of Q) on generated images (Eqs. 3, 4)."""
        ce = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=digits, logits=digit_logits))
        mse = tf.reduce_mean(tf.square(color - colors))
        accuracy = tf.reduce_mean(tf.cast(
            tf.equal(tf.argmax(digit_logits, axis=1, output_type=tf.int32), digits), tf.float32))
        return ce, mse, accuracy

    def _info_total(self, ce, mse):
        return self.info_digit_weight * ce + self.info_color_weight * mse

    def discriminator_step(self, real):
        z, digits, colors = self.sample_latent(tf.shape(real)[0])
        fake = self.generator(z, training=True)
        with tf.GradientTape() as tape:
            d_real = self.discriminator(real, training=True)[0]
            d_fake, digit_logits, color = self.discriminator(fake, training=True)
            loss = self.adversarial_loss(d_real, d_fake).critic
            penalty = tf.constant(0.0)
            if self.penalty is not None:
                penalty = self.penalty(lambda x: self.discriminator(x, training=True)[0], real,
                                       fake, seed=self._seed())
            ce, mse, _ = self._info_losses(digit_logits, color, digits, colors)
            total = loss + self.penalty_weight * penalty + self._info_total(ce, mse)
            replica_total = total * replicas.loss_scale()   # optimizers sum over replicas
        variables = self.discriminator.trainable_variables
        self.d_optimizer.apply_gradients(zip(tape.gradient(replica_total, variables), variables))
        return {"d_loss": total, "gradient_penalty": penalty,
                **losses.score_logs(self.loss_name, d_real, d_fake)}

    def generator_step(self, batch_size):
        z, digits, colors = self.sample_latent(batch_size)
        with tf.GradientTape() as tape:
            fake = self.generator(z, training=True)
            d_fake, digit_logits, color = self.discriminator(fake, training=True)
            adversarial = self.adversarial_loss(tf.zeros_like(d_fake), d_fake).generator
            ce, mse, accuracy = self._info_losses(digit_logits, color, digits, colors)
            loss = adversarial + self._info_total(ce, mse)
            replica_loss = loss * replicas.loss_scale()
        variables = self.generator.trainable_variables
        self.g_optimizer.apply_gradients(zip(tape.gradient(replica_loss, variables), variables))
        return {"g_loss": loss, "info_digit_ce": ce, "info_color_mse": mse,
                "q_digit_accuracy": accuracy}

    def learning_rate_factor(self):
        """lr_drop_factor ** floor(step / lr_drop_every) (1 when lr_drop_every is 0)."""
        if self.lr_drop_every <= 0:
            return tf.constant(1.0)
        drops = tf.cast(self.step // self.lr_drop_every, tf.float32)
        return tf.pow(tf.constant(self.lr_drop_factor, tf.float32), drops)

    def train_step(self, data):
        real, _ = data   # [B, ...] (n_critic = 1) or [n_critic, B, ...]
        factor = self.learning_rate_factor()
        self.g_optimizer.learning_rate.assign(self.base_learning_rate * factor)
        self.d_optimizer.learning_rate.assign(self.base_d_learning_rate * factor)
        reals = [real] if self.n_critic == 1 else [real[i] for i in range(self.n_critic)]
        d_logs = [self.discriminator_step(r) for r in reals]
        logs = {k: tf.add_n([l[k] for l in d_logs]) / self.n_critic for k in d_logs[0]}
        logs.update(self.generator_step(tf.shape(reals[0])[0]))
        logs["learning_rate"] = self.base_learning_rate * factor
        self.step.assign_add(1)
        return self.loss_trackers.update(logs)

    # ---- monitoring, checkpoints, export ----

    def grid_fn(self, source, rows, seed):
        """Digit x hue grid: row r = digit code r (all 10), column j = hue 10 j / 100, one fixed
        noise vector (seeded), as the paper's Fig. 4a rows and Fig. 9's hue steps."""
        del source, rows
        noise = np.random.default_rng(seed).uniform(size=(1, self.noise_dim)).astype(np.float32)
        digits, hue_steps = np.arange(NUM_DIGITS), np.arange(10) / 10.0
        zz = compose_latent(np.repeat(digits, len(hue_steps)), np.tile(hue_steps, NUM_DIGITS),
                            np.repeat(noise, NUM_DIGITS * len(hue_steps), axis=0))

        def sample():
            images = self.generate(zz).numpy()
            return images.reshape((NUM_DIGITS, len(hue_steps)) + images.shape[1:])
        return sample

    def export_trackables(self):
        return [self.generator]

    def serving_endpoints(self):
        """serving_default(code [None, 13], noise [None, z_dim - 13]) -> {"images"}; code =
        [one-hot digit (10) | RGB colour in [0, 1] (3)], noise ~ U(0, 1).
        generate_digit_hue(digit int32 [None], hue float32 [None] in [0, 1), noise) -> {"images"}
        with the code built from the digit category and the hue's RGB, HSV(hue, 1, 1)."""
        def serve(code, noise):
            return {"images": self.generate(tf.concat([code, noise], axis=1))}

        def digit_hue(digit, hue, noise):
            return {"images": self.generate(compose_latent(digit, hue, noise))}
        noise_spec = tf.TensorSpec([None, self.noise_dim], tf.float32, name="noise")
        return [("serving_default", serve,
                 [tf.TensorSpec([None, CODE_DIM], tf.float32, name="code"), noise_spec]),
                ("generate_digit_hue", digit_hue,
                 [tf.TensorSpec([None], tf.int32, name="digit"),
                  tf.TensorSpec([None], tf.float32, name="hue"), noise_spec])]

    def export_metadata(self):
        return {"z_distribution": "z = [one-hot digit code (10) | RGB colour code (3) | "
                                  f"noise ~ U(0, 1) ({self.noise_dim})]",
                "code_dim": CODE_DIM, "noise_dim": self.noise_dim, "num_digit_codes": NUM_DIGITS,
                "color_code": "RGB in [0, 1] of HSV(hue, 1, 1)", "num_hues": self.num_hues}

    def optimizer_variables(self):
        return [(self.d_optimizer, self.discriminator.trainable_variables),
                (self.g_optimizer, self.generator.trainable_variables)]

    def trackables(self):
        return dict(generator=self.generator, discriminator=self.discriminator,
                    d_optimizer=self.d_optimizer, g_optimizer=self.g_optimizer, step=self.step,
                    noise_seed=self.noise_seed.state)


def build(config, info) -> ICGAN:
    """A compiled ICGAN (or w/o IC, or InfoGAN) for a resolved config.ICGANConfig."""
    generator, discriminator = icgan_nets.build_networks(config.arch, config.z_dim, config.ic,
                                                         config.width)
    model = ICGAN(generator, discriminator, z_dim=config.z_dim, loss=config.loss,
                  penalty=config.penalty, penalty_weight=config.penalty_weight,
                  n_critic=config.n_critic, info_digit_weight=config.info_digit_weight,
                  info_color_weight=config.info_color_weight,
                  learning_rate=config.learning_rate, d_learning_rate=config.d_learning_rate,
                  lr_drop_every=config.lr_drop_every, lr_drop_factor=config.lr_drop_factor,
                  num_hues=config.num_hues, seed=config.seed)

    def adam(rate):
        return optimizers.adam(rate, config.beta1, config.beta2)
    # No XLA: slower on CPU for these networks, and Keras' "auto" would switch it on on a GPU.
    model.compile(d_optimizer=adam(config.d_learning_rate), g_optimizer=adam(config.learning_rate),
                  jit_compile=False)
    return model
