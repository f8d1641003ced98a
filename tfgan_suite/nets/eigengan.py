"""EigenGAN generator (He et al. 2021) as conditioned by InfoSCC-GAN, and its discriminators.

Architecture of vkinakh/InfoSCC-GAN (src/models/blocks.py, conditional_generator.py,
image_discriminator.py, nlayer_discriminator.py), channels last:

  y -> Linear(y_dim, y_dim); concat with eps ~ N(0, I) -> Linear -> noise_dim -> Linear ->
  s0 x s0 x C_0 (no activations, no normalisation); then one EigenBlock per resolution doubling:
      phi_i = (L_i * z_i) U_i + mu_i              (subspace layer, z_i ~ N(0, I_{n_basis}))
      h = ConvT3x3/2(lrelu(h + ConvT1x1(phi_i)))
      h = ConvT3x3/1(lrelu(h + ConvT3x3/2(phi_i)))
  out = tanh(Conv7x7(lrelu(h))).
U_i is orthogonally initialised, L_i = [3 n_basis, ..., 6, 3] (18..3 for n_basis 6), mu_i = 0.
Channels of block i: min(max_channels, base_channels * 2^(n_blocks - i)).

The original needs power-of-two sizes (start 4x4). Here the start size is the image size halved
while it stays even and >= 8, so 64 -> 4x4 with 4 blocks (as the original) and MNIST's
28 -> 7x7 with 2 blocks.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

LRELU_SLOPE = 0.2


def resolution_plan(size: int) -> tuple:
    """(start size, number of doubling blocks) for a square image of side `size`."""
    blocks = 0
    while size % 2 == 0 and size // 2 >= 4:
        size //= 2
        blocks += 1
    if blocks == 0:
        raise ValueError(f"EigenGAN needs an image side divisible by 2 with a start of at least "
                         f"4 pixels, got {size}")
    return size, blocks


def block_channels(i: int, n_blocks: int, base_channels: int, max_channels: int) -> int:
    """Input channels of block i (i = n_blocks: the output of the last block)."""
    return min(max_channels, base_channels * 2 ** (n_blocks - i))


class SubspaceLayer(keras.layers.Layer):
    """phi = (L * z) U + mu (EigenGAN Eq. 2; InfoSCC-GAN's SubspaceLayer).

    U [n_basis, dim] orthogonal init (rows orthonormal), L [n_basis] = 3 n_basis .. 3, mu = 0.
    """

    def __init__(self, dim: int, n_basis: int, **kwargs):
        super().__init__(**kwargs)
        self.dim, self.n_basis = int(dim), int(n_basis)

    def build(self, input_shape):
        self.U = self.add_weight(shape=(self.n_basis, self.dim),
                                 initializer=keras.initializers.Orthogonal(), name="U")
        self.L = self.add_weight(
            shape=(self.n_basis,), name="L",
            initializer=keras.initializers.Constant(
                [3.0 * i for i in range(self.n_basis, 0, -1)]))
        self.mu = self.add_weight(shape=(self.dim,), initializer="zeros", name="mu")

    def call(self, z):
        return tf.matmul(self.L * z, self.U) + self.mu

    def orthogonality(self):
        """mean((U U^T - I)^2) of this layer."""
        gram = tf.matmul(self.U, self.U, transpose_b=True)
        return tf.reduce_mean(tf.square(gram - tf.eye(self.n_basis)))


def _lrelu(x):
    return tf.nn.leaky_relu(x, LRELU_SLOPE)


class EigenBlock(keras.layers.Layer):
    """One EigenGAN layer: a subspace phi injected twice around a 2x transposed-conv upsampling."""

    def __init__(self, size: int, in_channels: int, out_channels: int, n_basis: int, **kwargs):
        super().__init__(**kwargs)
        self.size, self.in_channels = size, in_channels
        self.projection = SubspaceLayer(size * size * in_channels, n_basis, name="projection")
        conv_t = keras.layers.Conv2DTranspose
        self.subspace_conv1 = conv_t(in_channels, 1, name="subspace_conv1")
        self.subspace_conv2 = conv_t(out_channels, 3, strides=2, padding="same",
                                     name="subspace_conv2")
        self.feature_conv1 = conv_t(out_channels, 3, strides=2, padding="same",
                                    name="feature_conv1")
        self.feature_conv2 = conv_t(out_channels, 3, padding="same", name="feature_conv2")

    def call(self, z, h):
        phi = tf.reshape(self.projection(z), [-1, self.size, self.size, self.in_channels])
        h = self.feature_conv1(_lrelu(h + self.subspace_conv1(phi)))
        return self.feature_conv2(_lrelu(h + self.subspace_conv2(phi)))


class EigenGenerator(keras.Model):
    """G(y, eps, zs) -> images in [-1, 1]; zs [B, n_blocks, n_basis] (one z_i per block)."""

    def __init__(self, image_shape, y_dim: int, eps_dim: int = 512, noise_dim: int = 512,
                 n_basis: int = 6, base_channels: int = 16, max_channels: int = 512, **kwargs):
        super().__init__(**kwargs)
        height, _, channels = image_shape
        self.image_shape = tuple(image_shape)
        self.y_dim, self.eps_dim, self.n_basis = int(y_dim), int(eps_dim), int(n_basis)
        self.start, self.n_blocks = resolution_plan(height)
        width = [block_channels(i, self.n_blocks, base_channels, max_channels)
                 for i in range(self.n_blocks + 1)]
        self.y_fc = keras.layers.Dense(self.y_dim, name="y_fc")
        self.concat_fc = keras.layers.Dense(noise_dim, name="concat_fc")
        self.fc = keras.layers.Dense(self.start * self.start * width[0], name="fc")
        # One attribute per block: a checkpoint tracks attributes, not the layers of a list.
        for i in range(self.n_blocks):
            setattr(self, f"block_{i}", EigenBlock(self.start * 2 ** i, width[i], width[i + 1],
                                                   n_basis, name=f"block_{i}"))
        self.out_conv = keras.layers.Conv2D(channels, 7, padding="same", name="out_conv")
        self.start_channels = width[0]
        # Build every weight now (EMA copies, checkpoints and the orthogonality term need them).
        self(tf.zeros([1, self.y_dim]), tf.zeros([1, self.eps_dim]),
             tf.zeros([1, self.n_blocks, self.n_basis]))

    @property
    def blocks(self) -> list:
        return [getattr(self, f"block_{i}") for i in range(self.n_blocks)]

    @property
    def subspace_layers(self) -> list:
        return [block.projection for block in self.blocks]

    def call(self, y, eps, zs, training=False):
        h = self.concat_fc(tf.concat([self.y_fc(y), eps], axis=1))
        h = tf.reshape(self.fc(h), [-1, self.start, self.start, self.start_channels])
        for i, block in enumerate(self.blocks):
            h = block(zs[:, i], h)
        return tf.tanh(self.out_conv(_lrelu(h)))

    def orthogonal_regularizer(self):
        """mean over layers of mean((U U^T - I)^2) (the original's orthogonal_regularizer)."""
        return tf.add_n([layer.orthogonality() for layer in self.subspace_layers]) / \
            len(self.subspace_layers)


def global_discriminator(image_shape, base_channels: int = 16, max_channels: int = 512,
                         name="discriminator"):
    """InfoSCC-GAN's "oneclass" image discriminator: Conv7x7, then per halving Conv3x3/1 and
    Conv3x3/2 (channels doubled, capped), Conv3x3, Linear(C) - lrelu - Linear(1); lrelu 0.2
    after every conv, no normalisation. Halvings as the generator's blocks."""
    _, n_halvings = resolution_plan(image_shape[0])
    x = inputs = keras.Input(image_shape)
    conv = keras.layers.Conv2D
    x = conv(base_channels, 7, padding="same", activation=_lrelu)(x)
    channels = base_channels
    for _ in range(n_halvings):
        nxt = min(max_channels, channels * 2)
        x = conv(channels, 3, padding="same", activation=_lrelu)(x)
        x = conv(nxt, 3, strides=2, padding="same", activation=_lrelu)(x)
        channels = nxt
    x = conv(channels, 3, padding="same", activation=_lrelu)(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(channels, activation=_lrelu)(x)
    return keras.Model(inputs, keras.layers.Dense(1)(x), name=name)


def patch_discriminator(image_shape, ndf: int = 64, n_layers: int = 3, name="discriminator"):
    """PatchGAN discriminator (pix2pix NLayerDiscriminator, as InfoSCC-GAN's "patch" type):
    Conv4x4/2 lrelu; n_layers - 1 times Conv4x4/2 BN lrelu (filters ndf * min(2^n, 8));
    Conv4x4/1 BN lrelu; Conv4x4/1 -> one score per patch. Padding 1 on every conv."""
    x = inputs = keras.Input(image_shape)

    def conv(h, filters, stride, bias=True):
        h = keras.layers.ZeroPadding2D(1)(h)
        return keras.layers.Conv2D(filters, 4, strides=stride, use_bias=bias)(h)

    x = _lrelu_layer(conv(x, ndf, 2))
    for n in range(1, n_layers):
        x = conv(x, ndf * min(2 ** n, 8), 2, bias=False)
        x = _lrelu_layer(keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5)(x))
    x = conv(x, ndf * min(2 ** n_layers, 8), 1, bias=False)
    x = _lrelu_layer(keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5)(x))
    return keras.Model(inputs, conv(x, 1, 1), name=name)


def _lrelu_layer(x):
    return keras.layers.LeakyReLU(LRELU_SLOPE)(x)


def patch_output_side(size: int, n_layers: int) -> int:
    """Side of the patch score map (each Conv4x4 pad 1: stride 2 halves, stride 1 takes 1)."""
    for _ in range(n_layers):
        size = (size + 2 - 4) // 2 + 1
    return size - 2


def count_params(model) -> int:
    return int(sum(np.prod(v.shape) for v in model.trainable_variables))
