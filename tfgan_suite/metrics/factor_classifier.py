"""A ConvNet that predicts dSprites' ground-truth factors: the feature network of ID-GAN's FID.

ID-GAN (Lee et al. 2020, Appendix C, "Frechet Inception Distance") computes the FID of dSprites
and its variants on "a manually trained ConvNet trained to predict true generative factors",
not on Inception. This is that network: the domain classifier's layers
(`domain_classifier.build_domain_classifier`) with one softmax head per factor, the heads'
logits concatenated (shape 3 + scale 6 + orientation 40 + x 32 + y 32 = 113) and trained with
the sum of the factors' cross-entropies. Its 128-d "features" layer gives the Frechet distance
(`frechet_classifier_distance`), so a trained file is passed to tfgan_suite.evaluate as
`--classifier`. The paper's network and training are not published; the layer sizes, the
40,000 training images and the 2,000 Adam steps are ours.

Orientation cannot be fully predicted (a square repeats every 90 degrees, an ellipse every 180),
so its accuracy stays low; the features still separate the sprites that matter for FID.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from tfgan_suite.data.base import to_model_units
from tfgan_suite.metrics.domain_classifier import build_domain_classifier

TRAIN_IMAGES = 40_000


def factor_loss(factor_sizes):
    """Sum over factors of the softmax cross-entropy of that factor's slice of the logits;
    targets are the factors' class indices [B, F]."""
    sizes = list(factor_sizes)

    def loss(targets, logits):
        parts = tf.split(logits, sizes, axis=-1)
        targets = tf.cast(targets, tf.int32)
        return tf.add_n([tf.nn.sparse_softmax_cross_entropy_with_logits(targets[:, i], part)
                         for i, part in enumerate(parts)])
    return loss


def factor_accuracies(logits, classes, factor_sizes) -> np.ndarray:
    """Per-factor accuracy [F] of concatenated logits [N, sum(sizes)] against classes [N, F]."""
    bounds = np.cumsum((0,) + tuple(factor_sizes))
    logits, classes = np.asarray(logits), np.asarray(classes)
    return np.array([np.mean(np.argmax(logits[:, a:b], axis=1) == classes[:, i])
                     for i, (a, b) in enumerate(zip(bounds[:-1], bounds[1:]))])


def training_indices(num_examples: int, exclude, count: int, seed: int) -> np.ndarray:
    """`count` distinct grid rows drawn with `seed`, none of them in `exclude` (the test split)."""
    rng = np.random.default_rng(seed)
    allowed = np.setdiff1d(np.arange(num_examples), np.asarray(exclude))
    return np.sort(rng.choice(allowed, min(count, len(allowed)), replace=False))


def train_factor_classifier(images, classes, factor_sizes, steps: int, batch_size: int = 64,
                            seed: int = 0, learning_rate: float = 1e-3) -> keras.Model:
    """Fit a new factor classifier with Adam for `steps` minibatches of a seeded reshuffling.

    images: uint8 [N, H, W, C]; classes: int [N, F] factor classes."""
    x = to_model_units(np.asarray(images))
    y = np.asarray(classes, np.int32)
    keras.utils.set_random_seed(seed)
    model = build_domain_classifier(x.shape[1:], int(sum(factor_sizes)))
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=factor_loss(factor_sizes))
    data = (tf.data.Dataset.from_tensor_slices((x, y))
            .shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
            .repeat().batch(batch_size))
    model.fit(data, steps_per_epoch=steps, epochs=1, verbose=0, shuffle=False)
    return model
