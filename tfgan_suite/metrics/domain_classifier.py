"""A small CNN classifier for MNIST-like data whose penultimate features replace Inception's.

Inception-v3 features of 28x28 digits upsampled to 299x299 say little about digits; TF-GAN's
mnist_frechet_distance uses a digit classifier instead. The Frechet distance on these features
is reported as "frechet_classifier_distance" (never "FID"), the Inception-Score formula on its
logits as "classifier_score". Train it with tools/train_domain_classifier.py.

Network: conv3x3(32)-ReLU-maxpool2 -> conv3x3(64)-ReLU-maxpool2 -> dense(128)-ReLU ("features")
-> dense(num_classes) ("logits"); inputs in [-1, 1] (uint8 images are converted).
"""

from __future__ import annotations

import os

import keras
import numpy as np
import tensorflow as tf

from tfgan_suite.data.base import to_model_units
from tfgan_suite.errors import UserError

FEATURE_DIM = 128
DISTANCE_NAME = "frechet_classifier_distance"
SCORE_NAME = "classifier_score"


def build_domain_classifier(input_shape, num_classes: int) -> keras.Model:
    """Images [H, W, C] in [-1, 1] -> logits [num_classes]; the "features" layer is penultimate."""
    inputs = keras.Input(tuple(input_shape), name="images")
    x = keras.layers.Conv2D(32, 3, padding="same", activation="relu", name="conv1")(inputs)
    x = keras.layers.MaxPooling2D(2, name="pool1")(x)
    x = keras.layers.Conv2D(64, 3, padding="same", activation="relu", name="conv2")(x)
    x = keras.layers.MaxPooling2D(2, name="pool2")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(FEATURE_DIM, activation="relu", name="features")(x)
    logits = keras.layers.Dense(num_classes, name="logits")(x)
    return keras.Model(inputs, logits, name="domain_classifier")


def train_domain_classifier(examples, labels, steps: int, batch_size: int = 64, seed: int = 0,
                            learning_rate: float = 1e-3) -> keras.Model:
    """Fit a new classifier with Adam on softmax cross-entropy for `steps` minibatches.

    examples: uint8 [N, H, W, C] (or floats in [-1, 1]); labels: one-hot float [N, classes].
    Batches are drawn from a seeded reshuffling of the data, so a run is reproducible on CPU.
    """
    x = to_model_units(np.asarray(examples))
    y = np.asarray(labels, np.float32)
    if y.ndim != 2 or len(y) != len(x):
        raise UserError(f"the domain classifier needs one-hot labels [N, classes] for the {len(x)} "
                        f"examples, got shape {y.shape}: use a labelled dataset")
    keras.utils.set_random_seed(seed)
    model = build_domain_classifier(x.shape[1:], y.shape[1])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss=keras.losses.CategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    data = (tf.data.Dataset.from_tensor_slices((x, y))
            .shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
            .repeat().batch(batch_size))
    model.fit(data, steps_per_epoch=steps, epochs=1, verbose=0, shuffle=False)  # data shuffles itself
    return model


class DomainClassifier:
    """Feature extractor (callable: images -> penultimate features) plus logits, for metrics."""

    distance_name = DISTANCE_NAME

    def __init__(self, model: keras.Model, batch_size: int = 256):
        self.model = model
        self.batch_size = batch_size
        self._both = keras.Model(model.input, [model.get_layer("features").output, model.output])

    @classmethod
    def load(cls, path: str, batch_size: int = 256) -> "DomainClassifier":
        if not os.path.isfile(path):
            raise UserError(f"domain classifier {path} not found: train one with `python "
                            f"tools/train_domain_classifier.py --dataset=mnist5k --output={path}`")
        return cls(keras.models.load_model(path, compile=False), batch_size)  # only inference

    def features_and_logits(self, images) -> tuple[np.ndarray, np.ndarray]:
        x = to_model_units(np.asarray(images))
        expected = tuple(self.model.input_shape[1:])
        if tuple(x.shape[1:]) != expected:
            raise UserError(f"the domain classifier was trained on images {expected}, got "
                            f"{x.shape[1:]}: train one for this dataset with "
                            "tools/train_domain_classifier.py")
        outputs = [self._both(x[i:i + self.batch_size], training=False)
                   for i in range(0, len(x), self.batch_size)]
        return (np.concatenate([f.numpy() for f, _ in outputs]),
                np.concatenate([l.numpy() for _, l in outputs]))

    def __call__(self, images) -> np.ndarray:
        return self.features_and_logits(images)[0]

    def logits(self, images) -> np.ndarray:
        return self.features_and_logits(images)[1]
