"""beta-VAE (Higgins et al. 2017), the first stage of ID-GAN (Lee et al. 2020, Eq. 1).

Maximises E_q(c|x)[log p(x|c)] - beta KL(q(c|x) || N(0, I)) with the original's estimators
(1Konny/idgan gan_training/dvae/loss.py, from 1Konny/Beta-VAE), per batch of B:
  Bernoulli  recon = sum over pixels of BCE(logits, x) / B          (x in {0, 1}: dSprites)
  Gaussian   recon = sum over pixels of (sigmoid(logits) - x)^2 / B (x in [0, 1])
  KL         mean over the batch of sum_j -1/2 (1 + logvar_j - mu_j^2 - exp(logvar_j))
  loss       recon + beta * KL
c is the reparameterised sample mu + exp(logvar / 2) * eps; eps is drawn statelessly from the
checkpointed `noise_seed` stream, so a resumed run repeats an uninterrupted one; under
tf.distribute each replica draws its rows of the global batch's eps and scales its loss by
1/replicas (tfgan_suite.replicas).

The encoder reads pixels in [0, 1]; the data pipeline's [-1, 1] batches are mapped first.
Generation decodes c ~ N(0, I); `encode` gives (mu, logvar), the representation the
disentanglement metrics read (mu).
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

from tfgan_suite import randomness, replicas
from tfgan_suite.models.base import SuiteModel

LOGGED = ("loss", "recon_loss", "kld")
LIKELIHOODS = ("bernoulli", "gaussian")
TRAVERSAL_LIMIT = 3.0        # the original's traversal: -3 .. 3 in steps of 2/3 (10 values)
TRAVERSAL_STEPS = 10


def reconstruction_loss(x01, logits, likelihood):
    """Summed over pixels, averaged over the batch (the original's reduction='sum' / B)."""
    batch = tf.cast(tf.shape(x01)[0], tf.float32)
    if likelihood == "bernoulli":
        per_pixel = tf.nn.sigmoid_cross_entropy_with_logits(labels=x01, logits=logits)
    else:
        per_pixel = tf.square(tf.sigmoid(logits) - x01)
    return tf.reduce_sum(per_pixel) / batch


def kl_per_dimension(mu, logvar):
    """E_batch KL(N(mu, exp(logvar)) || N(0, 1)) per code dimension, [c_dim]."""
    return tf.reduce_mean(-0.5 * (1.0 + logvar - tf.square(mu) - tf.exp(logvar)), axis=0)


def to_unit_range(x):
    """Model units [-1, 1] -> [0, 1], the encoder's input (the original's infodistil mode)."""
    return (x + 1.0) * 0.5


def traversal_grid(decode, anchor, values):
    """[c_dim, len(values), H, W, C]: row j changes c_j of `anchor` [c_dim] through `values`."""
    c_dim = len(anchor)
    codes = np.repeat(np.asarray(anchor, np.float32)[None, None], c_dim, 0)
    codes = np.repeat(codes, len(values), 1)                     # [c_dim, steps, c_dim]
    for j in range(c_dim):
        codes[j, :, j] = values
    images = np.asarray(decode(codes.reshape(-1, c_dim)))
    return images.reshape((c_dim, len(values)) + images.shape[1:])


def traversal_values():
    return np.linspace(-TRAVERSAL_LIMIT, TRAVERSAL_LIMIT, TRAVERSAL_STEPS).astype(np.float32)


def anchor_images(source, seed, count=1):
    """`count` fixed real images of the source in model units (chosen by `seed`)."""
    from tfgan_suite.data.base import to_model_units

    index = np.sort(np.random.default_rng(seed).choice(len(source), count, replace=False))
    return to_model_units(np.asarray(source.examples[index]))


class BetaVAE(SuiteModel):
    """Encoder q(c|x) = N(mu, diag exp(logvar)), decoder p(x|c) (Bernoulli or Gaussian)."""

    def __init__(self, encoder, decoder, beta=8.0, likelihood="bernoulli", seed=0, **kwargs):
        super().__init__(**kwargs)
        if likelihood not in LIKELIHOODS:
            raise ValueError(f"likelihood must be one of {LIKELIHOODS}")
        self.encoder, self.decoder = encoder, decoder
        self.c_dim = int(decoder.inputs[0].shape[-1])
        self.beta = float(beta)
        self.likelihood = likelihood
        self.kl_dims = tf.Variable(tf.zeros([self.c_dim]), trainable=False, name="kl_per_dim")
        self._init_state(seed, LOGGED)

    def compile(self, optimizer, **kwargs):
        super().compile(**kwargs)
        self.vae_optimizer = optimizer

    @property
    def batches_per_step(self) -> int:
        return 1

    def encode(self, x):
        """(mu, logvar) of q(c|x) for images x in [-1, 1]."""
        return self.encoder(to_unit_range(x), training=False)

    def decode(self, c):
        """Images in [-1, 1]: the decoder's mean, sigmoid(logits), mapped from [0, 1]."""
        return tf.sigmoid(self.decoder(c, training=False)) * 2.0 - 1.0

    def call(self, c, training=False):
        return self.decode(c)

    def train_step(self, data):
        x, _ = data
        x01 = to_unit_range(x)
        eps = randomness.normal((tf.shape(x)[0], self.c_dim),
                                self._seed())
        variables = self.encoder.trainable_variables + self.decoder.trainable_variables
        with tf.GradientTape() as tape:
            mu, logvar = self.encoder(x01, training=True)
            c = mu + tf.exp(0.5 * logvar) * eps
            recon = reconstruction_loss(x01, self.decoder(c, training=True), self.likelihood)
            kl_dims = kl_per_dimension(mu, logvar)
            kld = tf.reduce_sum(kl_dims)
            loss = recon + self.beta * kld
            replica_loss = loss * replicas.loss_scale()   # optimizers sum over replicas
        grads = tape.gradient(replica_loss, variables)
        self.vae_optimizer.apply_gradients(zip(grads, variables))
        self.step.assign_add(1)
        self.kl_dims.assign(kl_dims)
        return self.loss_trackers.update({"loss": loss, "recon_loss": recon, "kld": kld})

    # ---- monitoring and export ----

    def grid_fn(self, source, rows, seed):
        """Latent traversal of one fixed real image: row j varies c_j from -3 to 3."""
        anchor = self.encode(anchor_images(source, seed))[0].numpy()[0]

        def sample():
            return traversal_grid(lambda c: self.decode(c).numpy(), anchor, traversal_values())
        return sample

    def monitoring_scalars(self):
        """KL of each code dimension (last iteration): active dimensions carry information."""
        return {f"kl_per_dim/c{j}": float(v) for j, v in enumerate(self.kl_dims.numpy())}

    def export_trackables(self):
        return [self.encoder, self.decoder]

    def serving_endpoints(self):
        """serving_default(c [None, c_dim]) -> {"images"}; encode(images in [-1, 1]) ->
        {"mean", "log_variance"} of q(c|x)."""
        image_shape = tuple(self.encoder.inputs[0].shape[1:])

        def serve(c):
            return {"images": self.decode(c)}

        def encode(images):
            mu, logvar = self.encode(images)
            return {"mean": mu, "log_variance": logvar}
        return [("serving_default", serve, [tf.TensorSpec([None, self.c_dim], tf.float32, name="c")]),
                ("encode", encode, [tf.TensorSpec((None,) + image_shape, tf.float32,
                                                  name="images")])]

    def export_metadata(self):
        return {"c_dim": self.c_dim, "s_dim": 0, "c_distribution": "normal(0, 1)",
                "likelihood": self.likelihood, "beta": self.beta}

    def optimizer_variables(self):
        return [(self.vae_optimizer,
                 self.encoder.trainable_variables + self.decoder.trainable_variables)]

    def trackables(self):
        return dict(encoder=self.encoder, decoder=self.decoder, optimizer=self.vae_optimizer,
                    step=self.step, noise_seed=self.noise_seed.state)


def gaussian_nll(c, mu, logvar):
    """L_ID (ID-GAN Eq. 4 as the original's compute_infomax): the negative log-likelihood of c
    under N(mu, exp(logvar)), summed over dimensions, averaged over the batch:
    mean_b sum_j 1/2 [log 2 pi + logvar_j + (c_j - mu_j)^2 / (exp(logvar_j) + 1e-8)]."""
    per_dim = 0.5 * (math.log(2.0 * math.pi) + logvar +
                     tf.square(c - mu) / (tf.exp(logvar) + 1e-8))
    return tf.reduce_mean(tf.reduce_sum(per_dim, axis=1))
