"""The training spine: logged scalars are true means over every iteration of a chunk, a NaN in
the middle of a chunk stops the run with the last good checkpoint intact, the three cWGAN quirk
flags change what they claim, both models satisfy the suite's model interface, and SLOGAN's
exported endpoints compute what the in-process model computes."""

import glob
import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from absl import flags

from tfgan_suite import callbacks, config as config_lib, data, runs
from tfgan_suite import train as train_module
from tfgan_suite.models import build_model
from tfgan_suite.models.base import GANModel
from tfgan_suite.models.cwgan import CWGAN

FLAGS = flags.FLAGS
SMALL = ["--dataset=mnist5k", "--n_critic=1", "--batch_size=4", "--grid_rows=1",
         "--sample_every=1000", "--export=false"]


def resolve(*args):
    FLAGS.unparse_flags()
    FLAGS(["train", *args])
    return config_lib.resolve(FLAGS)


def scalars(run_dir, tag) -> dict:
    """{step: value} of a TensorBoard scalar written by tf.summary.scalar."""
    values = {}
    for path in glob.glob(os.path.join(run_dir, "tensorboard", "events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                if value.tag == tag:
                    values[event.step] = float(tf.make_ndarray(value.tensor))
    return values


def test_logged_scalars_are_means_over_every_iteration_of_a_chunk(tmp_path):
    every = str(tmp_path / "every")
    train_module.train(resolve(*SMALL, "--steps=4", "--steps_per_execution=1", "--log_every=1",
                               f"--run_dir={every}"))
    chunked = str(tmp_path / "chunked")
    train_module.train(resolve(*SMALL, "--steps=4", "--steps_per_execution=4", "--log_every=4",
                               f"--run_dir={chunked}"))
    for tag in ("loss/critic", "loss/generator", "critic/gradient_penalty"):
        per_iteration = scalars(every, tag)
        assert sorted(per_iteration) == [1, 2, 3, 4], tag
        logged = scalars(chunked, tag)
        assert sorted(logged) == [4], tag
        values = [per_iteration[s] for s in (1, 2, 3, 4)]
        assert np.ptp(values) > 0, tag   # a last-iteration-only log would differ from the mean
        np.testing.assert_allclose(logged[4], np.mean(values), rtol=1e-5, err_msg=tag)


def test_a_short_run_still_writes_its_scalars(tmp_path):
    run = str(tmp_path / "run")
    train_module.train(resolve(*SMALL, "--steps=3", "--steps_per_execution=10",
                               "--log_every=10", f"--run_dir={run}"))
    assert sorted(scalars(run, "loss/critic")) == [3]


def test_nan_in_the_middle_of_a_chunk_stops_the_run_and_keeps_the_last_checkpoint(
        tmp_path, monkeypatch):
    original = CWGAN.generator_step

    def poisoned(self, y):   # iteration 7 of 8 (the second chunk of 4) returns NaN
        loss, aux = original(self, y)
        return tf.where(tf.equal(self.step, 6), tf.constant(float("nan")), loss), aux
    monkeypatch.setattr(CWGAN, "generator_step", poisoned)
    run = str(tmp_path / "run")
    config = resolve(*SMALL, "--steps=8", "--steps_per_execution=4", "--log_every=4",
                     "--checkpoint_every=4", f"--run_dir={run}")
    with pytest.raises(callbacks.NonFiniteLossError, match="non-finite.*g_loss"):
        train_module.train(config)
    manager_dir = os.path.join(run, "checkpoints")
    assert tf.train.latest_checkpoint(manager_dir).endswith("ckpt-4")
    model, _, _ = runs.load_trained_model(run)
    assert int(model.step.numpy()) == 4
    assert all(np.all(np.isfinite(v.numpy())) for v in model.generator.variables)


def _model(*args):
    config = resolve(*SMALL, *args, "--run_dir=/nonexistent")
    return build_model(config, data.describe("mnist5k"))


def _batch(model, seed=0):
    rng = np.random.default_rng(seed)
    n = model.batches_per_step
    x = rng.uniform(-1, 1, (n, 4, 28, 28, 1)).astype(np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, (n, 4))]
    return tf.constant(x), tf.constant(y)


def test_batch_stats_at_inference_samples_with_batch_statistics():
    z, y = tf.random.normal((6, 100), seed=1), tf.one_hot(tf.range(6), 10)
    for flag, expected_training in (("--nobatch_stats_at_inference", False),
                                    ("--batch_stats_at_inference", True)):
        model = _model(flag)
        model.train_step(_batch(model))
        sampled = model.generate(z, y).numpy()
        np.testing.assert_array_equal(
            sampled, model.generator([z, y], training=expected_training).numpy())
        assert not np.allclose(sampled, model.generator([z, y],
                                                        training=not expected_training).numpy())


@pytest.mark.parametrize("updates", [1, 2])
def test_generator_updates_runs_that_many_generator_steps(updates):
    model = _model(f"--generator_updates={updates}")
    model.train_step(_batch(model))
    assert int(model.g_optimizer.iterations.numpy()) == updates
    assert int(model.d_optimizer.iterations.numpy()) == 1


@pytest.mark.parametrize("z_mean", [-1.0, 0.0, 2.5])
def test_z_mean_sets_the_prior_mean_everywhere(z_mean):
    model = _model(f"--z_mean={z_mean}")
    z = model.sample_z(20000).numpy()
    assert abs(z.mean() - z_mean) < 0.02 and abs(z.std() - 1.0) < 0.02
    assert model.export_metadata()["z_distribution"] == f"normal(mean={z_mean}, std=1)"


def test_both_models_satisfy_the_interface(tmp_path):
    from tests import fixtures
    fixtures.write_mnist_idx(str(tmp_path / "mnist"), n_train=20, n_test=10)
    slogan = build_model(resolve("--model=slogan", "--dataset=mnist2",
                                 f"--data_dir={tmp_path}/mnist", f"--run_dir={tmp_path}/r"),
                         data.describe("mnist2"))
    for model in (_model(), slogan):
        assert isinstance(model, GANModel)
        assert isinstance(model.batches_per_step, int)
        assert all(isinstance(m, keras.metrics.Metric) for m in model.metrics)


def test_slogan_export_computes_what_the_model_computes(tmp_path):
    run, exports = str(tmp_path / "run"), str(tmp_path / "exports")
    result = train_module.train(resolve(
        "--model=slogan", "--dataset=gaussians8", "--steps=3", "--batch_size=16",
        "--steps_per_execution=1", "--grid_rows=1", "--sample_every=1000",
        f"--run_dir={run}", f"--export_dir={exports}", "--export=true"))
    model, _, _ = runs.load_trained_model(run)
    loaded = tf.saved_model.load(result["export"])

    z = tf.random.stateless_normal((7, model.prior.latent_dim), seed=[1, 2])
    np.testing.assert_allclose(loaded.signatures["serving_default"](z=z)["images"].numpy(),
                               model.generate(z).numpy(), rtol=1e-5, atol=1e-6)
    points = tf.random.stateless_uniform((9, 2), seed=[3, 4], minval=-1, maxval=1)
    np.testing.assert_allclose(
        loaded.signatures["cluster_probabilities"](images=points)["probabilities"].numpy(),
        model.cluster_probabilities(points).numpy(), rtol=1e-5, atol=1e-6)
    # generate_component draws its own noise: compare the noise-free part, the component means
    # mapped through G, by checking samples land where G(N(mu_c, Sigma_c)) puts them.
    components = tf.constant([0, 3, 5, 5], tf.int32)
    served = loaded.signatures["generate_component"](component=components)["images"].numpy()
    assert served.shape == (4, 2) and np.all(np.isfinite(served))
    metadata = model.export_metadata()
    with open(os.path.join(result["export"], "assets.extra", "tfgan_suite.json")) as fh:
        import json
        exported = json.load(fh)
    for key in ("mixing_coefficients", "means", "covariances"):
        np.testing.assert_allclose(exported[key], metadata[key], rtol=1e-6)
