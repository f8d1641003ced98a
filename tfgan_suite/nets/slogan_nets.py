"""SLOGAN networks (Hwang et al., Appendix E) and the registry `slogan_networks`.

Families: "synthetic" (Table 11 / original slogan_synthetic.py), "mnist" (Table 12; MNIST and
FMNIST), "cifar" (Table 14) and "celeba" (Table 15); the ResGANs live in `resgan.py`.
Every generator maps z [B, latent_dim] to data, every discriminator data to [B, 1] unbounded
scores, every encoder data to [B, feature_dim] features.
"""

from __future__ import annotations

import collections

import keras
from keras import layers

from tfgan_suite.nets.resgan import (resgan_discriminator, resgan_encoder, resgan_generator,
                                     tf1_batch_norm)

SloganNetworks = collections.namedtuple("SloganNetworks", "generator discriminator encoder")

SYNTHETIC_DATA_DIM = 2
MNIST_SHAPE = (28, 28, 1)
CIFAR_SHAPE = (32, 32, 3)
CELEBA_SHAPE = (64, 64, 3)
HIDDEN_UNITS = 128
# tf.nn.leaky_relu's default slope, used by the original; Keras' default would be 0.3.
LEAKY_SLOPE = 0.2


def _leaky_relu(name):
    return layers.LeakyReLU(negative_slope=LEAKY_SLOPE, name=name)


# --- synthetic 2-D data: Table 11 -------------------------------------------------------------


def mlp_generator(latent_dim, data_dim=SYNTHETIC_DATA_DIM, name="generator"):
    """Table 11 G: Linear 128 + BN + ReLU, Linear 128 + BN + ReLU, Linear 2 + tanh."""
    z = keras.Input((latent_dim,), name="z")
    h = z
    for i in (1, 2):
        h = layers.Dense(HIDDEN_UNITS, name=f"dense{i}")(h)
        h = layers.ReLU(name=f"relu{i}")(tf1_batch_norm(f"bn{i}")(h))
    h = layers.Dense(data_dim, name="dense3")(h)
    return keras.Model(z, layers.Activation("tanh", name="tanh")(h), name=name)


def _mlp_critic(data_dim, out_dim, spectral_norm, name):
    """Linear 128 + LReLU, Linear 128 + LReLU, Linear out_dim; optionally every kernel SN."""
    def dense(units, layer_name):
        layer = layers.Dense(units, name=layer_name)
        if spectral_norm:
            # Keras 3's wrapper rescales the kernel variable itself by its estimated largest
            # singular value on each training call (no gradient through sigma): the same
            # projection the original's Spectral_Norm kernel_constraint applies after each update.
            return layers.SpectralNormalization(layer, name=f"sn_{layer_name}")
        return layer

    x = keras.Input((data_dim,), name="x")
    h = _leaky_relu("lrelu1")(dense(HIDDEN_UNITS, "dense1")(x))
    h = _leaky_relu("lrelu2")(dense(HIDDEN_UNITS, "dense2")(h))
    return keras.Model(x, dense(out_dim, "dense3")(h), name=name)


def mlp_discriminator(data_dim=SYNTHETIC_DATA_DIM, name="discriminator"):
    """Table 11 D: no spectral norm (the original relies on the Lipschitz penalty)."""
    return _mlp_critic(data_dim, 1, spectral_norm=False, name=name)


def mlp_encoder(feature_dim, data_dim=SYNTHETIC_DATA_DIM, name="encoder"):
    """Table 11 E: D's layout with spectral norm on every kernel and feature_dim outputs."""
    return _mlp_critic(data_dim, feature_dim, spectral_norm=True, name=name)


# --- MNIST / FMNIST: Table 12 -----------------------------------------------------------------
# The table gives kernel, stride and width; padding follows from the sizes it implies
# (1 -> 7 -> 14 -> 28 in G, 28 -> 14 -> 7 -> 1 in D/E). No code exists for these nets: bias on
# every layer and glorot_uniform kernels are the tf.layers defaults the authors use elsewhere.


def dcgan_generator(latent_dim, image_shape=MNIST_SHAPE, name="generator"):
    """Table 12 G: z as 1x1xd -> Deconv 1x1 1024, Deconv 7x7 128 (both + BN + ReLU) -> Deconv
    4x4/2 64 + BN + ReLU -> Deconv 4x4/2 channels + sigmoid: pixels in [0, 1] like the data."""
    _check_mnist_shape(image_shape)
    z = keras.Input((latent_dim,), name="z")
    h = layers.Reshape((1, 1, latent_dim), name="to_1x1")(z)
    for i, (filters, kernel, stride, padding) in enumerate(
            ((1024, 1, 1, "valid"), (128, 7, 1, "valid"), (64, 4, 2, "same")), start=1):
        h = layers.Conv2DTranspose(filters, kernel, strides=stride, padding=padding,
                                   name=f"deconv{i}")(h)
        h = layers.ReLU(name=f"relu{i}")(tf1_batch_norm(f"bn{i}")(h))
    h = layers.Conv2DTranspose(image_shape[-1], 4, strides=2, padding="same", name="deconv4")(h)
    return keras.Model(z, layers.Activation("sigmoid", name="sigmoid")(h), name=name)


def _dcgan_critic(image_shape, out_dim, name):
    """Table 12 D/E body: Conv 4x4/2 64, Conv 4x4/2 64, Conv 7x7/1 1024 (each + LReLU), then a
    1x1 conv to out_dim on the 1x1 map. No normalisation, no spectral norm (none in the table)."""
    _check_mnist_shape(image_shape)
    x = keras.Input(tuple(image_shape), name="x")
    h = x
    for i, (filters, kernel, stride, padding) in enumerate(
            ((64, 4, 2, "same"), (64, 4, 2, "same"), (1024, 7, 1, "valid")), start=1):
        h = layers.Conv2D(filters, kernel, strides=stride, padding=padding, name=f"conv{i}")(h)
        h = _leaky_relu(f"lrelu{i}")(h)
    h = layers.Conv2D(out_dim, 1, name="conv4")(h)
    return keras.Model(x, layers.Flatten(name="flatten")(h), name=name)


def dcgan_discriminator(image_shape=MNIST_SHAPE, name="discriminator"):
    """Table 12 D -> [B, 1] scores."""
    return _dcgan_critic(image_shape, 1, name)


def dcgan_encoder(feature_dim, image_shape=MNIST_SHAPE, name="encoder"):
    """Table 12 E -> [B, feature_dim] features (the table's 64)."""
    return _dcgan_critic(image_shape, feature_dim, name)


def _check_mnist_shape(image_shape):
    if tuple(image_shape[:2]) != MNIST_SHAPE[:2]:
        raise ValueError(f"Table 12 networks need 28x28 images, not {image_shape}")


# --- registry -----------------------------------------------------------------------------------


def _synthetic(latent_dim, feature_dim):
    return SloganNetworks(mlp_generator(latent_dim), mlp_discriminator(), mlp_encoder(feature_dim))


def _mnist(latent_dim, feature_dim):
    return SloganNetworks(dcgan_generator(latent_dim), dcgan_discriminator(),
                          dcgan_encoder(feature_dim))


def _resgan(image_shape):
    def build(latent_dim, feature_dim):
        return SloganNetworks(resgan_generator(latent_dim, image_shape),
                              resgan_discriminator(image_shape),
                              resgan_encoder(image_shape, feature_dim))
    return build


_BUILDERS = {
    "synthetic": _synthetic,
    "mnist": _mnist,
    "cifar": _resgan(CIFAR_SHAPE),
    "celeba": _resgan(CELEBA_SHAPE),
}
SLOGAN_FAMILIES = tuple(_BUILDERS)


def slogan_networks(dataset_family, latent_dim, feature_dim):
    """(generator, discriminator, encoder) for a dataset family of Appendix E.

    Paper sizes: synthetic d=64, features 64; mnist (MNIST, FMNIST) 64/64; cifar 128/128;
    celeba 128/128.
    """
    if dataset_family not in _BUILDERS:
        raise ValueError(f"unknown SLOGAN dataset family {dataset_family!r}; "
                         f"choose one of {SLOGAN_FAMILIES}")
    return _BUILDERS[dataset_family](latent_dim, feature_dim)
