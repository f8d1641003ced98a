"""Networks of ID-GAN (Lee et al., "High-Fidelity Synthesis with Disentangled Representation",
ECCV 2020; 1Konny/idgan), channels last.

beta-VAE (Table A.2; the original's BetaVAE_H, after Higgins et al. 2017), weights N(0, 0.02),
biases 0:
  encoder  Conv4x4 s2 32 - 32 - 64 - 64 (ReLU), Conv4x4 valid 256 (ReLU), Dense 2c -> (mu, logvar)
  decoder  Dense 256 (ReLU), ConvT4x4 valid 64, ConvT4x4 s2 64 - 32 - 32 (ReLU), ConvT4x4 s2
           channels -> logits (Bernoulli) or pre-sigmoid means (Gaussian)
The encoder reads images in [0, 1] (the original's "infodistil mode" maps the GAN's [-1, 1]
images to [0, 1] before encoding).

ID-GAN on dSprites (Table A.3; the original's dvae_dec / dvae_enc): G is the decoder
architecture ending in tanh, D the encoder architecture with a Dense(1) head; PyTorch's
default initialisation U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases, as the
original leaves them.

ID-GAN on natural images (Table A.4; the original's resnet3, from Mescheder et al. 2018's
GAN_stability): pre-activation ResNet blocks x + 0.1 * conv3(lrelu(conv3(lrelu(x)))) with a
1x1 bias-free shortcut where channels change, LeakyReLU 0.2.
  G  Dense(4*4*nf0) -> [block, nearest x2 up] per doubling -> block(nf) -> lrelu -> Conv3(3) -> tanh
  D  Conv3(nf) -> block(nf) -> [avg-pool 3 s2 p1 (padding counted), block] per halving ->
     lrelu -> Dense(1)
with nf = 64 and nf_max = 512 (CelebA-64: G 512-512-256-128-64-64, D 64-64-128-256-512-512).
"""

from __future__ import annotations

import math

import keras
from keras import layers


def _normal_002():
    return dict(kernel_initializer=keras.initializers.RandomNormal(0.0, 0.02),
                bias_initializer="zeros")


def _torch_default(fan_in):
    """PyTorch's default Conv / Linear initialisation: weights and biases U(+-1/sqrt(fan_in))."""
    bound = 1.0 / math.sqrt(fan_in)
    return dict(kernel_initializer=keras.initializers.RandomUniform(-bound, bound),
                bias_initializer=keras.initializers.RandomUniform(-bound, bound))


def _conv_stack(x, init, prefix):
    """The Conv4x4 s2 32-32-64-64, Conv4x4 valid 256 body shared by the encoder and D."""
    channels_in = x.shape[-1]
    for i, filters in enumerate((32, 32, 64, 64)):
        x = layers.Conv2D(filters, 4, 2, padding="same", activation="relu",
                          name=f"{prefix}conv{i}", **init(channels_in * 16))(x)
        channels_in = filters
    x = layers.Conv2D(256, 4, 1, padding="valid", activation="relu", name=f"{prefix}conv4",
                      **init(channels_in * 16))(x)
    return layers.Flatten(name=f"{prefix}flatten")(x)


def _deconv_stack(x, channels, init, prefix):
    """Dense 256 -> ConvT4x4 valid 64 -> ConvT4x4 s2 64, 32, 32 -> ConvT4x4 s2 `channels`."""
    x = layers.Dense(256, activation="relu", name=f"{prefix}dense", **init(x.shape[-1]))(x)
    x = layers.Reshape((1, 1, 256))(x)
    # PyTorch computes a transposed convolution's fan_in from its output channels.
    x = layers.Conv2DTranspose(64, 4, 1, padding="valid", activation="relu",
                               name=f"{prefix}deconv0", **init(64 * 16))(x)
    for i, filters in enumerate((64, 32, 32)):
        x = layers.Conv2DTranspose(filters, 4, 2, padding="same", activation="relu",
                                   name=f"{prefix}deconv{i + 1}", **init(filters * 16))(x)
    return layers.Conv2DTranspose(channels, 4, 2, padding="same", name=f"{prefix}deconv4",
                                  **init(channels * 16))(x)


def _check_64(image_shape):
    if tuple(image_shape[:2]) != (64, 64):
        raise ValueError(f"these networks take 64x64 images, got {tuple(image_shape)}")


def vae_encoder(image_shape, c_dim, name="encoder"):
    """x in [0, 1] [B, 64, 64, C] -> [mu, logvar], each [B, c_dim]."""
    _check_64(image_shape)
    x_in = keras.Input(image_shape, name="images")
    h = _conv_stack(x_in, lambda fan_in: _normal_002(), "")
    stats = layers.Dense(2 * c_dim, name="stats", **_normal_002())(h)
    mu, logvar = layers.Lambda(lambda t: (t[:, :c_dim], t[:, c_dim:]), name="split")(stats)
    return keras.Model(x_in, [mu, logvar], name=name)


def vae_decoder(image_shape, c_dim, name="decoder"):
    """c [B, c_dim] -> logits [B, 64, 64, C] (sigmoid gives the pixel means in [0, 1])."""
    _check_64(image_shape)
    c_in = keras.Input((c_dim,), name="c")
    logits = _deconv_stack(c_in, image_shape[-1], lambda fan_in: _normal_002(), "")
    return keras.Model(c_in, logits, name=name)


def dsprites_generator(latent_dim, image_shape, name="generator"):
    """G(z) for z = concat(s, c) [B, latent_dim] -> images in [-1, 1] (dvae_dec)."""
    _check_64(image_shape)
    z_in = keras.Input((latent_dim,), name="z")
    x = _deconv_stack(z_in, image_shape[-1], _torch_default, "")
    return keras.Model(z_in, layers.Activation("tanh", name="tanh")(x), name=name)


def dsprites_discriminator(image_shape, name="discriminator"):
    """D(x) [B, 64, 64, C] in [-1, 1] -> logits [B, 1] (dvae_enc)."""
    _check_64(image_shape)
    x_in = keras.Input(image_shape, name="images")
    h = _conv_stack(x_in, _torch_default, "")
    return keras.Model(x_in, layers.Dense(1, name="logit", **_torch_default(256))(h), name=name)


# ------------------------------------------------------------------ resnet3 (GAN_stability)

def _lrelu(x):
    return layers.LeakyReLU(0.2)(x)


def _resnet_block(x, filters_out, name):
    """x_s + 0.1 * conv_1(lrelu(conv_0(lrelu(x)))); hidden channels min(in, out)."""
    filters_in = x.shape[-1]
    hidden = min(filters_in, filters_out)
    if filters_in != filters_out:
        shortcut = layers.Conv2D(filters_out, 1, use_bias=False, name=f"{name}_shortcut",
                                 kernel_initializer=_torch_default(filters_in)
                                 ["kernel_initializer"])(x)
    else:
        shortcut = x
    dx = layers.Conv2D(hidden, 3, padding="same", name=f"{name}_conv0",
                       **_torch_default(filters_in * 9))(_lrelu(x))
    dx = layers.Conv2D(filters_out, 3, padding="same", name=f"{name}_conv1",
                       **_torch_default(hidden * 9))(_lrelu(dx))
    return layers.Add(name=f"{name}_add")([shortcut, layers.Rescaling(0.1)(dx)])


def _resnet_layers(image_shape):
    size = image_shape[0]
    n = int(round(math.log2(size / 4)))
    if size != image_shape[1] or 4 * 2 ** n != size:
        raise ValueError(f"the ResNet networks take square images of 4 * 2^k pixels, got "
                         f"{tuple(image_shape)}")
    return n


def resnet_generator(latent_dim, image_shape, nf=64, nf_max=512, name="generator"):
    """G(z) for z = concat(s, c) -> images in [-1, 1] (resnet3.Generator)."""
    n = _resnet_layers(image_shape)
    nf0 = min(nf_max, nf * 2 ** n)
    z_in = keras.Input((latent_dim,), name="z")
    x = layers.Dense(4 * 4 * nf0, name="fc", **_torch_default(latent_dim))(z_in)
    x = layers.Reshape((4, 4, nf0))(x)
    for i in range(n):
        x = _resnet_block(x, min(nf * 2 ** (n - i - 1), nf_max), f"block{i}")
        x = layers.UpSampling2D(2, interpolation="nearest")(x)
    x = _resnet_block(x, nf, f"block{n}")
    x = layers.Conv2D(image_shape[-1], 3, padding="same", activation="tanh", name="conv_img",
                      **_torch_default(nf * 9))(_lrelu(x))
    return keras.Model(z_in, x, name=name)


def resnet_discriminator(image_shape, nf=64, nf_max=512, name="discriminator"):
    """D(x) -> logits [B, 1] (resnet3.Discriminator)."""
    n = _resnet_layers(image_shape)
    x_in = keras.Input(image_shape, name="images")
    x = layers.Conv2D(nf, 3, padding="same", name="conv_img",
                      **_torch_default(image_shape[-1] * 9))(x_in)
    x = _resnet_block(x, nf, "block0")
    for i in range(n):
        # AvgPool2d(3, stride=2, padding=1) counts the zero padding in its means.
        x = layers.ZeroPadding2D(1)(x)
        x = layers.AveragePooling2D(3, 2, padding="valid")(x)
        x = _resnet_block(x, min(nf * 2 ** (i + 1), nf_max), f"block{i + 1}")
    x = layers.Flatten()(_lrelu(x))
    return keras.Model(x_in, layers.Dense(1, name="fc", **_torch_default(x.shape[-1]))(x),
                       name=name)
