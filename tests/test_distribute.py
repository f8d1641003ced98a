"""tf.distribute from the training CLI: R replicas train as one device on the same global batch.

- MirroredStrategy on 2 logical CPU devices against the default strategy, cWGAN-GP with
  --sync_batch_norm and SLOGAN: weights, optimiser slots and SLOGAN's prior after 2 iterations.
- MultiWorkerMirroredStrategy with 2 worker processes on 127.0.0.1 (free ports, TF_CONFIG built
  here, bounded time, processes always killed): equals the Mirrored run; only the chief writes;
  its checkpoint and export load.
- A worker killed mid-run: the other stops with a clear message (exit 4) within a bounded time,
  and starting both again resumes from the chief's last checkpoint.
Every training runs as its own process (logical devices and the multi-worker runtime can only be
set up before TensorFlow's first op); the processes of one scenario run side by side.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

from tfgan_suite import distribute, randomness, runs
from tfgan_suite.data import load_dataset
from tfgan_suite.data.base import batch_pipeline
from tfgan_suite.errors import UserError

TIMEOUT_S = 240
CWGAN = ["--model=cwgan", "--dataset=mnist5k", "--width=0.0625", "--batch_size=8", "--n_critic=2",
         "--sync_batch_norm"]
SLOGAN = ["--model=slogan", "--dataset=gaussians8", "--batch_size=16", "--sync_batch_norm"]
SHORT = ["--steps=2", "--steps_per_execution=2", "--grid_rows=1"]
MIRRORED = ["--strategy=mirrored", "--cpu_devices=2"]
# Why SLOGAN is compared as functions, not weight by weight: Adam's first steps are
# lr * g / |g|, whatever |g|. Gradients that are 0 in exact arithmetic (the bias of a Dense layer
# followed by batch norm) or nearly so are float round-off, which differs between one device and
# two replicas (sums split in two, then all-reduced; synchronised batch norm's moments): Adam turns
# that round-off into steps of up to the learning rate, and how many elements it hits depends on
# the CPU's kernels (0.12% of the weights on an Intel Xeon, 1.2% on an AMD EPYC, some by 2e-3).
# The networks still compute the same function; the prior's Stein steps are plain gradient
# descent and agree to round-off.
FUNCTION_TOLERANCE = 0.01   # of the output's spread (seen: 0.3% for D, 0.1% for G)


def free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def tf_config(ports, index):
    return json.dumps({"cluster": {"worker": [f"127.0.0.1:{p}" for p in ports]},
                       "task": {"type": "worker", "index": index}})


def start(args, log, env=None):
    return subprocess.Popen([sys.executable, "-m", "tfgan_suite.train", *args],
                            stdout=log, stderr=subprocess.STDOUT,
                            env={**os.environ, **(env or {})})


def finish(processes, timeout=TIMEOUT_S):
    """Wait for every process (killing all of them when the time is up); their exit codes."""
    deadline = time.monotonic() + timeout
    try:
        return [p.wait(timeout=max(1.0, deadline - time.monotonic())) for p in processes]
    finally:
        for p in processes:
            if p.poll() is None:
                p.kill()
                p.wait()


def start_workers(args, logs, ports):
    return [start(args, log, {"TF_CONFIG": tf_config(ports, i)}) for i, log in enumerate(logs)]


def read(path):
    with open(path, encoding="utf-8") as fh:
        return fh.read()


def checkpoint_values(run_dir):
    reader = tf.train.load_checkpoint(os.path.join(run_dir, "checkpoints"))
    return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()
            if not name.startswith(("save_counter", "_CHECKPOINTABLE_OBJECT_GRAPH"))}


def network_weights(run_dir):
    """{network/variable path: value} and the prior's, from the run's newest checkpoint."""
    model, _, _ = runs.load_trained_model(run_dir)
    values = {}
    for name in ("generator", "critic", "discriminator", "encoder"):
        network = getattr(model, name, None)
        if network is not None:
            values.update({f"{name}/{v.path}": v.numpy() for v in network.variables})
    if hasattr(model, "prior"):
        values.update({f"prior/{v.name}": v.numpy()
                       for v in (model.prior.mu, model.prior.sigma, model.prior.rho)})
    return values


def max_differences(a, b):
    assert a.keys() == b.keys()
    return {k: float(np.max(np.abs(a[k] - b[k]))) if np.size(a[k]) else 0.0 for k in a}


@pytest.fixture(scope="module")
def runs_side_by_side(tmp_path_factory):
    """One single-device, one Mirrored run per model, and a 2-worker SLOGAN run, side by side."""
    root = tmp_path_factory.mktemp("distribute")
    jobs = {"cwgan_single": CWGAN, "cwgan_mirrored": CWGAN + MIRRORED,
            "slogan_single": SLOGAN, "slogan_mirrored": SLOGAN + MIRRORED}
    logs = {name: open(root / f"{name}.log", "w") for name in [*jobs, "worker0", "worker1"]}
    processes = [start([*args, *SHORT, f"--run_dir={root / name}", "--noexport"], logs[name])
                 for name, args in jobs.items()]
    multi = [*SLOGAN, *SHORT, "--strategy=multi_worker", f"--run_dir={root / 'slogan_multi'}",
             f"--export_dir={root / 'exports'}"]
    processes += start_workers(multi, [logs["worker0"], logs["worker1"]], free_ports(2))
    codes = finish(processes)
    for log in logs.values():
        log.close()
    for name, code in zip([*jobs, "worker0", "worker1"], codes):
        assert code == 0, f"{name} exited {code}:\n{read(root / f'{name}.log')[-3000:]}"
    return root


def test_mirrored_cwgan_with_sync_batch_norm_equals_one_device(runs_side_by_side):
    single = checkpoint_values(runs_side_by_side / "cwgan_single")
    mirrored = checkpoint_values(runs_side_by_side / "cwgan_mirrored")
    worst = max_differences(single, mirrored)
    assert max(worst.values()) < 1e-5, sorted(worst.items(), key=lambda kv: -kv[1])[:5]
    assert "MirroredStrategy, 2 replica(s)" in read(runs_side_by_side / "cwgan_mirrored.log")


def outputs_on_fixed_inputs(run_dir):
    """G's samples (inference and training mode) and D's logits on fixed seeded inputs."""
    model, _, _ = runs.load_trained_model(run_dir)
    z = tf.random.stateless_normal([256, model.generator.input_shape[-1]], [1, 2])
    x = 2.0 * tf.random.stateless_normal([256, *model.discriminator.input_shape[1:]], [3, 4])
    return {"G": model.generator(z, training=False).numpy(),
            "G in training mode": model.generator(z, training=True).numpy(),
            "D": model.discriminator(x, training=False).numpy()}


def test_mirrored_slogan_equals_one_device_prior_identical(runs_side_by_side):
    single = network_weights(str(runs_side_by_side / "slogan_single"))
    mirrored = network_weights(str(runs_side_by_side / "slogan_mirrored"))
    worst = max_differences(single, mirrored)
    prior = {k: v for k, v in worst.items() if k.startswith("prior/")}
    assert len(prior) == 3 and max(prior.values()) < 1e-6, prior
    single = outputs_on_fixed_inputs(str(runs_side_by_side / "slogan_single"))
    mirrored = outputs_on_fixed_inputs(str(runs_side_by_side / "slogan_mirrored"))
    relative = {k: float(np.max(np.abs(single[k] - mirrored[k])) / np.std(single[k])) for k in single}
    assert max(relative.values()) < FUNCTION_TOLERANCE, relative


def test_multi_worker_equals_mirrored_and_only_the_chief_writes(runs_side_by_side):
    root = runs_side_by_side
    multi = checkpoint_values(root / "slogan_multi")
    mirrored = checkpoint_values(root / "slogan_mirrored")
    worst = max_differences(multi, mirrored)
    assert max(worst.values()) < 1e-6, sorted(worst.items(), key=lambda kv: -kv[1])[:5]
    chief, worker = read(root / "worker0.log"), read(root / "worker1.log")
    assert "this process worker 0" in chief and "exported" in chief
    assert "this process worker 1" in worker and "exported" not in worker
    assert os.listdir(root / "exports" / "slogan_gaussians8") == ["2"]
    loaded = tf.saved_model.load(str(root / "exports" / "slogan_gaussians8" / "2"))
    images = loaded.signatures["serving_default"](z=tf.zeros([3, 64]))["images"]
    assert images.shape == (3, 2) and np.all(np.isfinite(images.numpy()))
    invocations = runs.read_invocations(str(root / "slogan_multi"))
    assert len(invocations) == 1   # written once, by the chief


def test_killed_worker_stops_the_other_and_both_resume(tmp_path):
    run_dir = tmp_path / "run"
    args = [*SLOGAN, "--steps=400", "--steps_per_execution=1", "--checkpoint_every=5",
            "--sample_every=1000", "--grid_rows=1", "--strategy=multi_worker",
            f"--run_dir={run_dir}", "--noexport"]
    ports = free_ports(2)
    logs = [open(tmp_path / f"worker{i}.log", "w") for i in range(2)]
    workers = start_workers(args, logs, ports)
    try:
        deadline = time.monotonic() + TIMEOUT_S
        while not (run_dir / "checkpoints" / "ckpt-10.index").exists():
            assert time.monotonic() < deadline and all(w.poll() is None for w in workers), \
                read(tmp_path / "worker0.log")[-3000:]
            time.sleep(0.2)
        workers[1].send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        code = finish(workers[:1], timeout=90)[0]
        stopped_after = time.monotonic() - killed_at
    finally:
        finish(workers, timeout=1)
        for log in logs:
            log.close()
    message = read(tmp_path / "worker0.log")
    assert code == 4, message[-3000:]
    assert "another worker of the multi-worker run failed" in message
    assert stopped_after < 90
    saved = max(int(p.split("-")[1].split(".")[0]) for p in os.listdir(run_dir / "checkpoints")
                if p.endswith(".index"))
    assert saved >= 10

    logs = [open(tmp_path / f"again{i}.log", "w") for i in range(2)]
    codes = finish(start_workers([*args, f"--stop_at={saved + 2}"], logs, free_ports(2)))
    for log in logs:
        log.close()
    again = read(tmp_path / "again0.log")
    assert codes == [0, 0], again[-3000:]
    assert f"resuming from iteration {saved}" in again
    assert f"resuming from iteration {saved}" in read(tmp_path / "again1.log")
    assert (run_dir / "checkpoints" / f"ckpt-{saved + 2}.index").exists()


# ---- in process: the pieces -------------------------------------------------------------------

def test_sharded_pipeline_yields_the_global_batch_in_replica_slices():
    source = load_dataset("mnist5k", None, "train")
    for group, start_at in ((1, 0), (3, 1234)):
        whole = next(iter(batch_pipeline(source, 8, group=group, seed=5, start=start_at)))
        axis = 1 if group > 1 else 0
        for first, count in ((0, 2), (2, 2), (1, 1)):
            shard = batch_pipeline(source, 8, group=group, seed=5, start=start_at,
                                   shard=(first, count, 4))
            for k, (x, y) in enumerate(shard.take(count)):
                rows = slice(2 * (first + k), 2 * (first + k + 1))
                expected = (whole[0][:, rows], whole[1][:, rows]) if axis else \
                    (whole[0][rows], whole[1][rows])
                np.testing.assert_array_equal(x.numpy(), expected[0].numpy())
                np.testing.assert_array_equal(y.numpy(), expected[1].numpy())


def test_per_example_draws_are_unchanged_on_one_device():
    """Outside a strategy the replica-aware draws are the plain stateless ops, bit for bit."""
    seed = tf.constant([3, 4], tf.int64)
    np.testing.assert_array_equal(randomness.uniform([6, 2, 2], seed),
                                  tf.random.stateless_uniform([6, 2, 2], seed))
    np.testing.assert_array_equal(randomness.uniform([6, 2], seed, blocks=2),
                                  tf.random.stateless_uniform([6, 2], seed))
    np.testing.assert_array_equal(randomness.normal([5, 3], seed, mean=-1.0),
                                  tf.random.stateless_normal([5, 3], seed, mean=-1.0))


@pytest.mark.parametrize("environ, expected", [
    ({}, "needs the TF_CONFIG environment variable"),
    ({"TF_CONFIG": "{not json"}, "TF_CONFIG is not valid"),
    ({"TF_CONFIG": '{"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": 3}}'},
     "task index 3 is outside"),
    ({"TF_CONFIG": '{"cluster": {"worker": ["a:1"]}, "task": {"type": "chief", "index": 0}}'},
     "task type 'chief' is not in the cluster"),
])
def test_bad_tf_config_is_refused_before_tensorflow_starts(environ, expected):
    with pytest.raises(UserError, match=expected):
        distribute.check_flags("multi_worker", None, environ=environ)


def test_flags_that_do_not_fit_the_strategy_are_refused():
    with pytest.raises(UserError, match="--cpu_devices splits this machine's CPU"):
        distribute.check_flags("default", 2, environ={})
    with pytest.raises(UserError, match="at least 1"):
        distribute.check_flags("mirrored", 0, environ={})

    class TwoReplicas:
        num_replicas_in_sync = 2
    with pytest.raises(UserError, match="must split evenly into the 2 replicas"):
        distribute.check_batch(7, TwoReplicas())


def test_cli_refuses_max_minutes_with_multi_worker(tmp_path):
    env = {**os.environ, "TF_CONFIG": tf_config([1, 2], 0)}
    result = subprocess.run([sys.executable, "-m", "tfgan_suite.train", *CWGAN,
                             "--strategy=multi_worker", "--max_minutes=1",
                             f"--run_dir={tmp_path}"], capture_output=True, text=True, env=env,
                            timeout=120, check=False)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "--max_minutes would stop each worker at a different iteration" in result.stderr
