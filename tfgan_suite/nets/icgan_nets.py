"""ICGAN networks (Wang et al., "Information Compensation for Deep Conditional Generative
Networks", Sec. 3.1, Fig. 2 and Fig. 7) and the InfoGAN baseline (Chen et al. 2016, App. C.1).

No public code exists; the layer list follows the paper's Fig. 7 names: a deconvolution D11 and
three residual blocks of two convolutions (C11 C12, C21 C22, C31 C32). Choices the paper leaves
open are named where they are made.

ICGAN generator G(z), z = [10 one-hot digit | 3 RGB colour | noise] (Sec. 4.1):
  z -> dense 7x7xC0 (the latent kept at the front of the generator) -> lrelu -> SS
  D11  4x4 transposed conv, stride 2, C0 -> C1 (14x14)            -> lrelu -> SS
  res1 C11, C12: 3x3 conv C1 -> C1                                  each -> lrelu -> SS
  res2 C21: nearest x2 (28x28), 3x3 conv C1 -> C2; C22: 3x3 C2 -> C2  each -> lrelu -> SS
  res3 C31, C32: 3x3 conv C2 -> C2                                  each -> lrelu -> SS
  to RGB: 1x1 conv C2 -> 3, tanh
with C = (256, 128, 64) x width, residual sums scaled by 1/sqrt(2) (skip: identity, or nearest
x2 + 1x1 conv where the size changes). SS is the Shift-Scale block of Eq. 1, SSBlock(x_i) =
alpha(z)_i x_i + beta(z)_i, alpha and beta affine in z (alpha's bias starts at 1, so every block
starts as the identity, as StyleGAN's style bias); this z -> SS path into every layer is the
IC-Connection, and there is no instance normalisation. `ic=False` (the paper's "w/o IC",
Sec. 4.1: "with Batch Normalization and without IC-Connection") puts BatchNorm before each
lrelu instead of SS after it.
Every dense / convolution uses PGGAN's equalised learning rate (Karras et al. 2018, Sec. 4.1):
weights ~ N(0, 1) scaled at run time by He's constant sqrt(2 / fan_in) (Sec. 3.1,
"learning rate scaling").

ICGAN discriminator D(x) -> (critic score [B, 1], Q digit logits [B, 10], Q colour [B, 3]):
  3x3 conv 3 -> c0, lrelu (28x28)
  3x3 conv c0 -> c1, lrelu, max-pool 2x2 stride 1, blur [1 2 1]^2/16 stride 2 (14x14)
  3x3 conv c1 -> c2, lrelu, the same max-blur-pool (7x7)
  critic: dense 1; Q head (InfoGAN's, sharing the trunk): dense 128, lrelu, dense 10 + 3
with c = (64, 128, 256) x width. The downsampling is Zhang (2019)'s shift-invariant max-blur-
pool, reflect-padded as there. No normalisation (WGAN-GP penalises per example).
"""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import ops

NUM_DIGITS, COLOR_DIM = 10, 3
CODE_DIM = NUM_DIGITS + COLOR_DIM
LRELU_SLOPE = 0.2
GENERATOR_CHANNELS = (256, 128, 64)
DISCRIMINATOR_CHANNELS = (64, 128, 256)
Q_HIDDEN = 128


def he_scale(fan_in: int, gain: float = math.sqrt(2.0)) -> float:
    """PGGAN's runtime weight scale gain / sqrt(fan_in) (He et al. 2015's constant)."""
    return gain / math.sqrt(fan_in)


@keras.saving.register_keras_serializable(package="tfgan_suite")
class EqualizedDense(keras.layers.Layer):
    """y = x (W * he_scale(fan_in)) + b, W ~ N(0, 1): equalised learning rate (PGGAN)."""

    def __init__(self, units, bias_init=0.0, gain=math.sqrt(2.0), **kwargs):
        super().__init__(**kwargs)
        self.units, self.bias_init, self.gain = int(units), float(bias_init), float(gain)

    def build(self, input_shape):
        fan_in = int(input_shape[-1])
        self.scale = he_scale(fan_in, self.gain)
        self.kernel = self.add_weight(name="kernel", shape=(fan_in, self.units),
                                      initializer=keras.initializers.RandomNormal(0.0, 1.0))
        self.bias = self.add_weight(name="bias", shape=(self.units,),
                                    initializer=keras.initializers.Constant(self.bias_init))

    def call(self, x):
        return ops.matmul(x, self.kernel * self.scale) + self.bias

    def get_config(self):
        return {**super().get_config(), "units": self.units, "bias_init": self.bias_init,
                "gain": self.gain}


@keras.saving.register_keras_serializable(package="tfgan_suite")
class EqualizedConv2D(keras.layers.Layer):
    """Stride-1 "same" convolution with a runtime-scaled N(0, 1) kernel (PGGAN)."""

    def __init__(self, filters, kernel_size, gain=math.sqrt(2.0), **kwargs):
        super().__init__(**kwargs)
        self.filters, self.kernel_size, self.gain = int(filters), int(kernel_size), float(gain)

    def build(self, input_shape):
        channels = int(input_shape[-1])
        k = self.kernel_size
        self.scale = he_scale(k * k * channels, self.gain)
        self.kernel = self.add_weight(name="kernel", shape=(k, k, channels, self.filters),
                                      initializer=keras.initializers.RandomNormal(0.0, 1.0))
        self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer="zeros")

    def call(self, x):
        return ops.conv(x, self.kernel * self.scale, padding="same") + self.bias

    def get_config(self):
        return {**super().get_config(), "filters": self.filters,
                "kernel_size": self.kernel_size, "gain": self.gain}


@keras.saving.register_keras_serializable(package="tfgan_suite")
class EqualizedConv2DTranspose(keras.layers.Layer):
    """Stride-2 "same" transposed convolution, runtime-scaled N(0, 1) kernel (fan_in = k*k*in,
    as PGGAN's upscale convolution)."""

    def __init__(self, filters, kernel_size=4, strides=2, gain=math.sqrt(2.0), **kwargs):
        super().__init__(**kwargs)
        self.filters, self.kernel_size = int(filters), int(kernel_size)
        self.strides, self.gain = int(strides), float(gain)

    def build(self, input_shape):
        channels = int(input_shape[-1])
        k = self.kernel_size
        self.scale = he_scale(k * k * channels, self.gain)
        # conv_transpose kernels are [k, k, out, in].
        self.kernel = self.add_weight(name="kernel", shape=(k, k, self.filters, channels),
                                      initializer=keras.initializers.RandomNormal(0.0, 1.0))
        self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer="zeros")

    def call(self, x):
        return ops.conv_transpose(x, self.kernel * self.scale, self.strides,
                                  padding="same") + self.bias

    def get_config(self):
        return {**super().get_config(), "filters": self.filters,
                "kernel_size": self.kernel_size, "strides": self.strides, "gain": self.gain}


@keras.saving.register_keras_serializable(package="tfgan_suite")
class ShiftScale(keras.layers.Layer):
    """SSBlock (Eq. 1): x * alpha(z) + beta(z) per feature map; alpha, beta equalised-lr affine
    maps of z, alpha's bias initialised to 1. Inputs [x [B, H, W, C], z [B, D]]."""

    def build(self, input_shape):
        x_shape, z_shape = input_shape
        channels = int(x_shape[-1])
        self.alpha = EqualizedDense(channels, bias_init=1.0, gain=1.0, name="alpha")
        self.beta = EqualizedDense(channels, bias_init=0.0, gain=1.0, name="beta")
        self.alpha.build(z_shape)
        self.beta.build(z_shape)

    def call(self, inputs):
        x, z = inputs
        return x * self.alpha(z)[:, None, None, :] + self.beta(z)[:, None, None, :]


@keras.saving.register_keras_serializable(package="tfgan_suite")
class MaxBlurPool(keras.layers.Layer):
    """Zhang (2019) shift-invariant downsampling: 2x2 max-pool with stride 1, then a [1 2 1]^2/16
    blur with stride 2 on the reflect-padded map (H -> ceil(H / 2))."""

    def call(self, x):
        # "same" pads after the last row / column, where a 2x2 max over the valid pixels is the
        # max over a symmetric-padded window: the same numbers as the explicit pad, and its
        # second derivative (the gradient penalty's) is 4x cheaper on CPU.
        x = ops.max_pool(x, 2, 1, padding="same")
        channels = x.shape[-1]
        taps = np.array([1.0, 2.0, 1.0])
        blur = np.outer(taps, taps) / 16.0
        kernel = ops.convert_to_tensor(np.tile(blur[:, :, None, None], (1, 1, channels, 1)),
                                       dtype=x.dtype)
        x = ops.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]], mode="reflect")
        return ops.depthwise_conv(x, kernel, strides=2, padding="valid")


def _channels(base, width):
    return tuple(max(1, int(round(c * width))) for c in base)


def _activate(x, z, ic, name):
    """lrelu then SSBlock (IC), or BatchNorm then lrelu (w/o IC)."""
    if ic:
        x = keras.layers.LeakyReLU(LRELU_SLOPE, name=f"{name}_lrelu")(x)
        return ShiftScale(name=f"{name}_ss")([x, z])
    x = keras.layers.BatchNormalization(name=f"{name}_bn")(x)
    return keras.layers.LeakyReLU(LRELU_SLOPE, name=f"{name}_lrelu")(x)


def _residual(x, z, channels, upsample, ic, name):
    skip = x
    if upsample:
        x = keras.layers.UpSampling2D(2, name=f"{name}_up")(x)
        skip = EqualizedConv2D(channels, 1, gain=1.0, name=f"{name}_skip")(x)
    block = name[len("res"):]
    h = _activate(EqualizedConv2D(channels, 3, name=f"C{block}1")(x), z, ic, f"c{block}1")
    h = _activate(EqualizedConv2D(channels, 3, name=f"C{block}2")(h), z, ic, f"c{block}2")
    out = keras.layers.Add(name=f"{name}_add")([skip, h])
    return keras.layers.Rescaling(1.0 / math.sqrt(2.0), name=f"{name}_out")(out)


# Layer names of Fig. 7, the activations the layer-wise ablation (Eq. 7) reads.
ABLATION_LAYERS = ("D11", "C11", "C12", "C21", "C22", "C31", "C32")


def build_icgan_generator(z_dim: int = 100, ic: bool = True, width: float = 1.0,
                          channels: int = 3) -> keras.Model:
    """G(z) -> [B, 28, 28, channels] in [-1, 1] (module docstring)."""
    c0, c1, c2 = _channels(GENERATOR_CHANNELS, width)
    z = keras.Input((z_dim,), name="z")
    x = EqualizedDense(7 * 7 * c0, gain=math.sqrt(2.0) / 4.0, name="front")(z)  # PGGAN's 4x4 gain
    x = _activate(keras.layers.Reshape((7, 7, c0), name="front_map")(x), z, ic, "front")
    x = _activate(EqualizedConv2DTranspose(c1, 4, 2, name="D11")(x), z, ic, "d11")
    x = _residual(x, z, c1, False, ic, "res1")
    x = _residual(x, z, c2, True, ic, "res2")
    x = _residual(x, z, c2, False, ic, "res3")
    x = EqualizedConv2D(channels, 1, gain=1.0, name="to_rgb")(x)
    images = keras.layers.Activation("tanh", name="images")(x)
    return keras.Model(z, images, name="icgan_generator" if ic else "icgan_generator_no_ic")


def build_icgan_discriminator(image_shape=(28, 28, 3), width: float = 1.0,
                              num_digits: int = NUM_DIGITS,
                              color_dim: int = COLOR_DIM) -> keras.Model:
    """D(x) -> [score [B, 1], digit logits [B, 10], colour [B, 3]] (module docstring)."""
    c0, c1, c2 = _channels(DISCRIMINATOR_CHANNELS, width)
    images = keras.Input(tuple(image_shape), name="images")
    x = keras.layers.LeakyReLU(LRELU_SLOPE)(EqualizedConv2D(c0, 3, name="conv0")(images))
    x = keras.layers.LeakyReLU(LRELU_SLOPE)(EqualizedConv2D(c1, 3, name="conv1")(x))
    x = MaxBlurPool(name="down1")(x)
    x = keras.layers.LeakyReLU(LRELU_SLOPE)(EqualizedConv2D(c2, 3, name="conv2")(x))
    x = MaxBlurPool(name="down2")(x)
    features = keras.layers.Flatten(name="flatten")(x)
    score = EqualizedDense(1, gain=1.0, name="critic")(features)
    q = keras.layers.LeakyReLU(LRELU_SLOPE)(EqualizedDense(Q_HIDDEN, name="q_hidden")(features))
    digit_logits = EqualizedDense(num_digits, gain=1.0, name="q_digit")(q)
    color = EqualizedDense(color_dim, gain=1.0, name="q_color")(q)
    return keras.Model(images, [score, digit_logits, color], name="icgan_discriminator")


# ---- InfoGAN baseline (Chen et al. 2016, Appendix C.1, MNIST), RGB output --------------------

INFOGAN_SLOPE = 0.1


def build_infogan_generator(z_dim: int = 100, width: float = 1.0, channels: int = 3):
    """FC 1024-BN-ReLU, FC 7x7x128-BN-ReLU, 4x4 upconv 64 s2-BN-ReLU, 4x4 upconv channels s2,
    tanh (the original's sigmoid models Bernoulli pixels; images here are in [-1, 1])."""
    h1, h2, h3 = _channels((1024, 128, 64), width)
    z = keras.Input((z_dim,), name="z")
    x = keras.layers.Dense(h1, name="fc1")(z)
    x = keras.layers.ReLU()(keras.layers.BatchNormalization(name="bn1")(x))
    x = keras.layers.Dense(7 * 7 * h2, name="fc2")(x)
    x = keras.layers.ReLU()(keras.layers.BatchNormalization(name="bn2")(x))
    x = keras.layers.Reshape((7, 7, h2))(x)
    x = keras.layers.Conv2DTranspose(h3, 4, 2, padding="same", name="upconv1")(x)
    x = keras.layers.ReLU()(keras.layers.BatchNormalization(name="bn3")(x))
    x = keras.layers.Conv2DTranspose(channels, 4, 2, padding="same", name="upconv2")(x)
    images = keras.layers.Activation("tanh", name="images")(x)
    return keras.Model(z, images, name="infogan_generator")


def build_infogan_discriminator(image_shape=(28, 28, 3), width: float = 1.0,
                                num_digits: int = NUM_DIGITS, color_dim: int = COLOR_DIM):
    """4x4 conv 64 s2-lrelu, 4x4 conv 128 s2-BN-lrelu, FC 1024-BN-lrelu -> D logit; Q: FC 128-
    BN-lrelu -> digit logits and colour (lrelu slope 0.1, as the original)."""
    c1, c2, h, q_h = _channels((64, 128, 1024, 128), width)
    images = keras.Input(tuple(image_shape), name="images")
    x = keras.layers.LeakyReLU(INFOGAN_SLOPE)(
        keras.layers.Conv2D(c1, 4, 2, padding="same", name="conv1")(images))
    x = keras.layers.Conv2D(c2, 4, 2, padding="same", name="conv2")(x)
    x = keras.layers.LeakyReLU(INFOGAN_SLOPE)(keras.layers.BatchNormalization(name="bn2")(x))
    x = keras.layers.Dense(h, name="fc")(keras.layers.Flatten()(x))
    x = keras.layers.LeakyReLU(INFOGAN_SLOPE)(keras.layers.BatchNormalization(name="bn_fc")(x))
    score = keras.layers.Dense(1, name="critic")(x)
    q = keras.layers.Dense(q_h, name="q_hidden")(x)
    q = keras.layers.LeakyReLU(INFOGAN_SLOPE)(keras.layers.BatchNormalization(name="q_bn")(q))
    digit_logits = keras.layers.Dense(num_digits, name="q_digit")(q)
    color = keras.layers.Dense(color_dim, name="q_color")(q)
    return keras.Model(images, [score, digit_logits, color], name="infogan_discriminator")


def build_networks(arch: str, z_dim: int, ic: bool = True, width: float = 1.0):
    """(generator, discriminator) of `arch` ("icgan" or "infogan")."""
    if arch == "icgan":
        return build_icgan_generator(z_dim, ic, width), build_icgan_discriminator(width=width)
    if arch == "infogan":
        return build_infogan_generator(z_dim, width), build_infogan_discriminator(width=width)
    raise ValueError(f"unknown ICGAN architecture {arch!r}")
