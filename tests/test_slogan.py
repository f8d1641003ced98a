"""SLOGAN end to end: Appendix E defaults, one step per dataset configuration, resume of the
prior and schedules, export endpoints under saved_model_cli, and the prior-validity guard."""

import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from absl import flags

from tests import checks, fixtures
from tfgan_suite import callbacks, config as config_lib, runs
from tfgan_suite.errors import UserError
from tfgan_suite.train import train

FLAGS = flags.FLAGS
FAST = ["--model=slogan", "--batch_size=4", "--log_every=1", "--sample_every=1",
        "--checkpoint_every=1", "--grid_rows=2", "--export=false"]


def resolve(*args):
    FLAGS.unparse_flags()
    FLAGS(["train", *args])
    return config_lib.resolve(FLAGS)


def test_appendix_e_defaults_are_resolved_per_dataset():
    g8 = resolve("--model=slogan", "--dataset=gaussians8")
    assert (g8.num_components, g8.z_dim, g8.tau, g8.loss, g8.penalty,
            g8.batch_size, g8.schedule_end, g8.u2c_weight) == (8, 64, 0.1, "hinge", "lp",
                                                                         128, -4.0, 4.0)
    m2 = resolve("--model=slogan", "--dataset=mnist2")
    assert (m2.num_components, m2.u2c_weight, m2.feature_scale, m2.learning_rate,
            m2.prior_learning_rate, m2.penalty) == (2, 4.0, 4.0, 1e-4, 2e-3, "lp")
    c2 = resolve("--model=slogan", "--dataset=cifar2")
    assert (c2.z_dim, c2.penalty, c2.simclr, c2.steps) == (128, "alp", True, 100_000)
    celeba = resolve("--model=slogan", "--dataset=celeba")
    assert (celeba.learning_rate, celeba.prior_learning_rate) == (2e-4, 6e-4)
    assert resolve("--model=slogan", "--dataset=mnist2", "--feature_scale=2").feature_scale == 2


@pytest.mark.parametrize("args,message", [
    (["--model=slogan", "--dataset=efigi"], "no Appendix E configuration"),
    (["--model=slogan", "--dataset=mnist2", "--n_critic=5"], "one critic update"),
    (["--model=slogan", "--dataset=mnist2", "--original_gp"], "cwgan setting"),
    (["--model=cwgan", "--num_components=3"], "needs --model=slogan"),
    (["--model=cwgan", "--probe_data=/tmp"], "needs --model=slogan"),
    (["--model=slogan", "--dataset=mnist2", "--num_components=1"], "at least 2"),
])
def test_incompatible_flags_are_refused(args, message):
    with pytest.raises(UserError, match=message):
        resolve(*args)


def _train_one_step(tmp_path, dataset, data_dir=None, extra=()):
    args = [f"--dataset={dataset}", f"--run_dir={tmp_path}/run", "--steps=1", *FAST, *extra]
    if data_dir:
        args.append(f"--data_dir={data_dir}")
    return train(resolve(*args))


def test_one_step_gaussians8(tmp_path):
    _train_one_step(tmp_path, "gaussians8", extra=["--batch_size=16"])
    checks.assert_trained(tmp_path / "run", 1)
    assert os.path.isfile(tmp_path / "run" / "samples" / "step_0000001.png")  # scatter plot


def test_one_step_mnist2(tmp_path):
    fixtures.write_mnist_idx(str(tmp_path / "mnist"), n_train=60, n_test=20)
    _train_one_step(tmp_path, "mnist2", tmp_path / "mnist")
    checks.assert_trained(tmp_path / "run", 1)


def test_one_step_fmnist5(tmp_path):
    fixtures.write_fashion_mnist(str(tmp_path / "fmnist"), n_train=40, n_test=20)
    _train_one_step(tmp_path, "fmnist5", tmp_path / "fmnist")
    checks.assert_trained(tmp_path / "run", 1)


def test_one_step_cifar2_with_alp_and_simclr(tmp_path):
    fixtures.write_cifar10(str(tmp_path / "cifar"), n_per_batch=20, n_test=20)
    _train_one_step(tmp_path, "cifar2", tmp_path / "cifar")
    checks.assert_trained(tmp_path / "run", 1)


def test_one_step_celeba(tmp_path):
    fixtures.write_celeba(str(tmp_path / "celeba"), n=12)
    _train_one_step(tmp_path, "celeba", tmp_path / "celeba", ["--batch_size=2"])
    checks.assert_trained(tmp_path / "run", 1)


def test_resume_restores_prior_and_schedules(tmp_path):
    args = ["--dataset=gaussians8", f"--run_dir={tmp_path}/run", *FAST, "--batch_size=16"]
    train(resolve(*args, "--steps=3"))
    model, config, _ = runs.load_trained_model(str(tmp_path / "run"))
    mu, sigma, rho = (model.prior.mu.numpy(), model.prior.sigma.numpy(), model.prior.rho.numpy())
    assert int(model.step.numpy()) == 3
    # The prior moved away from its initial values (rho = 1/K, Sigma = I) and was saved.
    assert not np.allclose(rho, 1 / 8) and not np.allclose(sigma, np.eye(64))
    reader = tf.train.load_checkpoint(os.path.join(config.run_dir, "checkpoints"))
    saved_rho = [reader.get_tensor(n) for n in reader.get_variable_to_shape_map()
                 if n.startswith("prior/") and reader.get_tensor(n).shape == (8,)]
    assert any(np.allclose(r, rho) for r in saved_rho)
    # Schedules are a function of the restored step: decay and U2C factor continue.
    decay, temp = model._schedules()
    assert float(decay) == pytest.approx(1 - 3 / 3) and float(temp) == 0.0
    assert np.allclose(np.linalg.eigvalsh(sigma).min(), model.prior.min_eigenvalues().numpy().min(),
                       atol=1e-5)
    # --steps sets the schedules, so a longer run is another experiment (exact resume of an
    # interrupted SLOGAN run, prior included: tests/test_exact_resume.py).
    with pytest.raises(UserError, match="schedules"):
        train(resolve(*args, "--steps=4"))


def test_nolearn_pi_keeps_pi_uniform_while_mu_and_sigma_move(tmp_path):
    """--nolearn_pi (DeLiGAN-like ablation): Eq. 7 is skipped, the rest of Algorithm 1 runs."""
    for flag, run in (("--learn_pi", "learnt"), ("--nolearn_pi", "fixed")):
        train(resolve("--dataset=gaussians8", f"--run_dir={tmp_path}/{run}", *FAST,
                      "--batch_size=16", "--steps=2", flag))
    learnt, _, _ = runs.load_trained_model(str(tmp_path / "learnt"))
    fixed, config, _ = runs.load_trained_model(str(tmp_path / "fixed"))
    assert config.learn_pi is False
    np.testing.assert_allclose(fixed.prior.mixing_coefficients().numpy(), np.full(8, 1 / 8),
                               atol=1e-7)
    assert not np.allclose(learnt.prior.mixing_coefficients().numpy(), 1 / 8, atol=1e-7)
    assert not np.allclose(fixed.prior.sigma.numpy(), np.eye(64))


def test_export_endpoints_run_under_saved_model_cli(tmp_path):
    result = train(resolve("--dataset=gaussians8", f"--run_dir={tmp_path}/run", "--steps=1",
                           *FAST[:-1], "--batch_size=16", f"--export_dir={tmp_path}/exports"))
    export = result["export"]
    cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    np.save(tmp_path / "c.npy", np.array([0, 3, 7, 7], np.int32))
    out = subprocess.run([cli, "run", "--dir", export, "--tag_set", "serve", "--signature_def",
                          "generate_component", "--inputs", f"component={tmp_path}/c.npy",
                          "--outdir", str(tmp_path / "out")], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    images = np.load(tmp_path / "out" / "images.npy")
    assert images.shape == (4, 2) and np.all(np.abs(images) <= 1)
    np.save(tmp_path / "x.npy", np.zeros((5, 2), np.float32))
    out = subprocess.run([cli, "run", "--dir", export, "--tag_set", "serve", "--signature_def",
                          "cluster_probabilities", "--inputs", f"images={tmp_path}/x.npy",
                          "--outdir", str(tmp_path / "out2")], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    probabilities = np.load(tmp_path / "out2" / "probabilities.npy")
    assert probabilities.shape == (5, 8)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    loaded = tf.saved_model.load(export)
    assert set(loaded.signatures) >= {"serving_default", "generate_component",
                                      "cluster_probabilities"}


def test_invalid_prior_update_stops_the_run_before_a_checkpoint(tmp_path):
    guard = callbacks.NonFiniteGuard(str(tmp_path))

    class Stub:
        step = tf.Variable(7, dtype=tf.int64)
    guard.set_model(Stub())
    with pytest.raises(callbacks.NonFiniteLossError, match="positive definite"):
        guard.on_train_batch_end(0, {"prior_valid": 0.0, "g_loss": 1.0})
    with pytest.raises(callbacks.NonFiniteLossError, match="non-finite"):
        guard.on_train_batch_end(0, {"prior_valid": 1.0, "g_loss": float("nan")})
