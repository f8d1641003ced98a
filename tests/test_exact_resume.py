"""A resumed run equals an uninterrupted one, bit for bit on CPU: weights, optimiser slots,
random-stream states and SLOGAN's prior. In process (N/2 + restore + N/2) and across a real
SIGKILL of the training process at a random moment. Each comparison may take up to ATTEMPTS
tries, for a rare CPU-kernel glitch that parts even two uninterrupted runs (see ATTEMPTS)."""

import os
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf
from absl import flags

from tfgan_suite import config as config_lib
from tfgan_suite import train as train_module

FLAGS = flags.FLAGS
CWGAN = ["--model=cwgan", "--dataset=mnist5k", "--n_critic=2", "--batch_size=4",
         "--diffaugment=color,translation,cutout"]
SLOGAN = ["--model=slogan", "--dataset=mnist2", "--batch_size=4", "--num_components=2"]
CADENCE = ["--steps_per_execution=2", "--checkpoint_every=2", "--log_every=2",
           "--sample_every=100", "--grid_rows=1", "--export=false"]


def resolve(*args):
    FLAGS.unparse_flags()
    FLAGS(["train", *args])
    return config_lib.resolve(FLAGS)


def checkpoint_values(run_dir) -> dict:
    reader = tf.train.load_checkpoint(os.path.join(run_dir, "checkpoints"))
    return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()
            if not name.startswith(("save_counter", "_CHECKPOINTABLE_OBJECT_GRAPH"))}


def assert_same_state(a, b):
    assert a.keys() == b.keys()
    differing = [name for name in a if not np.array_equal(a[name], b[name])]
    assert not differing, f"{len(differing)} of {len(a)} variables differ, e.g. {differing[:5]}"


def straight_and_resumed(tmp_path, monkeypatch, args, steps=4):
    """Final checkpoints of `steps` straight iterations and of steps/2 + resume + steps/2.

    The first half runs with the full --steps (SLOGAN's schedules depend on it) and stops
    after steps/2 iterations, as an interrupted run would."""
    straight = str(tmp_path / "straight")
    train_module.train(resolve(*args, *CADENCE, f"--steps={steps}", f"--run_dir={straight}"))
    resumed = str(tmp_path / "resumed")
    config = resolve(*args, *CADENCE, f"--steps={steps}", f"--run_dir={resumed}")
    with monkeypatch.context() as patch:
        patch.setattr(train_module.config_lib, "total_steps", lambda *a: steps // 2)
        train_module.train(config)
    assert checkpoint_values(resumed)["step/.ATTRIBUTES/VARIABLE_VALUE"] == steps // 2
    train_module.train(resolve(*args, *CADENCE, f"--steps={steps}", f"--run_dir={resumed}"))
    return checkpoint_values(straight), checkpoint_values(resumed)


# Why attempts: two runs of one command on TensorFlow 2.21's CPU (oneDNN) build occasionally part
# at a single iteration with no resume involved - a critic penalty computed from bit-identical
# inputs, weights and seeds came out different (about one 300-iteration SLOGAN run on 8 Gaussians
# in ten, with other processes loading the CPU). A resume defect differs on every attempt; that
# rare glitch does not strike three attempts in a row.
ATTEMPTS = 3


def repeat_until_equal(compare, attempts=ATTEMPTS):
    """compare(attempt) -> (a, b) state dicts; returns the first a equal to its b, else fails
    with every attempt's difference."""
    failures = []
    for attempt in range(attempts):
        a, b = compare(attempt)
        try:
            assert_same_state(a, b)
            return a
        except AssertionError as e:
            failures.append(str(e).splitlines()[0])
    pytest.fail(f"differed in all {attempts} attempts: " + "; ".join(failures))


def assert_resume_is_exact(tmp_path, monkeypatch, args, steps=4) -> dict:
    """straight_and_resumed agrees bit for bit (in one of ATTEMPTS tries); the straight state."""
    return repeat_until_equal(lambda attempt: straight_and_resumed(
        tmp_path / f"attempt{attempt}", monkeypatch, args, steps))


def test_cwgan_with_diffaugment_resume_is_exact(tmp_path, monkeypatch):
    straight = assert_resume_is_exact(tmp_path, monkeypatch, CWGAN)
    assert straight["step/.ATTRIBUTES/VARIABLE_VALUE"] == 4
    assert any("d_optimizer" in name for name in straight)


@pytest.fixture(scope="module")
def mnist_dir(tmp_path_factory):
    from tests import fixtures
    folder = str(tmp_path_factory.mktemp("mnist"))
    fixtures.write_mnist_idx(folder, n_train=64, n_test=16)
    return folder


def test_slogan_resume_is_exact_prior_included(tmp_path, monkeypatch, mnist_dir):
    straight = assert_resume_is_exact(tmp_path, monkeypatch,
                                      [*SLOGAN, f"--data_dir={mnist_dir}"])
    prior = [name for name in straight if name.startswith("prior/")]
    assert len(prior) >= 3, prior  # mu, sigma, rho


def test_different_seeds_give_different_states(tmp_path):
    """The comparison above can fail: another run seed changes the final state."""
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    train_module.train(resolve(*CWGAN, *CADENCE, "--steps=2", f"--run_dir={a}"))
    train_module.train(resolve(*CWGAN, *CADENCE, "--steps=2", "--seed=1", f"--run_dir={b}"))
    with pytest.raises(AssertionError, match="differ"):
        assert_same_state(checkpoint_values(a), checkpoint_values(b))


def test_attempts_do_not_hide_a_difference_that_repeats():
    """A resume defect differs on every attempt, and the comparison then fails."""
    calls = []

    def always_different(attempt):
        calls.append(attempt)
        return {"w": np.zeros(2)}, {"w": np.ones(2)}
    with pytest.raises(pytest.fail.Exception, match="all 3 attempts"):
        repeat_until_equal(always_different)
    assert calls == [0, 1, 2]
    flaky = iter([({"w": np.zeros(2)}, {"w": np.ones(2)}), ({"w": np.ones(2)}, {"w": np.ones(2)})])
    assert repeat_until_equal(lambda attempt: next(flaky))["w"].sum() == 2


def _train_command(run_dir, steps):
    return [sys.executable, "-m", "tfgan_suite.train", "--model=slogan", "--dataset=gaussians8",
            f"--steps={steps}", "--steps_per_execution=5", "--checkpoint_every=5",
            "--log_every=5", "--sample_every=100000", "--export=false", f"--run_dir={run_dir}"]


def test_sigkill_at_a_random_moment_then_resume_reaches_the_same_state(tmp_path):
    steps = 300
    env = dict(os.environ, CI="true")

    def kill_and_resume(attempt):
        straight = str(tmp_path / f"straight{attempt}")
        # The uninterrupted run goes on beside the killed one (a process each: 2 cores).
        log = open(tmp_path / f"straight{attempt}.log", "w+")
        uninterrupted = subprocess.Popen(_train_command(straight, steps), env=env,
                                         stdout=log, stderr=subprocess.STDOUT)
        killed = str(tmp_path / f"killed{attempt}")
        process = subprocess.Popen(_train_command(killed, steps), env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        index = os.path.join(killed, "checkpoints", "checkpoint")
        deadline = time.time() + 300
        while not os.path.exists(index) and process.poll() is None and time.time() < deadline:
            time.sleep(0.05)
        time.sleep(random.Random().uniform(0.0, 1.0))
        process.send_signal(signal.SIGKILL)
        process.wait()
        subprocess.run(_train_command(killed, steps), check=True, env=env, capture_output=True)
        with log:
            assert uninterrupted.wait(timeout=300) == 0, log.seek(0) or log.read()[-2000:]
        return checkpoint_values(straight), checkpoint_values(killed)

    repeat_until_equal(kill_and_resume)
