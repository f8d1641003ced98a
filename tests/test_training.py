"""End to end through the public entry points: train (per dataset and loss), resume, export
(run with saved_model_cli, TF Serving's loader), generate, and the user-facing errors."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf
from absl import flags

from tests import checks, fixtures
from tfgan_suite import config as config_lib, generate, runs
from tfgan_suite.errors import UserError
from tfgan_suite.train import train

FLAGS = flags.FLAGS
FAST = ["--batch_size=2", "--log_every=1", "--sample_every=1", "--checkpoint_every=1",
        "--grid_rows=2", "--export=false"]


def resolve(*args):
    FLAGS.unparse_flags()
    FLAGS(["train", *args])
    return config_lib.resolve(FLAGS)


@pytest.fixture(scope="module")
def celeba_dir(tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("celeba"))
    fixtures.write_celeba(folder, n=16)
    return folder


@pytest.fixture(scope="module")
def mnist_dirs(tmp_path_factory):
    idx = str(tmp_path_factory.mktemp("mnist_idx"))
    fixtures.write_mnist_idx(idx, n_train=30, n_test=20)
    pkl = str(tmp_path_factory.mktemp("mnist_pkl"))
    fixtures.write_mnist_pkl(os.path.join(pkl, "mnist.pkl.gz"))
    return {"idx": idx, "pkl": pkl}


def test_one_step_on_celeba_fixture(celeba_dir, tmp_path):
    config = resolve("--dataset=celeba", f"--data_dir={celeba_dir}", f"--run_dir={tmp_path}/run",
                     "--steps=1", *FAST)
    train(config)
    checks.assert_trained(config.run_dir, 1)
    assert os.path.isfile(tmp_path / "run" / "samples" / "step_0000001.png")
    saved = json.load(open(tmp_path / "run" / "config.json"))
    assert saved["n_critic"] == 5 and saved["learning_rate"] == 1e-4 and saved["beta1"] == 0.0


def test_auxiliary_classifier_on_binary_attributes_trains(celeba_dir, tmp_path):
    train(resolve("--dataset=celeba", f"--data_dir={celeba_dir}", f"--run_dir={tmp_path}/run",
                  "--aux_classifier_weight=1", "--width=0.125", "--steps=1", *FAST))
    checks.assert_trained(str(tmp_path / "run"), 1)
    reader = tf.train.load_checkpoint(str(tmp_path / "run" / "checkpoints"))
    # The head: Dense from the flattened 4x4x64 map (64 = 512 * 0.125) to the 9 attributes.
    assert [4 * 4 * 64, 9] in reader.get_variable_to_shape_map().values()


@pytest.mark.parametrize("fmt,loss,augment", [("idx", "wgan", ""), ("pkl", "gan", ""),
                                              ("idx", "lsgan", "color,translation,cutout")])
def test_one_step_on_mnist_formats_and_losses(mnist_dirs, tmp_path, fmt, loss, augment):
    config = resolve("--dataset=mnist", f"--data_dir={mnist_dirs[fmt]}", f"--loss={loss}",
                     f"--diffaugment={augment}", f"--run_dir={tmp_path}/run", "--steps=1", *FAST)
    train(config)
    checks.assert_trained(config.run_dir, 1)


def test_one_step_on_efigi_fixture(tmp_path):
    fixtures.write_efigi(str(tmp_path / "efigi"), n=20)
    config = resolve("--dataset=efigi", f"--data_dir={tmp_path}/efigi", f"--run_dir={tmp_path}/run",
                     "--steps=1", "--n_critic=1", *FAST)
    train(config)
    checks.assert_trained(config.run_dir, 1)


def test_resume_restores_step_optimizer_slots_and_z_stream(tmp_path):
    args = ["--dataset=mnist5k", f"--run_dir={tmp_path}/run", "--n_critic=1", *FAST]
    train(resolve(*args, "--steps=2"))
    from tfgan_suite.models import build_model
    config = resolve(*args, "--steps=2")
    model = build_model(config, __import__("tfgan_suite.data", fromlist=["x"]).describe("mnist5k"))
    manager = runs.checkpoint_manager(model, config.run_dir)
    runs.restore_latest(model, manager)
    assert int(model.step.numpy()) == 2
    assert int(model.g_optimizer.iterations.numpy()) == 2
    reader = tf.train.load_checkpoint(manager.latest_checkpoint)
    names = [n for n in reader.get_variable_to_shape_map() if "g_optimizer" in n and "OPTIMIZER_SLOT" not in n]
    slots = [v for v in model.g_optimizer.variables if "momentum" in v.path or "velocity" in v.path]
    assert slots and any(float(tf.reduce_max(tf.abs(v))) > 0 for v in slots), names
    seed_state = model.noise_seed.state.numpy().copy()
    # Resuming continues to step 3 rather than starting over.
    assert train(resolve(*args, "--steps=3"))["steps"] == 3
    assert not np.array_equal(seed_state, np.zeros_like(seed_state))


def test_stop_at_and_max_minutes_end_an_invocation_that_the_same_command_continues(tmp_path):
    args = ["--model=slogan", "--dataset=gaussians8", f"--run_dir={tmp_path}/run", *FAST,
            "--batch_size=16", "--steps=4", "--steps_per_execution=1"]
    assert train(resolve(*args), stop_at=2)["steps"] == 2
    assert runs.read_config(str(tmp_path / "run")).steps == 4      # the schedule keeps its length
    # A time limit already spent ends the invocation after its first call (one iteration).
    assert train(resolve(*args), max_minutes=1e-9)["steps"] == 3
    assert train(resolve(*args))["steps"] == 4
    with pytest.raises(UserError, match="--stop_at must be"):
        train(resolve(*args), stop_at=0)


def test_resume_with_changed_settings_is_refused(tmp_path):
    train(resolve("--dataset=mnist5k", f"--run_dir={tmp_path}/run", "--n_critic=1", "--steps=1", *FAST))
    with pytest.raises(UserError, match="different settings"):
        runs.recorded_changes(resolve("--dataset=mnist5k", f"--run_dir={tmp_path}/run", "--n_critic=2",
                                   "--steps=1", *FAST))


def test_export_runs_under_saved_model_cli_and_matches_keras(tmp_path):
    config = resolve("--dataset=mnist5k", f"--run_dir={tmp_path}/run", "--steps=1", "--n_critic=1",
                     f"--export_dir={tmp_path}/exports", "--export=true", *FAST[:-1])
    result = train(config)
    export = result["export"]
    assert export == str(tmp_path / "exports" / "cwgan_mnist5k" / "1")
    rng = np.random.default_rng(0)
    z = rng.normal(-1, 1, (3, 100)).astype(np.float32)
    y = np.eye(10, dtype=np.float32)[[1, 5, 9]]
    np.save(tmp_path / "z.npy", z)
    np.save(tmp_path / "y.npy", y)
    cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    out = subprocess.run([cli, "run", "--dir", export, "--tag_set", "serve", "--signature_def",
                          "serving_default", "--inputs", f"z={tmp_path}/z.npy;y={tmp_path}/y.npy",
                          "--outdir", str(tmp_path / "out")], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    served = np.load(tmp_path / "out" / "images.npy")
    model, _, _ = runs.load_trained_model(config.run_dir)
    np.testing.assert_allclose(served, model.generate(z, y).numpy(), atol=1e-5)
    assert served.shape == (3, 28, 28, 1) and served.min() >= -1 and served.max() <= 1

    serve = tf.saved_model.load(export).signatures["serving_default"]
    with pytest.raises((ValueError, TypeError, tf.errors.InvalidArgumentError)):
        serve(z=tf.constant(z), y=tf.constant(np.zeros((3, 9), np.float32)))

    sampler = generate.sampler_from_saved_model(export)
    figure = generate.figure(sampler, "corners", rows=1, frames=3, seed=0)
    assert figure.shape == (3, 3, 28, 28, 1)


@pytest.mark.parametrize("mode,shape", [("swap", (2, 11)), ("classes", (2, 10)),
                                        ("interpolate", (2, 4)), ("attribute", (10, 4))])
def test_generate_modes_from_run(tmp_path, mode, shape):
    train(resolve("--dataset=mnist5k", f"--run_dir={tmp_path}/run", "--n_critic=1", "--steps=1", *FAST))
    sampler = generate.sampler_from_run(str(tmp_path / "run"))
    out = generate.figure(sampler, mode, rows=2, frames=4, seed=0, base="3")
    assert out.shape[:2] == shape


@pytest.mark.parametrize("args,message", [
    (["--dataset=celeba", "--data_dir=/nonexistent/celeba"], "/nonexistent/celeba"),
    (["--dataset=nope"], "unknown"),
    (["--batch_size=0"], "--batch_size must be positive"),
    (["--loss=gan", "--original_gp"], "--original_gp needs --penalty=gp"),
    (["--loss=hinge"], "not available for --model=cwgan"),
    (["--dataset=mnist", "--cache_dir=/tmp"], "no option"),
    (["--dataset=gaussians8"], "needs labelled 28x28 or 64x64 images"),
    (["--diffaugment=color,rotate"], "unknown DiffAugment policy"),
    (["--dataset=efigi", "--data_dir=/nonexistent", "--aux_classifier_weight=1"],
     "needs class or binary-attribute labels"),
])
def test_bad_input_gives_one_clear_error(tmp_path, args, message):
    with pytest.raises(UserError, match=message.replace("-", r"\-")):
        train(resolve(*args, f"--run_dir={tmp_path}/run", "--steps=1"))
    assert not os.path.exists(tmp_path / "run" / "checkpoints")


def test_cli_exits_2_with_the_message_and_no_traceback(tmp_path):
    out = subprocess.run([sys.executable, "-m", "tfgan_suite.train", "--dataset=celeba",
                          f"--data_dir={tmp_path}/missing", f"--run_dir={tmp_path}/run"],
                         capture_output=True, text=True)
    assert out.returncode == 2
    assert "error:" in out.stderr and "Traceback" not in out.stderr
    assert str(tmp_path / "missing") in out.stderr


def test_sigkill_never_leaves_an_unloadable_checkpoint(tmp_path):
    run_dir = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "tfgan_suite.train", "--dataset=mnist5k",
                             f"--run_dir={run_dir}", "--steps=1000", "--n_critic=1", *FAST],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        while time.time() < deadline and not (run_dir / "checkpoints" / "checkpoint").exists():
            time.sleep(0.2)
        time.sleep(1.5)  # let it be in the middle of later checkpoints
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    model, _, _ = runs.load_trained_model(str(run_dir))
    assert int(model.step.numpy()) >= 1


@pytest.mark.parametrize("name", sorted(os.listdir(os.path.join(os.path.dirname(__file__), "..", "flags"))))
def test_every_flagfile_resolves(name, monkeypatch):
    root = os.path.join(os.path.dirname(__file__), "..")
    monkeypatch.chdir(root)  # flagfiles include each other by path from the repository root
    if name.startswith("idgan_"):
        pytest.skip("stage 2 needs its trained stage-1 run: tests/test_idgan.py resolves it")
    if name.startswith("infoscc_"):   # its trained encoder is checked first (test_infoscc.py)
        with pytest.raises(UserError, match="train_encoder"):
            resolve(f"--flagfile=flags/{name}", "--data_dir=/data", "--encoder_dir=/nonexistent")
        return
    if name.startswith("icgan_"):   # the learning-rate drop is in epochs: it reads the split
        config = resolve(f"--flagfile=flags/{name}", "--mnist_source=mnist5k")
        assert (config.model, config.learning_rate, config.d_learning_rate) == ("icgan", 5e-2, 8e-2)
        return
    config = resolve(f"--flagfile=flags/{name}", "--data_dir=/data")
    assert config.model in ("cwgan", "slogan", "betavae")
    if name.endswith("_original.flags"):
        assert config.original_gp and config.batch_stats_at_inference


@pytest.mark.parametrize("iterations,per_call,plan", [
    (25, 10, [(10, 20), (5, 5)]), (30, 10, [(10, 30)]), (3, 10, [(3, 3)]), (7, 1, [(1, 7)])])
def test_execution_plan_never_overshoots(iterations, per_call, plan):
    from tfgan_suite.train import execution_plan
    assert execution_plan(iterations, per_call) == plan
    assert sum(n for _, n in plan) == iterations


def test_callbacks_fire_when_a_multiple_is_crossed(tmp_path):
    args = ["--dataset=mnist5k", f"--run_dir={tmp_path}/run", "--n_critic=1", "--batch_size=2",
            "--grid_rows=1", "--export=false", "--steps_per_execution=3", "--checkpoint_every=4",
            "--sample_every=5", "--log_every=2"]
    assert train(resolve(*args, "--steps=7"))["steps"] == 7
    # Calls end at steps 3, 6 (chunk 3) and 7 (remainder): 3 -> 6 crosses 4 and 5.
    assert sorted(os.listdir(tmp_path / "run" / "samples")) == ["step_0000006.png",
                                                                  "step_0000007.png"]
    checkpoints = tf.train.get_checkpoint_state(str(tmp_path / "run" / "checkpoints"))
    assert [p.rsplit("-", 1)[1] for p in checkpoints.all_model_checkpoint_paths] == ["6", "7"]
