"""SLOGAN attribute manipulation (tfgan_suite/probe.py; Sec. 3.4, Eq. 11, Algorithm 3): probe
folders and .npz files, their user errors, L_m and mixup against NumPy, the probe term inside
the train step (mu moves down dL_m/dmu, G and Sigma untouched), training without probe data
unchanged, and the CLI end to end."""

import json
import os
import shutil

import keras
import numpy as np
import pytest
import tensorflow as tf
from absl import flags
from PIL import Image

from tests import fixtures
from tfgan_suite import config as config_lib, contrastive, data, priors, probe, runs
from tfgan_suite.data.base import DatasetInfo
from tfgan_suite.errors import UserError
from tfgan_suite.models.slogan import SLOGAN
from tfgan_suite.train import train

FLAGS = flags.FLAGS
MNIST2 = data.describe("mnist2")
TINY = DatasetInfo("tiny", (8, 8, 1))


def write_folder(root, images_by_folder, ext="png"):
    """root/<name>/<k>.<ext> for every uint8 [H, W(, C)] image; returns root as str."""
    for name, images in images_by_folder.items():
        os.makedirs(os.path.join(root, name), exist_ok=True)
        for k, image in enumerate(images):
            Image.fromarray(np.squeeze(image)).save(os.path.join(root, name, f"{k:02d}.{ext}"))
    return str(root)


def digits(labels):
    return fixtures.digit_images(np.asarray(labels))[..., None]          # uint8 [N, 28, 28, 1]


# ---------------------------------------------------------------- reading probe data


def test_folder_and_npz_hold_the_same_probe_set(tmp_path):
    zeros, fours = digits([0, 0, 0]), digits([4, 4])
    zeros[:, 5, 5, 0] = [1, 2, 3]                                        # tell the images apart
    folder = write_folder(tmp_path / "probe", {"0": zeros, "1": fours})
    from_folder = probe.load_probe_set(folder, MNIST2, 2)
    np.testing.assert_array_equal(from_folder.images, np.concatenate([zeros, fours]))
    np.testing.assert_array_equal(from_folder.components, [0, 0, 0, 1, 1])

    # .npz in any order: sorted by component, file order kept within a component.
    np.savez(tmp_path / "probe.npz", images=np.stack([fours[0], zeros[0], zeros[1], fours[1],
                                                      zeros[2]]),
             components=np.array([1, 0, 0, 1, 0]))
    from_npz = probe.load_probe_set(str(tmp_path / "probe.npz"), MNIST2, 2)
    np.testing.assert_array_equal(from_npz.images, from_folder.images)
    np.testing.assert_array_equal(from_npz.components, from_folder.components)


def test_probe_folders_name_the_components_in_order_and_colour_becomes_grey(tmp_path):
    grey = np.full((28, 28, 3), 77, np.uint8)                           # an RGB file, R = G = B
    folder = write_folder(tmp_path, {"male": [grey], "female": digits([1])})
    loaded = probe.load_probe_set(folder, MNIST2, 2, folders=["female", "male"])
    np.testing.assert_array_equal(loaded.components, [0, 1])
    np.testing.assert_array_equal(loaded.images[0], digits([1])[0])
    np.testing.assert_array_equal(loaded.images[1], np.full((28, 28, 1), 77, np.uint8))


def test_raw_celeba_probes_are_cropped_and_resized_as_the_loader_does(tmp_path):
    fixtures.write_celeba(str(tmp_path / "celeba"), n=4)                # partitions 0, 0, 1, 2
    train_set = data.load_dataset("celeba", str(tmp_path / "celeba"), "train",
                                  cache_dir=str(tmp_path / "cache"))
    raw = tmp_path / "celeba" / "img_align_celeba"
    for name, files in {"0": ["000001.jpg", "000002.jpg"], "1": ["000003.jpg"]}.items():
        os.makedirs(tmp_path / "probe" / name)
        for f in files:
            shutil.copy(raw / f, tmp_path / "probe" / name / f)
    # A probe already at the training resolution is taken as it is.
    Image.fromarray(np.asarray(train_set.examples[0])).save(tmp_path / "probe" / "1" / "x.png")
    loaded = probe.load_probe_set(str(tmp_path / "probe"), data.describe("celeba"), 2)
    np.testing.assert_array_equal(loaded.images, np.asarray(train_set.examples)[[0, 1, 2, 0]])
    np.testing.assert_array_equal(loaded.components, [0, 0, 1, 1])


@pytest.mark.parametrize("layout,kwargs,message", [
    ("missing", {}, "does not exist"),
    ({"0": 1, "1": 1, "2": 1}, {}, r"holds 3 subfolder\(s\).*2 latent components.*0, 1"),
    ({"a": 1, "b": 1}, {}, "--probe_folders"),
    ({"a": 1, "b": 1}, {"folders": ["a", "b", "c"]}, r"lists 3 folder\(s\).*2 latent components"),
    ({"a": 1, "b": 1}, {"folders": ["a", "c"]}, r"\['c'\] are not subfolders"),
    ({"0": 2, "1": 0}, {}, r"too few probe images.*\[2, 0\]"),
    ({"0": 2, "1": 1}, {"min_per_component": 2}, r"too few probe images.*\[2, 1\]"),
    ({"0": 2, "1": 1}, {"equal_counts": True}, "same number"),
])
def test_probe_folder_errors(tmp_path, layout, kwargs, message):
    path = str(tmp_path / "probe")
    if layout != "missing":
        write_folder(path, {name: digits([0] * n) for name, n in layout.items()})
    with pytest.raises(UserError, match=message):
        probe.load_probe_set(path, MNIST2, 2, **kwargs)


def test_unreadable_non_image_and_wrong_size_files_are_named(tmp_path):
    folder = write_folder(tmp_path / "p", {"0": digits([0]), "1": digits([4])})
    with open(os.path.join(folder, "1", "broken.png"), "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n this is not a png")
    with pytest.raises(UserError, match="cannot read probe image.*1/broken.png"):
        probe.load_probe_set(folder, MNIST2, 2)
    os.remove(os.path.join(folder, "1", "broken.png"))
    with open(os.path.join(folder, "0", "notes.txt"), "w") as f:
        f.write("x")
    with pytest.raises(UserError, match="holds 'notes.txt', which is not a PNG or JPEG"):
        probe.load_probe_set(folder, MNIST2, 2)
    os.remove(os.path.join(folder, "0", "notes.txt"))
    Image.fromarray(np.zeros((20, 24), np.uint8)).save(os.path.join(folder, "0", "small.png"))
    with pytest.raises(UserError, match="small.png' is 24x20.*trains on 28x28"):
        probe.load_probe_set(folder, MNIST2, 2)
    small = write_folder(tmp_path / "c", {"0": [np.zeros((20, 24, 3), np.uint8)], "1": []})
    with pytest.raises(UserError, match="00.png' is 24x20.*64x64.*aligned 178x218 CelebA"):
        probe.load_probe_set(small, data.describe("celeba"), 2)


@pytest.mark.parametrize("arrays,message", [
    ({"images": digits([0, 4])}, r"lacks the array\(s\) \['components'\]"),
    ({"images": digits([0, 4]).astype(np.float32), "components": [0, 1]}, "'images' is float32"),
    ({"images": digits([0, 4])[..., 0], "components": [0, 1]}, r"needs uint8 \[N, 28, 28, 1\]"),
    ({"images": digits([0, 4]), "components": [0.0, 1.0]}, "'components' must be integers"),
    ({"images": digits([0, 4]), "components": [0, 2]}, r"components \[2\] do not exist"),
])
def test_npz_errors(tmp_path, arrays, message):
    np.savez(tmp_path / "p.npz", **arrays)
    with pytest.raises(UserError, match=message):
        probe.load_probe_set(str(tmp_path / "p.npz"), MNIST2, 2)


def test_other_probe_paths_are_refused(tmp_path):
    (tmp_path / "p.txt").write_text("x")
    with pytest.raises(UserError, match="neither a folder nor an .npz"):
        probe.load_probe_set(str(tmp_path / "p.txt"), MNIST2, 2)
    (tmp_path / "broken.npz").write_bytes(b"not a zip")
    with pytest.raises(UserError, match="cannot read probe file"):
        probe.load_probe_set(str(tmp_path / "broken.npz"), MNIST2, 2)
    with pytest.raises(UserError, match="needs an image dataset"):
        probe.load_probe_set(str(tmp_path), data.describe("gaussians8"), 8)


# ---------------------------------------------------------------- L_m and mixup against NumPy


def np_logits(features, mu, components, s, m):
    """s cos(arccos(cos) + m) on the own component (ArcFace fallback below pi - m), s cos else."""
    unit = lambda x: x / np.linalg.norm(x, axis=1, keepdims=True)     # noqa: E731
    cos = unit(features) @ unit(mu).T
    logits = s * cos
    for i, c in enumerate(components):
        logits[i, c] = (s * np.cos(np.arccos(np.clip(cos[i, c], -1, 1)) + m)
                        if cos[i, c] > np.cos(np.pi - m) else s * (cos[i, c] - np.sin(m) * m))
    return logits


@pytest.fixture
def encoded():
    rng = np.random.default_rng(3)
    mu = rng.standard_normal((3, 5))
    components = np.array([0, 0, 1, 1, 1, 2])
    features = rng.standard_normal((6, 5))
    features[2] = -mu[1]                       # cos = -1 with its own mean: ArcFace fallback
    return features.astype(np.float32), mu.astype(np.float32), components


def test_per_probe_loss_is_eq11_without_scale_and_margin(encoded):
    features, mu, components = encoded
    objective = probe.ProbeObjective("unused", MNIST2, 3)
    unit = lambda x: x / np.linalg.norm(x, axis=1, keepdims=True)     # noqa: E731
    cos = unit(features) @ unit(mu).T
    expected = sum(np.mean([-np.log(np.exp(cos[i, c]) / np.exp(cos[i]).sum())
                            for i in np.flatnonzero(components == c)]) for c in range(3))
    got = objective.loss(features, mu, components, 1.0, 0.0)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-5)


@pytest.mark.parametrize("s,m", [(4.0, 0.5), (8.0, 0.25)])
def test_per_probe_loss_with_scale_and_margin_matches_numpy(encoded, s, m):
    features, mu, components = encoded
    logits = np_logits(features.astype(np.float64), mu.astype(np.float64), components, s, m)
    nll = -(logits[np.arange(6), components] - np.log(np.exp(logits).sum(axis=1)))
    expected = sum(nll[components == c].mean() for c in range(3))
    got = probe.ProbeObjective("unused", MNIST2, 3).loss(features, mu, components, s, m)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-5)


def test_pooled_loss_is_algorithm3_for_two_components():
    rng = np.random.default_rng(5)
    m_probes, t, s, m = 3, 1, 4.0, 0.5
    mu = rng.standard_normal((2, 4))
    # Layout of mixup_probes: blocks t = 0..T, each [component 0 probes, component 1 probes].
    components = np.tile(np.repeat([0, 1], m_probes), t + 1)
    features = rng.standard_normal((len(components), 4))
    # Keep every probe out of the ArcFace fallback (cos <= cos(pi - m)): Algorithm 3 verbatim.
    features *= np.where(np.sum(features * mu[components], axis=1) < 0, -1, 1)[:, None]
    position = {c: np.flatnonzero(components == c) for c in (0, 1)}    # x_bar_c^j, j = 0..M(T+1)-1
    unit = lambda x: x / np.linalg.norm(x)                             # noqa: E731
    total = 0.0
    for j in range(m_probes * (t + 1)):
        e0, e1 = unit(features[position[0][j]]), unit(features[position[1][j]])
        cos00, cos01 = e0 @ unit(mu[0]), e0 @ unit(mu[1])
        cos10, cos11 = e1 @ unit(mu[0]), e1 @ unit(mu[1])
        pos = np.exp(s * np.cos(np.arccos(cos00) + m)) + np.exp(s * np.cos(np.arccos(cos11) + m))
        total += -np.log(pos / (pos + np.exp(s * cos01) + np.exp(s * cos10)))
    objective = probe.ProbeObjective("unused", MNIST2, 2, loss_form="pooled")
    got = objective.loss(features.astype(np.float32), mu.astype(np.float32), components, s, m)
    np.testing.assert_allclose(got.numpy(), total / (m_probes * (t + 1)), rtol=1e-5)


def test_mixup_probes_match_numpy():
    rng = np.random.default_rng(7)
    images = rng.uniform(-1, 1, (5, 4, 4, 1)).astype(np.float32)
    components = np.array([0, 0, 0, 1, 1], np.int32)
    partners = np.array([[2, 0, 1, 4, 3], [1, 2, 0, 3, 4]], np.int32)  # Permute(X_c) per t
    lambdas = rng.uniform(0, 1, (2, 5)).astype(np.float32)
    mixed, mixed_components = probe.mixup_probes(images, components, partners, lambdas)
    expected = np.concatenate(
        [images] + [lambdas[t][:, None, None, None] * images
                    + (1 - lambdas[t][:, None, None, None]) * images[partners[t]]
                    for t in range(2)])
    np.testing.assert_allclose(mixed.numpy(), expected, rtol=1e-6)
    np.testing.assert_array_equal(mixed_components.numpy(), np.tile(components, 3))


def test_mixup_draws_permute_within_components_and_follow_the_seed():
    components = np.array([0, 0, 0, 1, 1, 1, 1, 2, 2], np.int32)
    partners, lambdas = probe.mixup_draws(components, 5, tf.constant([1, 2]))
    partners, lambdas = partners.numpy(), lambdas.numpy()
    assert partners.shape == lambdas.shape == (5, 9)
    for row in partners:
        assert sorted(row) == list(range(9))
        np.testing.assert_array_equal(components[row], components)
    assert (partners != np.arange(9)).any() and len({tuple(r) for r in partners}) > 1
    assert ((lambdas >= 0) & (lambdas < 1)).all() and len(np.unique(lambdas)) == lambdas.size
    again, _ = probe.mixup_draws(components, 5, tf.constant([1, 2]))
    other, _ = probe.mixup_draws(components, 5, tf.constant([1, 3]))
    np.testing.assert_array_equal(again.numpy(), partners)
    assert not np.array_equal(other.numpy(), partners)


def test_objective_batch_with_mixup_has_t_plus_one_copies_in_model_units(tmp_path):
    np.savez(tmp_path / "p.npz", images=digits([0, 0, 4, 4]), components=[0, 0, 1, 1])
    objective = probe.ProbeObjective(str(tmp_path / "p.npz"), MNIST2, 2, mixup=True,
                                     mixup_iterations=3)
    images, components = objective.batch(tf.constant([0, 1]))
    assert images.shape == (16, 28, 28, 1) and images.dtype == tf.float32
    np.testing.assert_allclose(images[:4].numpy(), digits([0, 0, 4, 4]) / 127.5 - 1.0, atol=1e-6)
    assert -1.0 <= float(tf.reduce_min(images)) and float(tf.reduce_max(images)) <= 1.0
    np.testing.assert_array_equal(components.numpy(), np.tile([0, 0, 1, 1], 4))
    np.savez(tmp_path / "q.npz", images=digits([0, 4]), components=[0, 1])
    with pytest.raises(UserError, match="too few"):
        probe.ProbeObjective(str(tmp_path / "q.npz"), MNIST2, 2, mixup=True).read()


# ---------------------------------------------------------------- the probe term in train_step


def tiny_slogan(objective=None):
    """SLOGAN on 8x8x1 images with one-layer networks (latent = feature size 3, K = 2)."""
    init = keras.initializers.GlorotUniform
    z = keras.Input((3,))
    generator = keras.Model(z, keras.layers.Reshape((8, 8, 1))(
        keras.layers.Dense(64, activation="tanh", kernel_initializer=init(1))(z)))
    x = keras.Input((8, 8, 1))
    critic = keras.Model(x, keras.layers.Dense(1, kernel_initializer=init(2))(
        keras.layers.Flatten()(x)))
    x = keras.Input((8, 8, 1))
    encoder = keras.Model(x, keras.layers.Dense(3, kernel_initializer=init(3))(
        keras.layers.Flatten()(x)))
    prior = priors.GaussianMixturePrior(2, 3, seed=0)
    model = SLOGAN(generator, critic, encoder, prior, total_steps=100, tau=0.1, u2c_weight=1.0,
                   feature_scale=4.0, margin=0.5, learning_rate=1e-2, prior_learning_rate=1e-2,
                   penalty="none", probe=objective, seed=0)
    model.compile(d_optimizer=keras.optimizers.Adam(1e-2), g_optimizer=keras.optimizers.Adam(1e-2),
                  e_optimizer=keras.optimizers.Adam(1e-2))
    return model


@pytest.fixture
def tiny_probe(tmp_path):
    rng = np.random.default_rng(0)
    images = np.concatenate([rng.integers(150, 256, (3, 8, 8, 1)),       # bright: component 0
                             rng.integers(0, 100, (3, 8, 8, 1))])        # dark: component 1
    np.savez(tmp_path / "tiny.npz", images=images.astype(np.uint8), components=[0, 0, 0, 1, 1, 1])
    return str(tmp_path / "tiny.npz")


def real_batches(steps):
    rng = np.random.default_rng(1)
    return [(tf.constant(rng.uniform(-1, 1, (4, 8, 8, 1)), tf.float32), tf.zeros((4, 0)))
            for _ in range(steps)]


def probe_loss(model, margin):
    """L_m of the model's E and mu on its probe set (without mixup)."""
    probe_set = model.probe.read()
    features = model.encode(probe_set.images / 127.5 - 1.0)
    return model.probe.loss(features, model.prior.mu.value, probe_set.components,
                            model.feature_scale, margin)


def test_probe_step_moves_mu_down_dLm_dmu_and_leaves_g_sigma_rho_alone(tiny_probe):
    weight = 3.0
    plain = tiny_slogan()
    with_probe = tiny_slogan(probe.ProbeObjective(tiny_probe, TINY, 2, weight=weight))
    mu0 = tf.identity(with_probe.prior.mu.value)
    with tf.GradientTape() as tape:
        tape.watch(mu0)
        images, components = with_probe.probe.batch()
        loss0 = with_probe.probe.loss(with_probe.encoder(images), mu0, components, 4.0, 0.5)
    expected_step = -10 * 1e-2 * weight * tape.gradient(loss0, mu0)      # 10 gamma, decay 1

    batch = real_batches(1)[0]
    logs = with_probe.train_step(batch)
    assert "probe_loss" not in plain.train_step(batch)
    np.testing.assert_allclose(float(logs["probe_loss"]), float(loss0), rtol=1e-5)
    np.testing.assert_allclose((with_probe.prior.mu - plain.prior.mu).numpy(),
                               expected_step.numpy(), rtol=1e-3, atol=1e-7)
    assert float(tf.reduce_max(tf.abs(expected_step))) > 1e-4
    for a, b in zip(with_probe.generator.weights + [with_probe.prior.sigma, with_probe.prior.rho],
                    plain.generator.weights + [plain.prior.sigma, plain.prior.rho]):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert not np.allclose(with_probe.encoder.weights[0].numpy(), plain.encoder.weights[0].numpy())


@pytest.mark.parametrize("mixup,loss_form", [(False, "per_probe"), (True, "pooled")])
def test_probe_loss_decreases_during_training(tiny_probe, mixup, loss_form):
    model = tiny_slogan(probe.ProbeObjective(tiny_probe, TINY, 2, weight=5.0, mixup=mixup,
                                             mixup_iterations=2, loss_form=loss_form))
    before = float(probe_loss(model, 0.0))
    for batch in real_batches(8):
        logs = model.train_step(batch)
        assert float(logs["prior_valid"]) == 1.0
    assert float(probe_loss(model, 0.0)) < 0.25 * before   # weight 1e-9: x0.87 (per_probe), x3.2


def test_training_without_probe_data_is_unchanged(tiny_probe):
    """No probe: no probe_loss, no extra draw from the noise stream; a zero-weight probe term
    leaves every variable exactly as training without one does."""
    plain, zero = tiny_slogan(), tiny_slogan(probe.ProbeObjective(tiny_probe, TINY, 2, weight=0.0))
    for batch in real_batches(2):
        assert "probe_loss" not in plain.train_step(batch)
        zero.train_step(batch)
    for a, b in zip(plain.weights + [plain.noise_seed.state],
                    zero.weights + [zero.noise_seed.state]):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


# ---------------------------------------------------------------- flags and the CLI


FAST = ["--batch_size=2", "--log_every=1", "--sample_every=1", "--checkpoint_every=1",
        "--grid_rows=1", "--export=false"]


def resolve(*args):
    FLAGS.unparse_flags()
    FLAGS(["train", "--model=slogan", *args])
    return config_lib.resolve(FLAGS)


@pytest.fixture(scope="module")
def mnist_dir(tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("mnist"))
    fixtures.write_mnist_idx(folder, n_train=30, n_test=10)
    return folder


def test_probe_flags_resolve_with_defaults(mnist_dir, tmp_path):
    plain = resolve("--dataset=mnist2", f"--data_dir={mnist_dir}")
    assert plain.probe_data is None and plain.probe_weight == 1.0
    folder = write_folder(tmp_path / "p", {"0": digits([0, 0]), "1": digits([4, 4])})
    config = resolve("--dataset=mnist2", f"--data_dir={mnist_dir}", f"--probe_data={folder}",
                     "--probe_mixup")
    assert config.probe_data == folder and config.probe_mixup
    assert config.probe_mixup_iterations == 5 and config.probe_loss == "per_probe"


@pytest.mark.parametrize("args,message", [
    (["--probe_data=/nonexistent/probe"], "/nonexistent/probe' does not exist"),
    (["--probe_mixup"], "--probe_mixup needs --probe_data"),
    (["--probe_weight=2"], "--probe_weight needs --probe_data"),
    (["--probe_data={folder}", "--probe_weight=0"], "--probe_weight must be positive"),
    (["--probe_data={folder}", "--probe_mixup_iterations=0"], "iterations must be positive"),
    (["--probe_data={folder}", "--num_components=3"], "3 latent components"),
    (["--probe_data={folder}", "--probe_folders=0"], r"lists 1 folder\(s\)"),
])
def test_probe_flag_errors_come_from_resolve(mnist_dir, tmp_path, args, message):
    folder = write_folder(tmp_path / "p", {"0": digits([0]), "1": digits([4])})
    with pytest.raises(UserError, match=message):
        resolve("--dataset=mnist2", f"--data_dir={mnist_dir}",
                *[a.format(folder=folder) for a in args])


def test_train_with_probe_folder_end_to_end(mnist_dir, tmp_path):
    folder = write_folder(tmp_path / "probe", {"0": digits([0, 0]), "1": digits([4, 4])})
    run_dir = str(tmp_path / "run")
    config = resolve("--dataset=mnist2", f"--data_dir={mnist_dir}", f"--probe_data={folder}",
                     "--probe_mixup", "--probe_mixup_iterations=2", f"--run_dir={run_dir}",
                     "--steps=2", *FAST)
    assert train(config)["steps"] == 2
    saved = json.load(open(os.path.join(run_dir, "config.json")))
    assert saved["probe_data"] == folder and saved["probe_mixup_iterations"] == 2
    # A finished run loads (for export, sampling, evaluation) without its probe folder.
    shutil.rmtree(folder)
    model, _, _ = runs.load_trained_model(run_dir)
    assert int(model.step.numpy()) == 2
    assert np.isfinite(model.prior.mu.numpy()).all()
    assert np.isfinite(contrastive.cluster_probabilities(
        model.encode(digits([0]) / 127.5 - 1.0), model.prior.mu.value).numpy()).all()
