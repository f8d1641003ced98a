"""Conditional WGAN-GP (Fabbri, Conditional Wasserstein GANs; cameronfabbri/cWGANs).

One `train_step` is one generator iteration of Gulrajani et al.'s Algorithm 1 with the
condition y fed to both networks (Fabbri Sec. IV): n_critic critic updates, each on a fresh
real batch and fresh z (lines 2-9), then one generator update whose y comes from another
fresh real batch (lines 11-12), as the original code feeds G the real batch's labels.

Every random draw (z, the penalty's eps, DiffAugment) is stateless, seeded from `noise_seed`,
a checkpointed stream: N iterations equal N/2 + checkpoint + restore + N/2, bit for bit.
Under tf.distribute each replica draws its rows of the global batch's values and its losses
are scaled by 1/replicas (tfgan_suite.replicas), so R replicas train as one device would on
the same global batch (BatchNorm statistics aside: see --sync_batch_norm).
Losses are `keras.metrics.Mean` trackers updated every iteration (models/base.py).
"""

from __future__ import annotations

import functools

import keras
import numpy as np
import tensorflow as tf

from tfgan_suite import augment, conditions, losses, penalties, randomness, replicas
from tfgan_suite.models.base import SuiteModel

LOGGED = ("d_loss", "gradient_penalty", "d_real", "d_fake", "wasserstein", "g_loss")
AUX_LOGGED = ("aux_real_loss", "aux_fake_loss")


def _softmax_cross_entropy(labels, logits):
    return tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=labels, logits=logits))


def _sigmoid_cross_entropy(labels, logits):
    return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits))


AUX_LOSSES = {"onehot": _softmax_cross_entropy, "binary": _sigmoid_cross_entropy}


class CWGAN(SuiteModel):
    """Conditional GAN G(z, y), D(x, y) trained with a selectable adversarial loss.

    Args:
      generator, critic: Keras models G([z, y]) -> images, D([x, y]) -> [B, 1] scores.
      z_dim: latent size. z_mean: z ~ N(z_mean, 1); the original trains with -1 (CelebA, MNIST).
      loss: name in losses.LOSSES ("wgan" is the paper's).
      penalty: "gp" (WGAN-GP, Fabbri Eq. 5) or "none".
      penalty_weight: lambda (10).
      original_gp: reproduce the original's gradient penalty (one eps per batch, norm over
        axis 1 only) instead of the correct one.
      n_critic: critic updates per generator update (5).
      generator_updates: generator updates per iteration (1; the original MNIST code runs 2).
      relu_output: the generator ends in BN + ReLU with pixels in [0, 1] (original MNIST);
        real batches (always [-1, 1] from the pipeline) are mapped to [0, 1] for the critic,
        and `generate` maps back to [-1, 1].
      batch_stats_at_inference: sample with batch statistics in BatchNorm, as the original
        always does; default uses the moving averages (Keras inference mode).
      diffaugment: DiffAugment policy (e.g. "color,translation,cutout") applied to real and
        generated images in both updates; "" (default, the paper) for none.
      seed: seeds the random stream (z, eps, DiffAugment), whose state lives in checkpoints
        so resumes continue it.
      aux_classifier_weight: weight of the auxiliary classification loss (AC-GAN, Odena et al.
        2017) when the critic has an auxiliary head (build_critic(aux_outputs=...)): the critic
        classifies real images, the generator is pushed to make its images classified as y, as
        the conditional CIFAR-10 WGAN-GP of Gulrajani et al. (igul222/improved_wgan_training,
        ACGAN_SCALE on real, ACGAN_SCALE_G on fake; one weight for both here). 0: the paper.
      aux_label_kind: "onehot" (softmax cross-entropy) or "binary" (sigmoid cross-entropy per
        attribute) labels for the auxiliary loss.
    """

    def __init__(self, generator, critic, z_dim, z_mean=-1.0, loss="wgan", penalty="gp",
                 penalty_weight=10.0, original_gp=False, n_critic=5, generator_updates=1,
                 relu_output=False, batch_stats_at_inference=False, diffaugment="", seed=0,
                 aux_classifier_weight=0.0, aux_label_kind="onehot", **kwargs):
        super().__init__(**kwargs)
        self.generator = generator
        self.critic = critic
        self.z_dim = int(z_dim)
        self.z_mean = float(z_mean)
        self.adversarial_loss = losses.get_loss(loss)
        self.penalty = None if penalty == "none" else penalties.get_penalty(penalty)
        if original_gp:
            if penalty != "gp":
                raise ValueError("original_gp applies to the 'gp' penalty only")
            self.penalty = functools.partial(penalties.gradient_penalty, original_cwgan=True)
        self.penalty_weight = float(penalty_weight)
        self.n_critic = int(n_critic)
        self.generator_updates = int(generator_updates)
        self.relu_output = bool(relu_output)
        self.batch_stats_at_inference = bool(batch_stats_at_inference)
        augment.parse_policy(diffaugment)  # unknown policies fail here, not mid-training
        self.diffaugment = diffaugment
        self.aux_classifier_weight = float(aux_classifier_weight)
        if aux_label_kind not in AUX_LOSSES:
            raise ValueError(f"aux_label_kind must be one of {sorted(AUX_LOSSES)}")
        self.aux_loss = AUX_LOSSES[aux_label_kind]
        has_head = isinstance(getattr(critic, "output", None), (list, tuple))
        if bool(self.aux_classifier_weight) != has_head:
            raise ValueError("aux_classifier_weight > 0 needs a critic with an auxiliary head "
                             "(build_critic(aux_outputs=...)) and a head needs a weight > 0")
        self.loss_name = loss
        self._init_state(seed, losses.logged_names(loss, LOGGED) + (AUX_LOGGED if has_head else ()))

    def compile(self, d_optimizer, g_optimizer, **kwargs):
        super().compile(**kwargs)
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer

    @property
    def batches_per_step(self) -> int:
        """Real batches one train_step consumes: n_critic for the critic, one for G's labels."""
        return self.n_critic + 1

    def sample_z(self, n):
        return randomness.normal((n, self.z_dim), self._seed(), mean=self.z_mean)

    def _augment(self, x):
        """DiffAugment (Zhao et al. 2020) on every image the critic sees, reals and fakes alike,
        with independent parameters per call."""
        if not self.diffaugment:
            return x
        return augment.diff_augment(x, self.diffaugment, seed=self._seed())

    def _critic_units(self, x):
        return (x + 1.0) * 0.5 if self.relu_output else x

    def generate(self, z, y, training=None):
        """Images in [-1, 1] for latent z and condition y (used by sampling and export)."""
        if training is None:
            training = self.batch_stats_at_inference
        images = self.generator([z, y], training=training)
        return images * 2.0 - 1.0 if self.relu_output else images

    def call(self, inputs, training=False):
        z, y = inputs
        return self.generate(z, y, training=training)

    def _critic(self, x, y):
        """(scores [B, 1], auxiliary logits or None)."""
        outputs = self.critic([x, y], training=True)
        if isinstance(outputs, (list, tuple)):
            return outputs[0], outputs[1]
        return outputs, None

    def critic_step(self, real, y):
        """Algorithm 1 lines 3-9: one critic update on a fresh real batch and fresh z."""
        z = self.sample_z(tf.shape(real)[0])
        fake = self._augment(self.generator([z, y], training=True))
        real = self._augment(self._critic_units(real))
        with tf.GradientTape() as tape:
            # One critic pass over [real; fake]: half the kernel launches of two passes.
            scores, logits = self._critic(tf.concat([real, fake], 0), tf.concat([y, y], 0))
            d_real, d_fake = tf.split(scores, 2)
            loss = self.adversarial_loss(d_real, d_fake).critic
            penalty = tf.constant(0.0)
            if self.penalty is not None:
                penalty = self.penalty(lambda x: self._critic(x, y)[0], real, fake,
                                       seed=self._seed())
            total = loss + self.penalty_weight * penalty
            logs = {}
            if logits is not None:   # AC-GAN: the critic classifies the real images only
                logs["aux_real_loss"] = self.aux_loss(y, tf.split(logits, 2)[0])
                total += self.aux_classifier_weight * logs["aux_real_loss"]
            replica_total = total * replicas.loss_scale()   # optimizers sum over replicas
        grads = tape.gradient(replica_total, self.critic.trainable_variables)
        self.d_optimizer.apply_gradients(zip(grads, self.critic.trainable_variables))
        return {"d_loss": total, "gradient_penalty": penalty,
                **losses.score_logs(self.loss_name, d_real, d_fake), **logs}

    def generator_step(self, y):
        """Algorithm 1 lines 11-12: one generator update with labels of a fresh real batch.
        Returns (generator loss, auxiliary loss on the fakes or None)."""
        z = self.sample_z(tf.shape(y)[0])
        with tf.GradientTape() as tape:
            fake = self._augment(self.generator([z, y], training=True))
            d_fake, logits = self._critic(fake, y)
            loss = self.adversarial_loss(tf.zeros_like(d_fake), d_fake).generator
            aux = None
            if logits is not None:   # AC-GAN: G's images should be classified as y
                aux = self.aux_loss(y, logits)
                loss += self.aux_classifier_weight * aux
            replica_loss = loss * replicas.loss_scale()
        grads = tape.gradient(replica_loss, self.generator.trainable_variables)
        self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_variables))
        return loss, aux

    def train_step(self, data):
        x, y = data  # [n_critic + 1, B, ...]: one fresh batch per update
        critic_logs = [self.critic_step(x[i], y[i]) for i in range(self.n_critic)]
        for _ in range(self.generator_updates):
            g_loss, aux_fake = self.generator_step(y[self.n_critic])
        self.step.assign_add(1)
        logs = {k: tf.add_n([l[k] for l in critic_logs]) / self.n_critic for k in critic_logs[0]}
        logs["g_loss"] = g_loss
        if aux_fake is not None:
            logs["aux_fake_loss"] = aux_fake
        return self.loss_trackers.update(logs)

    # ---- monitoring and export (used by tfgan_suite.callbacks / tfgan_suite.export) ----

    def grid_fn(self, source, rows, seed):
        """A callable returning the fixed-z grid [rows, cols, H, W, C]: rows = z, cols = y."""
        ys = conditions.grid_columns(source.info, source.labels)
        z = conditions.fixed_z(rows, self.z_dim, self.z_mean, seed)
        cols = len(ys)
        zz, yy = np.repeat(z, cols, axis=0), np.tile(ys, (rows, 1))

        def sample():
            images = self.generate(zz, yy).numpy()
            return images.reshape((rows, cols) + images.shape[1:])
        return sample

    def export_trackables(self):
        return [self.generator]

    def serving_endpoints(self):
        """serving_default(z [None, z_dim], y [None, y_dim]) -> {"images": [None, H, W, C]}."""
        y_dim = self.generator.inputs[1].shape[-1]

        def serve(z, y):
            return {"images": self.generate(z, y)}
        signature = [tf.TensorSpec([None, self.z_dim], tf.float32, name="z"),
                     tf.TensorSpec([None, y_dim], tf.float32, name="y")]
        return [("serving_default", serve, signature)]

    def export_metadata(self):
        return {"z_distribution": f"normal(mean={self.z_mean}, std=1)"}

    def optimizer_variables(self):
        return [(self.d_optimizer, self.critic.trainable_variables),
                (self.g_optimizer, self.generator.trainable_variables)]

    def trackables(self):
        """Everything a checkpoint must hold to resume training exactly."""
        return dict(generator=self.generator, critic=self.critic, d_optimizer=self.d_optimizer,
                    g_optimizer=self.g_optimizer, step=self.step,
                    noise_seed=self.noise_seed.state)
