"""InfoSCC-GAN (Kinakh et al., "Information-theoretic stochastic contrastive conditional GAN";
vkinakh/InfoSCC-GAN, src/trainer/conditional_generator_trainer.py), stage 3.

One `train_step` is one iteration of the original's loop:
  1. every `cls_reg_every`-th iteration (paper Sec. 3.3): a generator update on the
     classification loss alone, CE (classes) or BCE (binary attributes) of
     classifier(encoder(G(y, eps, zs))) against y = the real batch's conditions, through the
     frozen SimCLR encoder and linear classifier (Eq. 5);
  2. a discriminator update on DiffAugment(real) and DiffAugment(G(y_fake)) (each op applied
     with probability 0.6), loss by name (infoscc_losses.py);
  3. every `r1_every`-th iteration: a separate discriminator update on weight * R1 of
     D(DiffAugment(x)) w.r.t. the real x (the original's lazy R1, without StyleGAN2's
     r1_every scaling);
  4. a generator update on the adversarial loss + orth_weight * mean_l mean((U_l U_l^T - I)^2);
  5. EMA of G: ema <- d ema + (1 - d) G, d = 0.5^(B / 10,000).
y_fake: uniform one-hot classes; for binary attributes (CelebA), the real batch's attribute
vectors in a random order (keeps the attributes' co-occurrence). With k-means "inner"
attributes (encoder trained with --label_source=clusters) the real batch's conditions are its
nearest cluster centres in encoder-feature space.
The cadences use the absolute iteration (the original counts from the resume point), so a
resumed run repeats an uninterrupted one. Every random draw is stateless from the checkpointed
`noise_seed` stream.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from tfgan_suite import augment, infoscc_losses, optimizers, penalties, simclr
from tfgan_suite.data.base import DatasetInfo
from tfgan_suite.models.base import SuiteModel
from tfgan_suite.nets import eigengan

LOGGED = ("d_loss", "d_real", "d_fake", "g_loss", "g_adv", "orth")
LAZY = ("cls_loss", "r1")   # the value of the last iteration that ran them


class LastValue(keras.metrics.Metric):
    """The value of the most recent iteration whose `ran` flag was set (kept across resets, so
    a chunk of iterations without an R1 step logs the last R1 rather than a mean over none);
    0 until the first (iteration 0 runs both lazy steps)."""

    def __init__(self, name, **kwargs):
        super().__init__(name=name, **kwargs)
        self.last = self.add_variable(shape=(), initializer="zeros", name="last")

    def update_state(self, value, ran):
        self.last.assign(tf.where(tf.cast(ran, tf.bool), tf.cast(value, "float32"), self.last))

    def result(self):
        return tf.identity(self.last)

    def reset_state(self):
        pass


class InfoSCCGAN(SuiteModel):
    """Args:
      generator / generator_ema: nets.eigengan.EigenGenerator (the EMA copy samples/exports).
      discriminator: D(x) -> scores [B, 1] or a patch map.
      encoder: frozen SimCLR encoder images -> (h, z); classifier: frozen linear h -> logits.
      label_kind: "onehot" or "binary"; centres: k-means centres [K, F] for inner attributes.
    """

    def __init__(self, generator, generator_ema, discriminator, encoder, classifier, label_kind,
                 loss="hinge", r1_weight=10.0, r1_every=16, cls_reg_every=2, orth_weight=100.0,
                 diffaugment="color,translation,cutout", diffaugment_p=0.6, ema_decay=None,
                 centres=None, seed=0, **kwargs):
        super().__init__(**kwargs)
        self.generator, self.generator_ema = generator, generator_ema
        self.discriminator, self.encoder, self.classifier = discriminator, encoder, classifier
        self.label_kind = label_kind
        self.adversarial_loss = infoscc_losses.get_loss(loss)
        self.r1_weight, self.r1_every = float(r1_weight), int(r1_every)
        self.cls_reg_every, self.orth_weight = int(cls_reg_every), float(orth_weight)
        self.policy, self.diffaugment_p = diffaugment, float(diffaugment_p)
        self.ema_decay = ema_decay
        self.centres = None if centres is None else tf.constant(centres, tf.float32)
        self._init_state(seed, LOGGED)
        self.lazy_trackers = {name: LastValue(name=name) for name in LAZY}

    @property
    def metrics(self):
        return self.loss_trackers.metrics + list(self.lazy_trackers.values())

    @property
    def batches_per_step(self) -> int:
        return 1

    def compile(self, d_optimizer, g_optimizer, **kwargs):
        super().compile(**kwargs)
        self.d_optimizer, self.g_optimizer = d_optimizer, g_optimizer
        # Built now: the lazy updates run inside tf.cond, where no variable may be created.
        d_optimizer.build(self.discriminator.trainable_variables)
        g_optimizer.build(self.generator.trainable_variables)

    # ---- sampling ----

    @property
    def y_dim(self):
        return self.generator.y_dim

    def sample_noise(self, batch, seed):
        """(eps [B, eps_dim], zs [B, n_blocks, n_basis]), both N(0, I)."""
        g = self.generator
        s_eps, s_zs = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
        eps = tf.random.stateless_normal(tf.stack([batch, g.eps_dim]), s_eps)
        zs = tf.random.stateless_normal(tf.stack([batch, g.n_blocks, g.n_basis]), s_zs)
        return eps, zs

    def generate(self, y, eps, zs, ema=True, training=False):
        net = self.generator_ema if ema and self.generator_ema is not None else self.generator
        return net(y, eps, zs, training=training)

    def call(self, inputs, training=False):
        y, eps, zs = inputs
        return self.generate(y, eps, zs, training=training)

    def fake_labels(self, real_y, seed):
        batch = tf.shape(real_y)[0]
        if self.label_kind == "onehot":
            classes = tf.random.stateless_uniform(tf.stack([batch]), seed, 0, self.y_dim,
                                                  dtype=tf.int32)
            return tf.one_hot(classes, self.y_dim)
        return tf.gather(real_y, tf.random.experimental.stateless_shuffle(tf.range(batch), seed))

    def conditions_of(self, real, labels):
        """The conditions the classifier was trained on: the dataset's, or the nearest k-means
        centre of encoder(real) for inner attributes."""
        if self.centres is None:
            return labels
        h = self.encoder(real, training=False)[0]
        d = tf.reduce_sum(tf.square(h[:, None, :] - self.centres[None]), axis=2)
        return tf.one_hot(tf.argmin(d, axis=1), self.y_dim)

    def classify(self, images):
        """Classifier logits of images in [-1, 1] through the frozen encoder."""
        return self.classifier(self.encoder(images, training=False)[0], training=False)

    def _augment(self, x, seed):
        return augment.diff_augment(x, self.policy, seed=seed, probability=self.diffaugment_p)

    # ---- one iteration ----

    def classification_step(self, y):
        eps, zs = self.sample_noise(tf.shape(y)[0], self._seed())
        with tf.GradientTape() as tape:
            fake = self.generator(y, eps, zs, training=True)
            loss = simclr.classification_loss(self.classify(fake), y, self.label_kind)
        variables = self.generator.trainable_variables
        self.g_optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    def discriminator_step(self, real, real_y):
        batch = tf.shape(real)[0]
        y = self.fake_labels(real_y, self._seed())
        eps, zs = self.sample_noise(batch, self._seed())
        fake = self.generator(y, eps, zs, training=True)
        real_aug, fake_aug = self._augment(real, self._seed()), self._augment(fake, self._seed())
        with tf.GradientTape() as tape:
            d_real = self.discriminator(real_aug, training=True)
            d_fake = self.discriminator(fake_aug, training=True)
            loss = self.adversarial_loss(d_real, d_fake).critic
        variables = self.discriminator.trainable_variables
        self.d_optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return {"d_loss": loss, "d_real": tf.reduce_mean(d_real), "d_fake": tf.reduce_mean(d_fake)}

    def r1_step(self, real):
        seed = self._seed()
        with tf.GradientTape() as tape:
            r1 = penalties.r1_penalty(
                lambda x: self.discriminator(self._augment(x, seed), training=True), real)
            loss = self.r1_weight * r1
        variables = self.discriminator.trainable_variables
        # The last layer's bias gets no R1 gradient; like PyTorch's Adam, leave it untouched.
        pairs = [(g, v) for g, v in zip(tape.gradient(loss, variables), variables)
                 if g is not None]
        self.d_optimizer.apply_gradients(pairs)
        return loss

    def generator_step(self, real_y):
        batch = tf.shape(real_y)[0]
        y = self.fake_labels(real_y, self._seed())
        eps, zs = self.sample_noise(batch, self._seed())
        aug_seed = self._seed()
        with tf.GradientTape() as tape:
            fake = self.generator(y, eps, zs, training=True)
            scores = self.discriminator(self._augment(fake, aug_seed), training=True)
            adversarial = self.adversarial_loss(tf.zeros_like(scores), scores).generator
            orth = self.orth_weight * self.generator.orthogonal_regularizer()
            loss = adversarial + orth
        variables = self.generator.trainable_variables
        self.g_optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return {"g_loss": loss, "g_adv": adversarial, "orth": orth}

    def update_ema(self):
        if self.generator_ema is None:
            return
        d = self.ema_decay
        for ema, w in zip(self.generator_ema.weights, self.generator.weights):
            ema.assign(d * ema + (1.0 - d) * w)

    def due(self, every):
        return tf.equal(self.step % every, 0)

    def train_step(self, data):
        real, labels = data
        real_y = self.conditions_of(real, labels)
        cls_due = self.due(self.cls_reg_every)
        cls_loss = tf.cond(cls_due, lambda: self.classification_step(real_y),
                           lambda: tf.constant(0.0))
        logs = self.discriminator_step(real, real_y)
        r1_due = tf.logical_and(self.due(self.r1_every), self.r1_weight > 0)
        r1 = tf.cond(r1_due, lambda: self.r1_step(real), lambda: tf.constant(0.0))
        logs.update(self.generator_step(real_y))
        self.update_ema()
        self.step.assign_add(1)
        results = self.loss_trackers.update(logs)
        for name, value, ran in (("cls_loss", cls_loss, cls_due), ("r1", r1, r1_due)):
            self.lazy_trackers[name].update_state(value, ran)
            results[name] = self.lazy_trackers[name].result()
        return results

    # ---- monitoring, checkpoints, export ----

    def monitoring_scalars(self):
        out = {}
        for i, layer in enumerate(self.generator.subspace_layers):
            for j, value in enumerate(np.abs(layer.L.numpy())):
                out[f"eigen/L_layer{i}_dim{j}"] = float(value)
        return out

    def grid_fn(self, source, rows, seed):
        """Rows: fixed (eps, zs); columns: each class (one-hot), or no attribute and then each
        attribute alone (binary). Sampled from the EMA generator."""
        y = attribute_sweep(self.y_dim, self.label_kind)
        cols = y.shape[0]
        eps, zs = self.sample_noise(rows, tf.constant([seed, 11], tf.int32))

        def sample():
            images = self.generate(
                tf.tile(y, [rows, 1]), tf.repeat(eps, cols, axis=0),
                tf.repeat(zs, cols, axis=0)).numpy()
            return images.reshape((rows, cols) + images.shape[1:])
        return sample

    def export_trackables(self):
        return [self.generator_ema or self.generator, self.encoder, self.classifier]

    def serving_endpoints(self):
        """serving_default(y, eps) -> images, zs ~ N(0, I) drawn inside (stochastic EigenGAN
        layers, as the original's forward); generate_with_zs(y, eps, zs) -> images
        (deterministic: traversals); classify(images) -> attribute logits; encode(images) ->
        SimCLR features h (images in [-1, 1])."""
        g = self.generator
        image_shape = tuple(g.image_shape)

        def serve(y, eps):
            zs = tf.random.normal(tf.stack([tf.shape(y)[0], g.n_blocks, g.n_basis]))
            return {"images": self.generate(y, eps, zs)}

        def with_zs(y, eps, zs):
            return {"images": self.generate(y, eps, zs)}

        def classify(images):
            return {"logits": self.classify(images)}

        def encode(images):
            return {"features": self.encoder(images, training=False)[0]}
        y_spec = tf.TensorSpec([None, self.y_dim], tf.float32, name="y")
        eps_spec = tf.TensorSpec([None, g.eps_dim], tf.float32, name="eps")
        return [("serving_default", serve, [y_spec, eps_spec]),
                ("generate_with_zs", with_zs,
                 [y_spec, eps_spec,
                  tf.TensorSpec([None, g.n_blocks, g.n_basis], tf.float32, name="zs")]),
                ("classify", classify,
                 [tf.TensorSpec((None,) + image_shape, tf.float32, name="images")]),
                ("encode", encode,
                 [tf.TensorSpec((None,) + image_shape, tf.float32, name="images")])]

    def export_metadata(self):
        g = self.generator
        return {"eps_distribution": "N(0, I)", "eps_dim": g.eps_dim,
                "zs_shape": [g.n_blocks, g.n_basis], "zs_distribution": "N(0, I)",
                "label_kind": self.label_kind, "condition_dim": int(self.y_dim)}

    def optimizer_variables(self):
        return [(self.d_optimizer, self.discriminator.trainable_variables),
                (self.g_optimizer, self.generator.trainable_variables)]

    def trackables(self):
        out = dict(generator=self.generator, discriminator=self.discriminator,
                   d_optimizer=self.d_optimizer, g_optimizer=self.g_optimizer, step=self.step,
                   noise_seed=self.noise_seed.state)
        if self.generator_ema is not None:
            out["generator_ema"] = self.generator_ema
        return out


def attribute_sweep(y_dim, label_kind):
    """Conditions of the sample grid's columns: every class, or none then each attribute."""
    eye = np.eye(y_dim, dtype=np.float32)
    if label_kind == "onehot":
        return tf.constant(eye)
    return tf.constant(np.concatenate([np.zeros((1, y_dim), np.float32), eye]))


def build(config, info: DatasetInfo) -> InfoSCCGAN:
    """A compiled InfoSCCGAN for a resolved config.InfoSCCConfig."""
    from tfgan_suite import encoder_store

    encoder, classifier, meta, centres = encoder_store.load(config.encoder_dir)
    inner = meta["attribute_source"] == "clusters"
    y_dim, label_kind = len(meta["label_names"]), meta["label_kind"]

    def generator(name):
        return eigengan.EigenGenerator(info.example_shape, y_dim, config.z_dim, config.noise_dim,
                                       config.n_basis, config.base_channels, config.max_channels,
                                       name=name)
    g = generator("generator")
    g_ema = None
    if config.ema:
        g_ema = generator("generator_ema")
        for ema, w in zip(g_ema.weights, g.weights):
            ema.assign(w)
    if config.discriminator == "patch":
        layers = config.patch_layers or g.n_blocks
        d = eigengan.patch_discriminator(info.example_shape, config.patch_channels, layers)
    else:
        d = eigengan.global_discriminator(info.example_shape, config.base_channels,
                                          config.max_channels)
    model = InfoSCCGAN(
        g, g_ema, d, encoder, classifier, label_kind, loss=config.loss,
        r1_weight=config.penalty_weight if config.penalty == "r1" else 0.0,
        r1_every=config.r1_every, cls_reg_every=config.cls_reg_every,
        orth_weight=config.orth_weight, diffaugment=config.diffaugment,
        diffaugment_p=config.diffaugment_p, ema_decay=0.5 ** (config.batch_size / 1e4),
        centres=centres if inner else None, seed=config.seed)

    def adam():
        return optimizers.adam(config.learning_rate, config.beta1, config.beta2)
    model.compile(d_optimizer=adam(), g_optimizer=adam(), jit_compile=False)
    return model
