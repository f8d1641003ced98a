"""Training on several devices or hosts with tf.distribute, selected by --strategy.

  default       one device (TensorFlow's default strategy): what every run did before.
  mirrored      tf.distribute.MirroredStrategy over this machine's GPUs; on a machine without
                GPUs, over --cpu_devices logical CPU devices (for trying the distributed code
                paths: on one CPU this is not faster).
  multi_worker  tf.distribute.MultiWorkerMirroredStrategy over the hosts that the standard
                TF_CONFIG variable lists; every host runs the same command with its own
                TF_CONFIG task.

--batch_size is the GLOBAL batch: each of the R replicas trains on batch_size / R rows and the
models scale their losses so that gradients are global-batch means (tfgan_suite.replicas).
The data are sharded by index (data.base.batch_pipeline's `shard`): every worker walks the same
global order and reads only its replicas' rows, so a resumed run reads the same examples
whatever the number of replicas or workers.

Only the chief (TF_CONFIG's "chief" task, else worker 0) writes: checkpoints, TensorBoard,
sample grids, run records, exports. The other workers restore from the same run directory,
which must therefore be on storage every host can read.
"""

from __future__ import annotations

import json
import os

from tfgan_suite.errors import UserError

STRATEGIES = ("default", "mirrored", "multi_worker")
# How long a collective (gradient all-reduce) may wait for a peer before the run fails: a
# worker that died makes the others stop with an error instead of hanging.
DEFAULT_PEER_TIMEOUT_S = 120


class WorkerLost(RuntimeError):
    """A multi-worker run stopped because another worker failed or became unreachable."""


def worker_lost(error, step: int, run_dir: str) -> WorkerLost:
    """The message a surviving worker gives when the run lost a peer (`error` from TensorFlow)."""
    lines = str(error).strip().splitlines()
    cause = next((line for line in lines if "unhealthy" in line or "aborted" in line.lower()),
                 lines[0] if lines else type(error).__name__)
    return WorkerLost(
        f"training stopped near iteration {step}: another worker of the multi-worker run failed "
        f"or became unreachable ({type(error).__name__}: {cause.strip()}). The chief's last "
        f"checkpoint is in {os.path.join(run_dir, 'checkpoints')}; start every worker again with "
        f"the same command and TF_CONFIG to resume from it.")


def check_tf_config(environ=os.environ) -> dict:
    """The parsed TF_CONFIG of a multi-worker run; UserError saying what to set otherwise."""
    example = ('TF_CONFIG=\'{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
               '"task": {"type": "worker", "index": 0}}\'')
    text = environ.get("TF_CONFIG")
    if not text:
        raise UserError("--strategy=multi_worker needs the TF_CONFIG environment variable on "
                        f"every host, e.g. {example} (index 1 on the second host)")
    try:
        spec = json.loads(text)
        workers = spec["cluster"]["worker"]
        task = spec["task"]
        kind, index = task["type"], int(task["index"])
    except (ValueError, KeyError, TypeError) as e:
        raise UserError(f"TF_CONFIG is not valid ({e!r}); expected {example}") from None
    if kind not in spec["cluster"]:
        raise UserError(f"TF_CONFIG: task type {kind!r} is not in the cluster "
                        f"({', '.join(spec['cluster'])})")
    if not 0 <= index < len(spec["cluster"][kind]):
        raise UserError(f"TF_CONFIG: task index {index} is outside the {len(spec['cluster'][kind])} "
                        f"{kind} addresses")
    if not workers:
        raise UserError("TF_CONFIG lists no workers")
    return spec


def check_flags(strategy: str, cpu_devices, max_minutes=None, environ=os.environ) -> None:
    """Cheap checks before TensorFlow starts."""
    if max_minutes is not None and strategy == "multi_worker":
        raise UserError("--max_minutes would stop each worker at a different iteration; with "
                        "--strategy=multi_worker use --stop_at")
    if strategy not in STRATEGIES:
        raise UserError(f"--strategy={strategy} is unknown; choose one of {', '.join(STRATEGIES)}")
    if cpu_devices is not None:
        if strategy != "mirrored":
            raise UserError("--cpu_devices splits this machine's CPU for --strategy=mirrored; "
                            f"it has no effect with --strategy={strategy}")
        if cpu_devices < 1:
            raise UserError(f"--cpu_devices must be at least 1, got {cpu_devices}")
    if strategy == "multi_worker":
        check_tf_config(environ)


def create(strategy: str, cpu_devices=None, peer_timeout_s: float = DEFAULT_PEER_TIMEOUT_S):
    """The tf.distribute.Strategy for --strategy; call before TensorFlow runs its first op
    (logical CPU devices and the multi-worker runtime can only be set up then)."""
    import tensorflow as tf

    if strategy == "default":
        return tf.distribute.get_strategy()
    if strategy == "mirrored":
        gpus = tf.config.list_physical_devices("GPU")
        if gpus:
            if cpu_devices:
                raise UserError(f"--cpu_devices is for machines without GPUs; this one has "
                                f"{len(gpus)}: leave it out to mirror over the GPUs")
            return tf.distribute.MirroredStrategy()
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * (cpu_devices or 1))
        devices = [d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices)
    options = tf.distribute.experimental.CommunicationOptions(timeout_seconds=peer_timeout_s)
    return tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)


def is_chief(strategy) -> bool:
    """True on the one process that writes (every single-host strategy's only process)."""
    return bool(strategy.extended.should_checkpoint)


def check_batch(batch_size: int, strategy) -> None:
    """The global batch must split evenly into the replicas."""
    replicas = strategy.num_replicas_in_sync
    if batch_size % replicas:
        raise UserError(f"--batch_size={batch_size} is the global batch and must split evenly "
                        f"into the {replicas} replicas; use a multiple of {replicas}")


def synchronise_batch_norm(model) -> int:
    """Make every BatchNormalization of `model` use the statistics of the global batch
    (keras.layers.BatchNormalization synchronized=True); returns how many layers changed."""
    import keras

    changed = 0
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.synchronized = True
            changed += 1
    return changed


def adapt_for_fit(model, strategy) -> None:
    """Work around two Keras 3 fit paths that fail under a strategy (model instance only).

    - Keras would build the model on a symbolic batch after averaging a peeked batch over the
      replicas (a collective across workers, which fails on a per-replica batch); the suite's
      models are complete before fit (Functional networks, optimizer slots built): skipped.
    - Under MultiWorkerMirroredStrategy Keras averages each logged value over axis 0, which a
      scalar lacks: the train step's logs are given that axis (shape [1]); the callbacks still
      receive scalars, the means over all replicas.
    """
    model._maybe_symbolic_build = lambda *args, **kwargs: None
    if is_multi_worker(strategy):
        import tensorflow as tf

        step = model.train_step

        def train_step(data):
            return {name: tf.reshape(value, [1]) for name, value in step(data).items()}
        model.train_step = train_step


def distributed_pipeline(strategy, source, batch_size: int, group: int, seed: int, start: int):
    """batch_pipeline sharded by index over the strategy's replicas (see module docstring)."""
    from tfgan_suite.data.base import batch_pipeline

    if strategy.num_replicas_in_sync == 1 and not is_multi_worker(strategy):
        return batch_pipeline(source, batch_size, group=group, seed=seed, start=start)

    def dataset_fn(context):
        per_pipeline = context.num_replicas_in_sync // context.num_input_pipelines
        shard = (context.input_pipeline_id * per_pipeline, per_pipeline,
                 context.num_replicas_in_sync)
        return batch_pipeline(source, batch_size, group=group, seed=seed, start=start,
                              shard=shard)

    import tensorflow as tf
    options = tf.distribute.InputOptions(experimental_fetch_to_device=True)
    return strategy.distribute_datasets_from_function(dataset_fn, options)


def iterations_per_call(strategy, steps_per_execution: int) -> int:
    """Iterations one tf.function call of Keras' fit may run under `strategy`.

    With a strategy, Keras 3.15 / TensorFlow 2.21 cannot run an optimizer update inside fit's
    multi-iteration loop (the call fails with "You must feed a value for placeholder tensor"):
    each call then runs one iteration, and --steps_per_execution only sets how often the
    callbacks may run. On one device the loop is kept."""
    if type(strategy).__name__ == "_DefaultDistributionStrategy":
        return steps_per_execution
    return 1


def is_multi_worker(strategy) -> bool:
    import tensorflow as tf

    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)


def describe(strategy) -> str:
    """One line for the run's log, e.g. 'MirroredStrategy, 2 replicas'."""
    if is_multi_worker(strategy):
        name = "MultiWorkerMirroredStrategy"
    elif type(strategy).__name__ == "_DefaultDistributionStrategy":
        return "one device"
    else:
        name = type(strategy).__name__
    text = f"{name}, {strategy.num_replicas_in_sync} replica(s)"
    if is_multi_worker(strategy):
        resolver = strategy.cluster_resolver
        text += f", this process {resolver.task_type} {resolver.task_id}"
    return text
