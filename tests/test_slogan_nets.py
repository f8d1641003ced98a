"""SLOGAN networks: shapes, ranges, parameter counts derived from Appendix E tables, spectral norm,
gradient flow."""

import functools

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfgan_suite.nets import resgan
from tfgan_suite.nets.slogan_nets import SLOGAN_FAMILIES, slogan_networks

# (latent dim d, encoder feature dim) of Tables 11, 12, 14, 15.
PAPER_DIMS = {"synthetic": (64, 64), "mnist": (64, 64), "cifar": (128, 128), "celeba": (128, 128)}
DATA_SHAPES = {"synthetic": (2,), "mnist": (28, 28, 1), "cifar": (32, 32, 3),
               "celeba": (64, 64, 3)}
# Generator output ranges: tanh (synthetic, ResGAN), sigmoid (Table 12: pixels in [0, 1]).
OUTPUT_RANGES = {"synthetic": (-1, 1), "mnist": (0, 1), "cifar": (-1, 1), "celeba": (-1, 1)}
BATCH = 2


@functools.lru_cache(maxsize=None)
def networks(family):
    keras.utils.set_random_seed(0)
    return slogan_networks(family, *PAPER_DIMS[family])


def trainable_count(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


# Parameter arithmetic, independent of Keras.
def dense(n_in, n_out):
    return n_in * n_out + n_out


def conv(kernel, c_in, c_out):  # also a transposed convolution
    return kernel * kernel * c_in * c_out + c_out


def bn(channels):  # gamma and beta; the moving statistics are not trainable
    return 2 * channels


def expected_counts(family):
    """(G, D, E) trainable parameters read off the tables (and the original code for blocks)."""
    if family == "synthetic":  # Table 11, d = 64, 64 features
        g = dense(64, 128) + bn(128) + dense(128, 128) + bn(128) + dense(128, 2)  # 25,602
        body = dense(2, 128) + dense(128, 128)
        return g, body + dense(128, 1), body + dense(128, 64)  # 17,025 / 25,152
    if family == "mnist":  # Table 12, z as 1x1x64
        g = (conv(1, 64, 1024) + bn(1024) + conv(7, 1024, 128) + bn(128)
             + conv(4, 128, 64) + bn(64) + conv(4, 64, 1))  # 6,623,809
        body = conv(4, 1, 64) + conv(4, 64, 64) + conv(7, 64, 1024)
        return g, body + conv(1, 1024, 1), body + conv(1, 1024, 64)  # 3,280,001 / 3,344,576
    c = 128  # ResGAN width; z and features are 128-d (Tables 14, 15)
    up = bn(c) + conv(3, c, c) + bn(c) + conv(3, c, c) + conv(1, c, c)  # 1x1 shortcut
    optimised = conv(3, 3, c) + conv(3, c, c) + conv(1, 3, c)
    down = 2 * conv(3, c, c) + conv(1, c, c)
    plain = 2 * conv(3, c, c)  # identity shortcut
    base = {"cifar": 4, "celeba": 8}[family]  # "Linear 2048" = 4*4*128, "Linear 8192" = 8*8*128
    g = dense(128, base * base * c) + 3 * up + bn(c) + conv(3, c, 3)
    if family == "cifar":  # Down, Down, Resblock, Resblock
        body = optimised + down + 2 * plain  # G 1,204,483; D 1,053,825; E 1,070,208
    else:  # Down, Down, Down, Resblock
        body = optimised + 2 * down + plain  # G 1,997,059; D 1,070,337; E 1,086,720
    return g, body + dense(c, 1), body + dense(c, 128)


@pytest.mark.parametrize("family", SLOGAN_FAMILIES)
def test_trainable_parameter_counts_match_tables(family):
    assert tuple(trainable_count(m) for m in networks(family)) == expected_counts(family)


@pytest.mark.parametrize("family", SLOGAN_FAMILIES)
def test_output_shapes_and_ranges(family):
    gen, disc, enc = networks(family)
    latent_dim, feature_dim = PAPER_DIMS[family]
    z = tf.random.stateless_normal((BATCH, latent_dim), seed=(1, 2)) * 3.0
    x = gen(z, training=False)
    assert tuple(x.shape) == (BATCH, *DATA_SHAPES[family])
    low, high = OUTPUT_RANGES[family]
    assert low <= float(tf.reduce_min(x)) and float(tf.reduce_max(x)) <= high
    assert tuple(disc(x).shape) == (BATCH, 1)
    assert tuple(enc(x).shape) == (BATCH, feature_dim)


@pytest.mark.parametrize("family", SLOGAN_FAMILIES)
def test_gradients_reach_every_weight_and_the_latent(family):
    gen, disc, enc = networks(family)
    z = tf.random.stateless_normal((BATCH, PAPER_DIMS[family][0]), seed=(3, 4))
    with tf.GradientTape() as tape:
        tape.watch(z)
        x = gen(z, training=True)
        loss = tf.reduce_sum(disc(x, training=True)) + tf.reduce_sum(enc(x, training=True))
    variables = gen.trainable_variables + disc.trainable_variables + enc.trainable_variables
    grads = tape.gradient(loss, [z] + variables)
    assert all(g is not None and bool(tf.reduce_all(tf.math.is_finite(g))) for g in grads)
    # SLOGAN's Stein updates need dL/dz; every kernel must learn. (Biases right before a
    # training-mode BN get exactly zero gradient, so only kernels are checked for nonzero.)
    assert float(tf.norm(grads[0])) > 0
    for var, grad in zip(variables, grads[1:]):
        if "kernel" in var.path:
            assert float(tf.norm(grad)) > 0, var.path


def test_synthetic_encoder_has_spectral_norm_on_every_kernel_and_discriminator_none():
    keras.utils.set_random_seed(0)
    _, disc, enc = slogan_networks("synthetic", 64, 64)
    wrapped = [l for l in enc.layers if isinstance(l, keras.layers.SpectralNormalization)]
    assert [l.layer.name for l in wrapped] == ["dense1", "dense2", "dense3"]
    assert not any(isinstance(l, keras.layers.SpectralNormalization) for l in disc.layers)
    x = tf.random.stateless_normal((8, 2), seed=(5, 6))
    for _ in range(30):  # each training call runs one power iteration and rescales the kernel
        enc(x, training=True)
    for layer in wrapped:
        sigma = np.linalg.svd(layer.layer.kernel.numpy(), compute_uv=False)[0]
        assert sigma == pytest.approx(1.0, abs=1e-2), layer.name


@pytest.mark.parametrize("family, block_sizes", [("cifar", [16, 8, 8, 8]),
                                                 ("celeba", [32, 16, 8, 8])])
def test_resgan_critic_downsamples_like_the_tables(family, block_sizes):
    for model in networks(family)[1:]:
        sizes = [model.get_layer(f"block{i}_out").output.shape[1] for i in range(1, 5)]
        assert sizes == block_sizes


def test_original_batch_norm_and_leaky_relu_settings():
    for family in ("synthetic", "mnist", "cifar"):
        for model in networks(family):
            for layer in model.layers:
                if isinstance(layer, keras.layers.BatchNormalization):
                    assert (layer.momentum, layer.epsilon) == (0.9, 1e-5)
                if isinstance(layer, keras.layers.LeakyReLU):
                    assert layer.negative_slope == pytest.approx(0.2)


def test_bad_family_and_image_size_are_rejected():
    with pytest.raises(ValueError, match="synthetic"):
        slogan_networks("imagenet", 64, 64)
    with pytest.raises(ValueError, match="square"):
        resgan.resgan_generator(128, (48, 48, 3))
