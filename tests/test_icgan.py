"""ICGAN: ColorMNIST construction, hue conversions, network shapes and parameter counts against
the paper's description, equalised-lr layers / SSBlock / blur-pool against NumPy, one training
step per variant, the learning-rate drop, the flags, and an exact resume."""

import colorsys
import math

import keras
import numpy as np
import pytest
import tensorflow as tf
from absl import flags

from tests import fixtures
from tfgan_suite import config as config_lib, data
from tfgan_suite.data import colormnist
from tfgan_suite.errors import UserError
from tfgan_suite.hue import hue_to_rgb, rgb_to_hue
from tfgan_suite.models.icgan import ICGAN, compose_latent, hue_to_rgb_tf
from tfgan_suite.nets import icgan_nets as nets

config_lib.define_flags()


def trainable_count(model):
    return sum(int(np.prod(v.shape)) for v in model.trainable_weights)


# ---- hue and ColorMNIST ---------------------------------------------------------------------

def test_hue_conversions_match_colorsys():
    hues = np.linspace(0, 1, 97, endpoint=False)
    expected = np.array([colorsys.hsv_to_rgb(h, 1.0, 1.0) for h in hues])
    np.testing.assert_allclose(hue_to_rgb(hues), expected, atol=1e-12)
    np.testing.assert_allclose(hue_to_rgb_tf(hues).numpy(), expected, atol=1e-6)
    rgb = np.random.default_rng(0).uniform(size=(50, 3))
    expected_hue = [colorsys.rgb_to_hsv(*c)[0] for c in rgb]
    np.testing.assert_allclose(rgb_to_hue(rgb), expected_hue, atol=1e-12)
    np.testing.assert_allclose(rgb_to_hue(hue_to_rgb(hues)), hues, atol=1e-12)


def test_colormnist_from_mnist5k_is_balanced_coloured_and_deterministic():
    source = data.load_dataset("colormnist", split="test")
    assert source.examples.shape == (500, 28, 28, 3) and source.examples.dtype == np.uint8
    assert np.bincount(source.class_ids).tolist() == [50] * 10
    np.testing.assert_array_equal(source.labels.argmax(1), source.class_ids)
    hues = colormnist.hue_ids(colormnist.Options(), None, "test")
    assert hues.min() >= 0 and hues.max() < 100 and len(np.unique(hues)) > 90
    # Corners are background in MNIST: exactly the hue's colour.
    corner = source.examples[:, 0, 0, :].astype(np.float64)
    np.testing.assert_allclose(corner, np.round(hue_to_rgb(hues / 100) * 255), atol=0)
    again = data.load_dataset("colormnist", split="test")
    np.testing.assert_array_equal(again.examples, source.examples)
    other = data.load_dataset("colormnist", split="test", seed=1)
    assert not np.array_equal(other.examples, source.examples)


def test_colormnist_from_idx_files_undersamples_to_the_rarest_digit(tmp_path):
    written = fixtures.write_mnist_idx(str(tmp_path), n_train=47, n_test=20)
    digits = written["train"][1]
    rarest = np.bincount(digits, minlength=10).min()
    source = data.load_dataset("colormnist", str(tmp_path), "train", source="mnist")
    assert np.bincount(source.class_ids).tolist() == [rarest] * 10
    assert colormnist.split_size(colormnist.Options(source="mnist"), str(tmp_path),
                                 "train") == 10 * rarest
    # The white digit over the background: a pixel of grey m is m*255 + (1 - m)*bg.
    grey = np.full((1, 28, 28), 51, np.uint8)
    pixel = colormnist.colorize(grey, np.array([50]))[0, 0, 0]
    np.testing.assert_array_equal(pixel, np.round(0.2 * 255 + 0.8 * hue_to_rgb(0.5) * 255))
    with pytest.raises(UserError, match="data_dir"):
        data.load_dataset("colormnist", None, "train", source="mnist")


def test_classifier_set_adds_solid_colour_and_noise_classes():
    info = data.describe("colormnist", classifier_set=True)
    assert info.label_names[-2:] == ("solid", "noise") and info.num_classes == 12
    source = data.load_dataset("colormnist", split="test", classifier_set=True)
    counts = np.bincount(source.class_ids)
    assert counts.tolist() == [50] * 10 + [50, 50]
    solid = source.examples[source.class_ids == 10].reshape(50, -1, 3)
    assert np.all(solid.std(axis=1) == 0)                       # one colour per image
    noise = source.examples[source.class_ids == 11]
    assert noise.std() > 60                                      # uniform RGB noise
    with pytest.raises(UserError, match="source"):
        data.describe("colormnist", source="svhn")


# ---- layers against NumPy ---------------------------------------------------------------------

def _numpy_conv_same(x, kernel):
    """Stride-1 'same' cross-correlation, x [B, H, W, Ci], kernel [k, k, Ci, Co] (odd k)."""
    k = kernel.shape[0]
    pad = k // 2
    xp = np.pad(x, [(0, 0), (pad, pad), (pad, pad), (0, 0)])
    out = np.zeros(x.shape[:3] + (kernel.shape[3],))
    for i in range(x.shape[1]):
        for j in range(x.shape[2]):
            out[:, i, j] = np.einsum("bhwc,hwco->bo", xp[:, i:i + k, j:j + k], kernel)
    return out


def test_equalised_layers_scale_unit_normal_weights_at_run_time():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 5)).astype(np.float32)
    dense = nets.EqualizedDense(4, bias_init=0.5)
    y = dense(x).numpy()
    w = dense.kernel.numpy()
    assert abs(w.std() - 1.0) < 0.5                              # stored weights ~ N(0, 1)
    np.testing.assert_allclose(y, x @ (w * math.sqrt(2.0 / 5)) + 0.5, rtol=1e-5, atol=1e-6)

    images = rng.normal(size=(2, 6, 5, 3)).astype(np.float32)
    conv = nets.EqualizedConv2D(4, 3, gain=1.0)
    out = conv(images).numpy()
    kernel = conv.kernel.numpy() * (1.0 / math.sqrt(9 * 3))
    np.testing.assert_allclose(out, _numpy_conv_same(images, kernel), rtol=1e-4, atol=1e-5)

    up = nets.EqualizedConv2DTranspose(2, 4, 2)
    assert up(images).shape == (2, 12, 10, 2)
    assert up.scale == pytest.approx(math.sqrt(2.0 / (16 * 3)))


def test_shift_scale_block_is_alpha_of_z_times_x_plus_beta_of_z():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3, 4, 4, 5)).astype(np.float32)
    z = rng.uniform(size=(3, 7)).astype(np.float32)
    block = nets.ShiftScale()
    out = block([x, z]).numpy()
    scale = 1.0 / math.sqrt(7)                                   # gain 1 (StyleGAN's style map)
    alpha = z @ (block.alpha.kernel.numpy() * scale) + 1.0       # alpha's bias starts at 1
    beta = z @ (block.beta.kernel.numpy() * scale)
    np.testing.assert_allclose(out, x * alpha[:, None, None] + beta[:, None, None],
                               rtol=1e-5, atol=1e-5)


def test_max_blur_pool_matches_numpy():
    x = np.random.default_rng(2).normal(size=(1, 6, 6, 2)).astype(np.float32)
    out = nets.MaxBlurPool()(x).numpy()
    edge = np.pad(x, [(0, 0), (0, 1), (0, 1), (0, 0)], mode="symmetric")
    pooled = np.maximum.reduce([edge[:, a:a + 6, b:b + 6] for a in (0, 1) for b in (0, 1)])
    padded = np.pad(pooled, [(0, 0), (1, 1), (1, 1), (0, 0)], mode="reflect")
    blur = np.outer([1, 2, 1], [1, 2, 1]) / 16.0
    expected = np.zeros((1, 3, 3, 2))
    for i in range(3):
        for j in range(3):
            expected[:, i, j] = np.einsum("bhwc,hw->bc", padded[:, 2 * i:2 * i + 3,
                                                                2 * j:2 * j + 3], blur)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)


# ---- networks against the paper ----------------------------------------------------------------

def _ss(z, c):
    return 2 * (z * c + c)


def test_icgan_generator_shapes_and_parameter_count():
    z = 100
    g = nets.build_icgan_generator(z)
    assert g.output_shape == (None, 28, 28, 3)
    layers = [l.name for l in g.layers]
    assert all(name in layers for name in nets.ABLATION_LAYERS)       # Fig. 7's seven layers
    assert sum(isinstance(l, nets.ShiftScale) for l in g.layers) == 8  # IC into every layer
    expected = (z * 7 * 7 * 256 + 7 * 7 * 256 + _ss(z, 256)               # front + SS
                + 16 * 256 * 128 + 128 + _ss(z, 128)                      # D11
                + 2 * (9 * 128 * 128 + 128 + _ss(z, 128))                 # C11, C12
                + 128 * 64 + 64 + 9 * 128 * 64 + 64 + 9 * 64 * 64 + 64 + 2 * _ss(z, 64)
                + 2 * (9 * 64 * 64 + 64 + _ss(z, 64))                     # C31, C32
                + 64 * 3 + 3)                                             # to RGB
    assert trainable_count(g) == expected == 2_460_547
    no_ic = nets.build_icgan_generator(z, ic=False)
    assert not any(isinstance(l, nets.ShiftScale) for l in no_ic.layers)
    bn = sum(2 * c for c in (256, 128, 128, 128, 64, 64, 64, 64))     # BN gamma, beta
    ss = sum(_ss(z, c) for c in (256, 128, 128, 128, 64, 64, 64, 64))
    assert trainable_count(no_ic) == expected - ss + bn


def test_icgan_discriminator_shapes_and_parameter_count():
    d = nets.build_icgan_discriminator()
    score, logits, color = d(tf.zeros((2, 28, 28, 3)))
    assert (score.shape, logits.shape, color.shape) == ((2, 1), (2, 10), (2, 3))
    assert d.get_layer("down2").output.shape == (None, 7, 7, 256)
    flat = 7 * 7 * 256
    expected = (9 * 3 * 64 + 64 + 9 * 64 * 128 + 128 + 9 * 128 * 256 + 256 + flat + 1
                + flat * 128 + 128 + 128 * 10 + 10 + 128 * 3 + 3)
    assert trainable_count(d) == expected


def test_infogan_networks_follow_chen_et_al():
    g, d = nets.build_networks("infogan", 100)
    assert g.output_shape == (None, 28, 28, 3)
    expected_g = (100 * 1024 + 1024 + 2 * 1024 + 1024 * 6272 + 6272 + 2 * 6272
                  + 16 * 128 * 64 + 64 + 2 * 64 + 16 * 64 * 3 + 3)
    assert trainable_count(g) == expected_g
    assert [o.shape for o in d(tf.zeros((2, 28, 28, 3)))] == [(2, 1), (2, 10), (2, 3)]


# ---- training -----------------------------------------------------------------------------------

def tiny_model(arch="icgan", ic=True, **kwargs):
    keras.utils.set_random_seed(0)
    g, d = nets.build_networks(arch, 20, ic, width=0.125)
    settings = dict(loss="wgan", penalty="gp") if arch == "icgan" else dict(loss="gan",
                                                                           penalty="none")
    model = ICGAN(g, d, z_dim=20, **settings, **kwargs)
    model.compile(keras.optimizers.Adam(1e-3, 0.0, 0.99), keras.optimizers.Adam(1e-3, 0.0, 0.99))
    return model


@pytest.mark.parametrize("arch,ic", [("icgan", True), ("icgan", False), ("infogan", True)])
def test_one_train_step_per_variant_updates_both_networks(arch, ic):
    model = tiny_model(arch, ic)
    real = tf.random.uniform((4, 28, 28, 3), -1, 1, seed=1)
    g_before = [w.numpy().copy() for w in model.generator.trainable_weights]
    d_before = [w.numpy().copy() for w in model.discriminator.trainable_weights]
    logs = {k: float(v) for k, v in model.train_step((real, tf.zeros((4, 10)))).items()}
    assert all(np.isfinite(v) for v in logs.values()), logs
    assert int(model.step.numpy()) == 1
    assert logs["info_digit_ce"] > 0 and logs["info_color_mse"] > 0
    assert (logs["gradient_penalty"] > 0) == (arch == "icgan")
    moved_g = [not np.allclose(b, w.numpy()) for b, w in zip(g_before, model.generator.trainable_weights)]
    moved_d = [not np.allclose(b, w.numpy())
               for b, w in zip(d_before, model.discriminator.trainable_weights)]
    assert sum(moved_g) >= len(moved_g) / 2 and sum(moved_d) >= len(moved_d) / 2


def test_n_critic_updates_read_one_real_batch_each():
    model = tiny_model(n_critic=2)
    real = tf.random.uniform((2, 4, 28, 28, 3), -1, 1, seed=1)   # [n_critic, B, ...]
    assert model.batches_per_step == 2
    logs = model.train_step((real, tf.zeros((2, 4, 10))))
    assert np.isfinite(float(logs["d_loss"]))
    assert int(model.d_optimizer.iterations.numpy()) == 2
    assert int(model.g_optimizer.iterations.numpy()) == 1


def test_info_terms_enter_both_losses_with_their_weights():
    real = tf.random.uniform((4, 28, 28, 3), -1, 1, seed=1)
    # Same seeds, same networks, same latents: the losses differ by the weighted info terms.
    weighted, plain = (tiny_model(info_digit_weight=2.0, info_color_weight=3.0),
                       tiny_model(info_digit_weight=0.0, info_color_weight=0.0))
    with_info = {k: float(v) for k, v in weighted.generator_step(4).items()}
    without = {k: float(v) for k, v in plain.generator_step(4).items()}
    extra = 2.0 * with_info["info_digit_ce"] + 3.0 * with_info["info_color_mse"]
    assert with_info["g_loss"] - without["g_loss"] == pytest.approx(extra, rel=1e-4)
    d_with = float(tiny_model(info_digit_weight=2.0, info_color_weight=3.0)
                   .discriminator_step(real)["d_loss"])
    d_without = float(tiny_model(info_digit_weight=0.0, info_color_weight=0.0)
                      .discriminator_step(real)["d_loss"])
    assert d_with - d_without > 0.5 * extra   # the D step carries them too (its own latents)


def test_latent_layout_and_learning_rate_drops():
    model = tiny_model(lr_drop_every=3, lr_drop_factor=0.5, learning_rate=0.1)
    z, digits, colors = model.sample_latent(500)
    z = z.numpy()
    np.testing.assert_array_equal(z[:, :10].argmax(1), digits.numpy())
    np.testing.assert_allclose(z[:, :10].sum(1), 1.0)
    # Colour codes are the RGB of the 100 ColorMNIST hues; noise is U(0, 1).
    hues = rgb_to_hue(colors.numpy()) * 100
    np.testing.assert_allclose(hues, np.round(hues), atol=1e-4)
    assert z[:, 13:].min() >= 0 and z[:, 13:].max() < 1 and abs(z[:, 13:].mean() - 0.5) < 0.02
    np.testing.assert_allclose(compose_latent([3], [0.25], [[0.5] * 7]).numpy()[0, 10:13],
                               hue_to_rgb(0.25), atol=1e-6)
    factors = []
    for step in (0, 2, 3, 5, 6, 9):
        model.step.assign(step)
        factors.append(float(model.learning_rate_factor()))
    assert factors == pytest.approx([1, 1, 0.5, 0.5, 0.25, 0.125])


# ---- flags --------------------------------------------------------------------------------------

def resolve(*args):
    flags.FLAGS.unparse_flags()
    flags.FLAGS(["train", *args])
    return config_lib.resolve(flags.FLAGS)


def test_paper_defaults_and_derived_learning_rate_drop():
    config = resolve("--model=icgan", "--dataset=colormnist")
    assert isinstance(config, config_lib.ICGANConfig)
    assert (config.batch_size, config.z_dim, config.loss, config.penalty,
            config.penalty_weight) == (100, 100, "wgan", "gp", 10.0)
    assert (config.learning_rate, config.d_learning_rate) == (5e-2, 8e-2)
    assert (config.lr_drop_factor, config.epochs, config.arch, config.ic) == (0.9, 40.0,
                                                                            "icgan", True)
    assert config.lr_drop_every == 5 * (4500 // 100)   # 5 epochs of mnist5k's 4,500 digits
    assert config_lib.total_steps(config, 4500) == 40 * 45
    infogan = resolve("--model=icgan", "--dataset=colormnist", "--icgan_arch=infogan")
    assert (infogan.loss, infogan.penalty, infogan.d_learning_rate) == ("gan", "none", 3e-3)
    assert resolve("--model=icgan", "--dataset=colormnist", "--no_ic").ic is False


@pytest.mark.parametrize("args,message", [
    (["--model=icgan", "--dataset=mnist5k"], "--dataset=colormnist"),
    (["--model=icgan", "--dataset=colormnist", "--icgan_arch=infogan", "--no_ic"], "InfoGAN"),
    (["--model=icgan", "--dataset=colormnist", "--z_dim=13"], "no noise"),
    (["--model=icgan", "--dataset=colormnist", "--z_mean=0"], "cwgan setting"),
    (["--model=icgan", "--dataset=colormnist", "--u2c_weight=1"], "slogan setting"),
    (["--model=cwgan", "--dataset=mnist5k", "--no_ic"], "icgan setting"),
    (["--model=icgan", "--dataset=colormnist", "--lr_drop_factor=1.5"], "lr_drop_factor"),
    (["--model=icgan", "--dataset=colormnist", "--mnist_source=mnist"], "data_dir"),
])
def test_bad_icgan_flags_are_refused(args, message):
    with pytest.raises(UserError, match=message):
        resolve(*args)
