"""beta-VAE and ID-GAN: architecture sizes, the losses against NumPy (reconstruction, KL, L_ID,
R1), one training step per stage through the CLI's train(), the frozen distilled encoder, the
generator average, exact resume, the stage-1 checks of --vae_run_dir, the ResNet variant for
natural images, and the exports under saved_model_cli."""

import json
import math
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from absl import flags

from tfgan_suite import config as config_lib, penalties, runs
from tfgan_suite import train as train_module
from tfgan_suite.errors import UserError
from tfgan_suite.models import betavae as betavae_lib
from tfgan_suite.models import idgan as idgan_lib
from tfgan_suite.models.base import GANModel
from tfgan_suite.nets import idgan_nets
from tests.test_exact_resume import assert_resume_is_exact

FLAGS = flags.FLAGS
TINY = ["--dataset=dsprites", "--batch_size=4", "--steps_per_execution=1", "--grid_rows=1",
        "--sample_every=100", "--log_every=1"]


def resolve(*args):
    FLAGS.unparse_flags()
    FLAGS(["train", *args])
    return config_lib.resolve(FLAGS)


def count(model):
    return sum(int(np.prod(v.shape)) for v in model.trainable_weights)


def test_networks_have_the_original_sizes():
    # BetaVAE_H (1Konny/idgan dvae.py), c = 10, one channel: conv 544 + 16,416 + 32,832 + 65,600
    # + 262,400, linear 256 -> 20: 5,140.
    assert count(idgan_nets.vae_encoder((64, 64, 1), 10)) == 382_932
    # linear 10 -> 256: 2,816; deconvs 262,208 + 65,600 + 32,800 + 16,416 + 513.
    assert count(idgan_nets.vae_decoder((64, 64, 1), 10)) == 380_353
    g = idgan_nets.dsprites_generator(10, (64, 64, 1))
    d = idgan_nets.dsprites_discriminator((64, 64, 1))
    assert count(g) == 380_353 and count(d) == 382_932 - 5_140 + 257
    images = g(np.zeros((2, 10), np.float32))
    assert images.shape == (2, 64, 64, 1) and d(images).shape == (2, 1)


def test_resnet_networks_follow_gan_stability():
    g = idgan_nets.resnet_generator(276, (64, 64, 3))
    d = idgan_nets.resnet_discriminator((64, 64, 3))
    names = [layer.name for layer in g.layers if layer.name.endswith("_conv1")]
    assert [g.get_layer(n).filters for n in names] == [512, 256, 128, 64, 64]
    assert [d.get_layer(f"block{i}_conv1").filters for i in range(5)] == [64, 128, 256, 512, 512]
    assert g.get_layer("fc").units == 4 * 4 * 512 and d.get_layer("fc").kernel.shape == (8192, 1)


def test_vae_losses_match_numpy():
    rng = np.random.default_rng(0)
    x = (rng.uniform(size=(3, 4, 4, 1)) > 0.5).astype(np.float32)
    logits = rng.normal(size=(3, 4, 4, 1)).astype(np.float32)
    p = 1 / (1 + np.exp(-logits.astype(np.float64)))
    bce = -(x * np.log(p) + (1 - x) * np.log(1 - p)).sum() / 3
    np.testing.assert_allclose(betavae_lib.reconstruction_loss(x, logits, "bernoulli"), bce,
                               rtol=1e-5)
    np.testing.assert_allclose(betavae_lib.reconstruction_loss(x, logits, "gaussian"),
                               ((p - x) ** 2).sum() / 3, rtol=1e-5)
    mu, logvar = rng.normal(size=(3, 5)), rng.normal(size=(3, 5))
    kl = (-0.5 * (1 + logvar - mu ** 2 - np.exp(logvar))).mean(0)
    np.testing.assert_allclose(betavae_lib.kl_per_dimension(mu.astype(np.float32),
                                                            logvar.astype(np.float32)),
                               kl, rtol=1e-5)


def test_distillation_loss_is_the_gaussian_nll_not_l2():
    rng = np.random.default_rng(1)
    c, mu, logvar = (rng.normal(size=(6, 4)).astype(np.float32) for _ in range(3))
    expected = np.mean(np.sum(0.5 * (math.log(2 * math.pi) + logvar + (c - mu) ** 2 /
                                     (np.exp(logvar) + 1e-8)), axis=1))
    value = float(betavae_lib.gaussian_nll(c, mu, logvar))
    assert value == pytest.approx(expected, rel=1e-5)
    # Unlike an L2 loss, it depends on the encoder's variance: errors in confident dimensions
    # cost more.
    confident = float(betavae_lib.gaussian_nll(c, mu, logvar - 1.0))
    assert confident > value + 1.0


def test_r1_matches_the_closed_form():
    rng = np.random.default_rng(2)
    a = rng.uniform(0.5, 2.0, (5, 5, 2)).astype(np.float32)
    x = tf.constant(rng.normal(size=(3, 5, 5, 2)).astype(np.float32))

    def quadratic(images, training=True):   # D(x) = sum 0.5 a x^2, grad a x
        return tf.reduce_sum(0.5 * a * images * images, axis=[1, 2, 3])[:, None]
    _, r1 = penalties.r1_penalty(quadratic, x, return_scores=True)
    expected = np.mean(np.sum((a * x.numpy()) ** 2, axis=(1, 2, 3)))   # no 1/2, as GAN_stability
    assert float(r1) == pytest.approx(expected, rel=1e-5)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A 2-iteration beta-VAE, then a 2-iteration ID-GAN distilled from it (both exported)."""
    root = tmp_path_factory.mktemp("idgan")
    vae_dir, gan_dir, exports = (str(root / n) for n in ("vae", "gan", "exports"))
    vae = train_module.train(resolve("--model=betavae", *TINY, "--steps=2",
                                     f"--run_dir={vae_dir}", f"--export_dir={exports}"))
    gan = train_module.train(resolve("--model=idgan", *TINY, "--steps=2", f"--run_dir={gan_dir}",
                                     f"--vae_run_dir={vae_dir}", f"--export_dir={exports}"))
    return dict(root=root, vae=vae_dir, gan=gan_dir, vae_export=vae["export"],
                gan_export=gan["export"])


def test_one_step_per_stage_then_the_encoder_is_frozen(trained):
    vae, vae_config, _ = runs.load_trained_model(trained["vae"])
    gan, gan_config, _ = runs.load_trained_model(trained["gan"])
    assert isinstance(vae, GANModel) and isinstance(gan, GANModel)
    assert int(vae.step.numpy()) == 2 and int(gan.step.numpy()) == 2
    assert gan_config.c_dim == vae_config.c_dim == 10 and gan_config.z_dim == 10
    assert (gan_config.learning_rate, gan_config.d_learning_rate, gan_config.w_info) == \
        (1e-3, 1e-4, 1e-4)
    # The distilled encoder equals the stage-1 encoder after training (frozen).
    for mine, theirs in zip(gan.encoder.weights, vae.encoder.weights):
        np.testing.assert_array_equal(mine.numpy(), theirs.numpy())
    # The average moved a little towards G, from G's initial weights.
    g, ema = gan.generator.weights[0].numpy(), gan.generator_ema.weights[0].numpy()
    assert not np.array_equal(g, ema)
    scalars = json.loads(open(os.path.join(trained["gan"], "config.json")).read())
    assert scalars["penalty"] == "r1" and scalars["penalty_weight"] == 10.0
    grid = gan.grid_fn(__import__("tfgan_suite.data", fromlist=["x"]).load_dataset("dsprites"),
                       1, 0)()
    assert grid.shape == (10, betavae_lib.TRAVERSAL_STEPS, 64, 64, 1)   # a row per latent


def test_idgan_resume_is_exact(tmp_path, monkeypatch, trained):
    args = ["--model=idgan", "--dataset=dsprites", "--batch_size=4",
            f"--vae_run_dir={trained['vae']}"]
    straight = assert_resume_is_exact(tmp_path, monkeypatch, args)
    assert any(name.startswith("generator_ema/") for name in straight)


def test_stage_two_checks_its_stage_one_run(tmp_path, trained):
    with pytest.raises(UserError, match="pass --vae_run_dir"):
        resolve("--model=idgan", *TINY)
    with pytest.raises(UserError, match="does not exist"):
        resolve("--model=idgan", *TINY, f"--vae_run_dir={tmp_path}/nothing")
    cwgan = resolve("--model=cwgan", "--dataset=mnist5k", f"--run_dir={tmp_path}/cwgan")
    runs.write_config(cwgan)
    with pytest.raises(UserError, match="holds a --model=cwgan run"):
        resolve("--model=idgan", *TINY, f"--vae_run_dir={tmp_path}/cwgan")
    empty = resolve("--model=betavae", *TINY, f"--run_dir={tmp_path}/untrained")
    runs.write_config(empty)
    with pytest.raises(UserError, match="no checkpoint yet"):
        resolve("--model=idgan", *TINY, f"--vae_run_dir={tmp_path}/untrained")
    with pytest.raises(UserError, match="images"):
        resolve("--model=idgan", "--dataset=color_dsprites", f"--vae_run_dir={trained['vae']}")
    with pytest.raises(UserError, match="--c_dim=5 differs"):
        resolve("--model=idgan", *TINY, "--c_dim=5", f"--vae_run_dir={trained['vae']}")


@pytest.mark.parametrize("args,culprit", [
    (["--model=betavae", "--dataset=mnist5k"], "takes 64x64 images"),
    (["--model=betavae", "--dataset=dsprites", "--z_dim=4"], "--c_dim"),
    (["--model=betavae", "--dataset=dsprites", "--w_info=1"], "needs --model=idgan"),
    (["--model=betavae", "--dataset=dsprites", "--n_critic=2"], "needs --model=cwgan"),
    (["--model=cwgan", "--dataset=mnist5k", "--beta=4"], "betavae or idgan"),
    (["--model=betavae", "--dataset=dsprites", "--beta=0"], "--beta must be"),
])
def test_flags_of_other_models_are_refused(args, culprit):
    with pytest.raises(UserError, match=culprit):
        resolve(*args)


def test_betavae_paper_defaults_per_dataset():
    config = resolve("--model=betavae", "--dataset=dsprites")
    assert (config.c_dim, config.beta, config.likelihood, config.learning_rate) == \
        (10, 8.0, "bernoulli", 1e-4)
    assert resolve("--model=betavae", "--dataset=noisy_dsprites").likelihood == "gaussian"


def test_resnet_idgan_trains_one_step_with_a_nuisance_variable():
    keras.utils.set_random_seed(0)
    shape, s_dim, c_dim = (64, 64, 3), 3, 4
    model = idgan_lib.IDGAN(idgan_nets.resnet_generator(s_dim + c_dim, shape, nf=4, nf_max=8),
                            idgan_nets.resnet_discriminator(shape, nf=4, nf_max=8),
                            idgan_nets.vae_encoder(shape, c_dim), s_dim, w_info=1e-3)
    model.compile(idgan_lib.rmsprop(1e-4), idgan_lib.rmsprop(1e-4))
    encoder_before = [w.numpy() for w in model.encoder.weights]
    x = tf.random.uniform((2,) + shape, -1, 1)
    logs = model.train_step((x, tf.zeros((2, 0))))
    assert all(np.isfinite(float(v)) for v in logs.values()) and float(logs["r1"]) > 0
    for before, after in zip(encoder_before, model.encoder.weights):
        np.testing.assert_array_equal(before, after.numpy())
    assert model.generate(np.zeros((2, c_dim), np.float32),
                          np.ones((2, s_dim), np.float32)).shape == (2,) + shape


def saved_model_cli(export, signature, inputs, outdir):
    binary = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    return subprocess.run([binary, "run", "--dir", export, "--tag_set", "serve",
                           "--signature_def", signature, "--inputs", inputs, "--outdir", outdir],
                          capture_output=True, text=True)


def test_exports_run_under_saved_model_cli(trained, tmp_path):
    from tfgan_suite import serve_request
    from tfgan_suite.export import read_metadata
    inputs = serve_request.build_inputs(read_metadata(trained["gan_export"]), 2)
    assert list(inputs) == ["c"]   # s_dim 0 on dSprites
    c = inputs["c"]
    np.save(tmp_path / "c.npy", c)
    np.save(tmp_path / "x.npy", np.full((2, 64, 64, 1), -1.0, np.float32))
    run = saved_model_cli(trained["gan_export"], "serving_default", f"c={tmp_path}/c.npy",
                          str(tmp_path / "out"))
    assert run.returncode == 0, run.stderr[-2000:]
    images = np.load(tmp_path / "out" / "images.npy")
    gan, _, _ = runs.load_trained_model(trained["gan"])
    np.testing.assert_allclose(images, gan.generate(c).numpy(), atol=1e-5)
    run = saved_model_cli(trained["vae_export"], "encode", f"images={tmp_path}/x.npy",
                          str(tmp_path / "enc"))
    assert run.returncode == 0, run.stderr[-2000:]
    assert np.load(tmp_path / "enc" / "mean.npy").shape == (2, 10)
    meta = json.load(open(os.path.join(trained["gan_export"], "assets.extra", "tfgan_suite.json")))
    assert meta["c_dim"] == 10 and meta["s_dim"] == 0 and meta["model"] == "idgan"


def test_evaluate_reads_the_same_representation_from_run_and_export(trained, tmp_path):
    from tfgan_suite import evaluate
    common = dict(metrics=("mig", "fvm"), mig_samples=600, fvm_votes=10, split="test",
                  output=str(tmp_path / "metrics.jsonl"), tensorboard=False)
    from_run = evaluate.evaluate(evaluate.Request(run_dir=trained["gan"], **common))
    from_export = evaluate.evaluate(evaluate.Request(saved_model=trained["gan_export"], **common))
    assert set(from_run["metrics"]) == {"mig", "fvm", "fvm_train"}
    assert from_run["metrics"]["mig"] == pytest.approx(from_export["metrics"]["mig"], abs=1e-6)
    # ID-GAN is measured through its distilled encoder: the beta-VAE's own numbers.
    from_vae = evaluate.evaluate(evaluate.Request(run_dir=trained["vae"], **common))
    assert from_vae["metrics"]["mig"] == pytest.approx(from_run["metrics"]["mig"], abs=1e-6)
    with pytest.raises(UserError, match="does not apply to --model=idgan"):
        evaluate.evaluate(evaluate.Request(run_dir=trained["gan"], metrics=("nmi",)))


def test_idgan_flagfiles_resolve_with_their_stage_one_run(trained, monkeypatch):
    monkeypatch.chdir(os.path.join(os.path.dirname(__file__), ".."))
    config = resolve("--flagfile=flags/idgan_dsprites.flags", f"--vae_run_dir={trained['vae']}")
    assert (config.s_dim, config.w_info, config.learning_rate, config.steps) == \
        (0, 1e-4, 1e-3, 300_000)
    with pytest.raises(UserError, match="runs/betavae_celeba does not exist"):
        resolve("--flagfile=flags/idgan_celeba.flags", "--data_dir=/data")


def test_traversal_rows_sweep_one_dimension_each(trained):
    from tfgan_suite import disentangled_targets
    target = disentangled_targets.load(saved_model=trained["gan_export"])
    grid = disentangled_targets.traversal(target, 3, seed=0, low=-2.0, high=2.0,
                                          base=np.zeros(10))
    assert grid.shape == (10, 3, 64, 64, 1)
    np.testing.assert_allclose(grid[:, 1], np.repeat(grid[:1, 1], 10, 0), atol=1e-6)  # c = 0
    np.testing.assert_allclose(grid[3, 0], target.decode(-2.0 * np.eye(10)[3:4])[0], atol=1e-5)


def test_reproduce_trains_stage_two_from_the_stage_one_run_of_its_seed(tmp_path):
    from tfgan_suite import reproduce
    from tests.test_reproduce import options
    opts = options(experiment="idgan_dsprites", runs_dir=str(tmp_path), steps=10)
    first, second = (reproduce.train_command(opts, v, 3) for v in ("betavae", "idgan"))
    assert first.index("--model=betavae") > first.index("--model=idgan")   # the last one counts
    assert f"--vae_run_dir={tmp_path}/idgan_dsprites/betavae/seed3" in second
    assert f"--run_dir={tmp_path}/idgan_dsprites/betavae/seed3" in first
