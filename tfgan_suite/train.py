"""Train a model:  python -m tfgan_suite.train --model=cwgan --dataset=celeba --data_dir=...

Order of work: flags are validated and the run / export folders checked (cheap, fails fast
with a clear error), the run directory is locked (one training at a time) and compared with
the configuration it records, then the dataset is read, the model built and restored from the
run's newest readable checkpoint if there is one, and `model.fit` runs the remaining
iterations. Rerunning the same command resumes. At the end the generator is exported for TF
Serving (--export).

Only absl and light modules are imported at the top, so --help answers without TensorFlow.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from typing import Optional

from absl import app, flags, logging

from tfgan_suite import cli, config as config_lib, runs
from tfgan_suite.errors import UserError

config_lib.define_flags()
flags.adopt_module_key_flags(config_lib)  # --help lists the training flags
FLAGS = flags.FLAGS


def execution_plan(iterations: int, steps_per_execution: int):
    """[(iterations per tf.function call, iterations)]: Keras runs whole calls only (it would
    overshoot), so a remainder gets a call size of its own."""
    chunk = min(steps_per_execution, iterations)
    bulk = iterations - iterations % chunk
    return [(c, n) for c, n in ((chunk, bulk), (iterations - bulk, iterations - bulk)) if n]


def fit_iterations(model, source, config, chunk, count, train_callbacks, strategy):
    """`count` more iterations, `chunk` per tf.function call, reading the data from where the
    model's step counter says the run is (sharded over the strategy's replicas)."""
    from tfgan_suite import distribute

    per_step = model.batches_per_step * config.batch_size
    dataset = distribute.distributed_pipeline(strategy, source, config.batch_size,
                                              group=model.batches_per_step, seed=config.seed,
                                              start=int(model.step.numpy()) * per_step)
    model.steps_per_execution = distribute.iterations_per_call(strategy, chunk)
    model.make_train_function(force=True)
    model.fit(dataset, epochs=1, shuffle=False, steps_per_epoch=count, callbacks=train_callbacks,
              verbose=0)   # progress.ProgressBar reports every iteration instead


def train(config: config_lib.RunConfig, stop_at: Optional[int] = None,
          max_minutes: Optional[float] = None, strategy=None) -> dict:
    """Run (or resume) training for a resolved config; returns a summary dict.

    stop_at: end this invocation at that iteration instead of the run's length.
    max_minutes: end it (checkpointed, resumable) once that much training time has passed.
    strategy: the tf.distribute strategy (default: made from config.strategy, which must then
    happen before TensorFlow's first op)."""
    if stop_at is not None and stop_at <= 0:
        raise UserError(f"--stop_at must be a positive iteration, got {stop_at}")
    if max_minutes is not None and not max_minutes > 0:
        raise UserError(f"--max_minutes must be positive, got {max_minutes}")
    from tfgan_suite import data, distribute

    distribute.check_flags(config.strategy, config.cpu_devices, max_minutes)

    info = data.describe(config.dataset, **config.dataset_options)
    if config.model == "cwgan" and (info.label_dim == 0 or info.example_shape[:2] not in
                                    ((28, 28), (64, 64))):
        raise UserError(f"--model=cwgan needs labelled 28x28 or 64x64 images (the paper's "
                        f"networks); --dataset={config.dataset} has examples of shape "
                        f"{info.example_shape} and {info.label_dim} labels. Use mnist, mnist5k, "
                        f"celeba or efigi, or --model=slogan")
    if strategy is None:
        strategy = distribute.create(config.strategy, config.cpu_devices)
    distribute.check_batch(config.batch_size, strategy)
    if not distribute.is_chief(strategy):
        # Writes nothing: restores from the chief's run directory and trains in step with it.
        return _train_locked(config, stop_at, max_minutes, strategy, chief=False)
    runs.check_output_dir(config.run_dir, "run_dir")
    if config.export:
        runs.check_output_dir(config.export_dir, "export_dir")
    with runs.RunLock(config.run_dir):
        return _train_locked(config, stop_at, max_minutes, strategy, chief=True)


def _train_locked(config: config_lib.RunConfig, stop_at, max_minutes, strategy, chief) -> dict:
    from tfgan_suite import callbacks, cleanup, data, distribute, hparams, machine, progress
    from tfgan_suite.data.download import download
    from tfgan_suite.export import export_generator
    from tfgan_suite.models import build_model

    if chief:
        # Leftovers of a killed run (the lock says no process of ours is writing here).
        cleanup.remove_interrupted_checkpoint_saves(os.path.join(config.run_dir, "checkpoints"))
        cleanup.remove_stale_atomic_temps(config.run_dir)
    changes = runs.recorded_changes(config)   # None: a new run; refuses experiment changes
    if changes:
        print("resuming with changed settings: " + ", ".join(
            f"{k} {old!r} -> {new!r}" for k, (old, new) in changes.items()))
    if config.download and chief:
        download(config.dataset, config.data_dir)
    source = data.load_dataset(config.dataset, config.data_dir, config.split,
                               **config.dataset_options)
    data.require_one_batch(source, config.batch_size)   # before anything is written
    if changes is None and chief:
        runs.write_config(config)
        hparams.write_hparams(config)
    steps = config_lib.total_steps(config, len(source))

    if config.deterministic:
        import tensorflow as tf
        tf.config.experimental.enable_op_determinism()
    with strategy.scope():
        model = build_model(config, source.info)
        if config.sync_batch_norm:
            distribute.synchronise_batch_norm(model)
        # Optimizer slots exist before the train function is traced: created lazily inside
        # a replica they would break tf.distribute's graph.
        runs.build_optimizer_slots(model)
        distribute.adapt_for_fit(model, strategy)
        manager = runs.checkpoint_manager(model, config.run_dir, config.keep_checkpoints)
        restored = runs.restore_latest(model, manager, repair=chief)
    if chief:
        manager = runs.checkpoint_manager(model, config.run_dir, config.keep_checkpoints)
    else:   # saves what the chief saves, into a scratch folder removed at the end
        scratch = tempfile.mkdtemp(prefix="tfgan-worker-")
        manager = runs.checkpoint_manager(model, scratch, 1)
    start = int(model.step.numpy())
    if chief:
        runs.append_invocation(config, changes, start)
    print(f"machine: {machine.one_line()}; {distribute.describe(strategy)}")
    if restored:
        print(f"resuming from iteration {start} of {steps} ({restored})")
    elif changes is not None:
        print(f"{config.run_dir} has no checkpoint yet: starting at iteration 0 of {steps}")
    else:
        print(f"starting at iteration 0 of {steps}")

    end = steps if stop_at is None else min(stop_at, steps)
    if start < end:
        grid_fn = model.grid_fn(source, config.grid_rows, config.seed)
        bar = progress.ProgressBar(start, steps)
        progress.instrument(model, bar)
        train_callbacks = [*callbacks.training_callbacks(model, config, grid_fn, manager,
                                                         write=chief),
                           progress.ProgressLogs(bar)]
        if max_minutes is not None:
            train_callbacks.append(callbacks.TimeLimit(max_minutes * 60.0))
        bar.begin()
        began = time.monotonic()
        try:
            for chunk, count in execution_plan(end - start, config.steps_per_execution):
                fit_iterations(model, source, config, chunk, count, train_callbacks, strategy)
                if model.stop_training:
                    break
        except Exception as e:   # noqa: BLE001 - a lost peer surfaces as any TF runtime error
            import tensorflow as tf
            if distribute.is_multi_worker(strategy) and isinstance(e, tf.errors.OpError):
                raise distribute.worker_lost(e, int(model.step.numpy()), config.run_dir) from e
            raise
        if chief:
            runs.append_training_time(config.run_dir, start, int(model.step.numpy()),
                                      time.monotonic() - began)
        if int(model.step.numpy()) < steps:
            print(f"stopped at iteration {int(model.step.numpy())} of {steps} (checkpointed; "
                  f"the same command without --stop_at / --max_minutes continues)")
    else:
        print(f"{config.run_dir} already reached {start} of {end} iterations")

    if not chief:
        shutil.rmtree(scratch, ignore_errors=True)
    exported = None
    if config.export and chief:
        step = int(model.step.numpy())
        target = os.path.join(config.export_dir, config.export_name, str(step))
        if os.path.exists(target):
            print(f"export {target} exists already")
        else:
            exported = export_generator(model, config, source.info, config.export_dir,
                                        config.export_name, step)
            print(f"exported {exported}")
    return dict(steps=int(model.step.numpy()), run_dir=config.run_dir, export=exported)


@cli.user_errors_exit
def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)
    # Said within the first second, before TensorFlow takes its seconds to load (resolving the
    # dataset options already imports it).
    print(f"tfgan_suite: {FLAGS.model} on {FLAGS.dataset}: loading TensorFlow...", flush=True)
    from tfgan_suite import distribute, quiet, reproducible_cpu_kernels

    if FLAGS.deterministic and not reproducible_cpu_kernels():
        print("note: --deterministic with TF_ENABLE_ONEDNN_OPTS set by you: oneDNN stays on, and "
              "runs may still part in rare cases (README, Resume)", flush=True)
    # Devices and the multi-worker runtime are set up before TensorFlow initialises its devices.
    distribute.check_flags(FLAGS.strategy, FLAGS.cpu_devices, FLAGS.max_minutes)
    _, strategy = quiet.start_tensorflow(
        lambda: distribute.create(FLAGS.strategy, FLAGS.cpu_devices))
    from tfgan_suite import callbacks

    config = config_lib.resolve(FLAGS)
    print(f"run dir {config.run_dir}", flush=True)
    try:
        train(config, stop_at=FLAGS.stop_at, max_minutes=FLAGS.max_minutes, strategy=strategy)
    except callbacks.NonFiniteLossError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(3)
    except distribute.WorkerLost as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(4)


if __name__ == "__main__":
    app.run(main, flags_parser=cli.parse_flags)
