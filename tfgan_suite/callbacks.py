"""Keras callbacks shared by every model: NaN guard, throughput, TensorBoard, samples, checkpoints.

They key everything on the model's own `step` variable (generator iterations since the run
began), so a resumed run continues its curves, sample numbering and checkpoint schedule.
The order in `training_callbacks` matters: the NaN guard runs first so that a diverged step
never reaches the checkpoint callback, and the throughput callback adds `steps_per_sec` to
the logs before the progress bar prints them.
"""

from __future__ import annotations

import math
import os
import time

import keras
import tensorflow as tf

from tfgan_suite import images, plots


class NonFiniteLossError(RuntimeError):
    """Training produced NaN/Inf; the last checkpoint on disk is the last good state."""


def _step(model) -> int:
    return int(model.step.numpy())


class EveryN(keras.callbacks.Callback):
    """Base for work due every `every` iterations. With steps_per_execution > 1 the callbacks
    see the step counter jump, so "due" means a multiple of `every` was reached or passed."""

    def __init__(self, every):
        super().__init__()
        self.every = every
        self.last_step = None

    def on_train_begin(self, logs=None):
        self.last_step = _step(self.model)

    def due(self):
        step = _step(self.model)
        crossed = step // self.every > self.last_step // self.every
        self.last_step = step
        return crossed


class NonFiniteGuard(keras.callbacks.Callback):
    """Stops the run with a clear message as soon as a logged value is NaN or infinite, or a
    SLOGAN prior update was rejected, in ANY iteration since the last check: the logs are
    per-iteration means (a NaN anywhere makes the mean NaN) and `prior_valid` a minimum.

    Non-finite losses are checked first: they are the cause when both show (a diverged network
    also makes the Stein step fail)."""

    def __init__(self, checkpoint_dir):
        super().__init__()
        self.checkpoint_dir = checkpoint_dir

    def on_train_batch_end(self, batch, logs=None):
        logs = logs or {}
        resume = (f"Nothing was saved after this point; the last good checkpoint is in "
                  f"{self.checkpoint_dir}, and rerunning the command resumes from it")
        bad = {k: float(v) for k, v in logs.items() if not math.isfinite(float(v))}
        if bad:
            raise NonFiniteLossError(
                f"non-finite values by iteration {_step(self.model)}: {bad}. The networks "
                f"diverged: lower --learning_rate (or adjust --beta1/--beta2, "
                f"--penalty_weight) or check the data for NaN/Inf. {resume}.")
        if logs.get("prior_valid", 1.0) < 0.5:
            raise NonFiniteLossError(
                f"a Stein update of the prior by iteration {_step(self.model)} would have left a "
                f"covariance that is not positive definite; the prior kept its last valid "
                f"values. Lower --prior_learning_rate. {resume}.")


class Throughput(keras.callbacks.Callback):
    """Adds `steps_per_sec` (over the last `window` callback calls) to the logs."""

    def __init__(self, window=10):
        super().__init__()
        self.window = window
        self.marks = []

    def on_train_begin(self, logs=None):
        self.marks = []

    def on_train_batch_end(self, batch, logs=None):
        self.marks = (self.marks + [(time.perf_counter(), _step(self.model))])[-(self.window + 1):]
        if logs is not None and len(self.marks) > 1:
            (t0, s0), (t1, s1) = self.marks[0], self.marks[-1]
            logs["steps_per_sec"] = (s1 - s0) / (t1 - t0)


class ScalarLogger(EveryN):
    """TensorBoard scalars every `every` iterations: the mean of each logged value over every
    iteration since the previous write (the model's metric trackers accumulate them; this
    callback resets them after writing). Whatever is pending is written when training ends.
    writer=None resets the trackers at the same iterations and writes nothing."""

    # TensorBoard tag for each train_step log key; unknown keys go under "train/".
    TAGS = {"d_loss": "loss/critic", "g_loss": "loss/generator",
            "gradient_penalty": "critic/gradient_penalty", "wasserstein": "critic/wasserstein_estimate",
            "d_real": "critic/mean_D_real", "d_fake": "critic/mean_D_fake",
            "steps_per_sec": "perf/steps_per_sec", "penalty": "critic/penalty",
            "u2c_loss": "loss/u2c", "simclr_loss": "loss/simclr",
            "u2c_schedule": "schedule/u2c_lambda_margin_factor", "prior_valid": "prior/valid"}

    def __init__(self, writer, every):
        super().__init__(every)
        self.writer = writer
        self.pending, self.written_step = {}, None

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        self.written_step = self.last_step

    def write(self, step):
        if self.writer is None:    # a worker that only keeps the trackers' reset cadence
            self.pending, self.written_step = {}, step
            return
        with self.writer.as_default(step=step):
            for key, value in self.pending.items():
                tf.summary.scalar(self.TAGS.get(key, f"train/{key}"), value)
            for name, value in self.model.monitoring_scalars().items():
                tf.summary.scalar(name, value)
        self.writer.flush()
        self.pending, self.written_step = {}, step

    def on_train_batch_begin(self, batch, logs=None):
        # Reset at the start of the next chunk rather than right after writing, so the logs
        # Keras reports at the end of a fit call still hold the last means.
        if self.written_step == _step(self.model):
            for tracker in self.model.metrics:
                tracker.reset_state()

    def on_train_batch_end(self, batch, logs=None):
        self.pending = {key: float(value) for key, value in (logs or {}).items()}
        if self.due():
            self.write(self.last_step)

    def on_train_end(self, logs=None):
        if self.pending and self.written_step != _step(self.model):
            self.write(_step(self.model))


class SampleGrid(EveryN):
    """Every `every` iterations (and at the end): the model's fixed-z sample grid as a PNG in
    <run_dir>/samples/ and as a TensorBoard image."""

    def __init__(self, writer, grid_fn, sample_dir, every):
        super().__init__(every)
        self.writer, self.grid_fn, self.sample_dir = writer, grid_fn, sample_dir
        self.last_written = None

    def write(self):
        step = _step(self.model)
        mosaic = plots.to_image(self.grid_fn())
        images.save_png(os.path.join(self.sample_dir, f"step_{step:07d}.png"), mosaic)
        with self.writer.as_default(step=step):
            tf.summary.image("samples/fixed_z_grid", mosaic[None], max_outputs=1)
        self.writer.flush()
        self.last_written = step

    def on_train_batch_end(self, batch, logs=None):
        if self.due():
            self.write()

    def on_train_end(self, logs=None):
        if self.last_written != _step(self.model):
            self.write()


class TimeLimit(keras.callbacks.Callback):
    """Ends fit() at the first tf.function call that finishes after `seconds` of training; the
    Checkpointer's on_train_end then saves that iteration, so the run resumes from it."""

    def __init__(self, seconds: float):
        super().__init__()
        self.deadline = time.monotonic() + seconds

    def on_train_batch_end(self, batch, logs=None):
        if time.monotonic() >= self.deadline:
            self.model.stop_training = True


class Checkpointer(EveryN):
    """Saves the run's state every `every` iterations and when training ends."""

    def __init__(self, manager, every):
        super().__init__(every)
        self.manager = manager

    def save(self):
        step = _step(self.model)
        if self.manager.latest_checkpoint and self.manager.latest_checkpoint.endswith(f"-{step}"):
            return
        self.manager.save(checkpoint_number=step)

    def on_train_batch_end(self, batch, logs=None):
        if self.due():
            self.save()

    def on_train_end(self, logs=None):
        self.save()


def training_callbacks(model, config, grid_fn, manager, write=True):
    """The callbacks of a training run. write=False: a multi-worker run's other workers, which
    must run the same TensorFlow ops as the chief (a checkpoint save can create variables, whose
    initial values are broadcast across workers) but leave no trace: `manager` then saves into a
    scratch folder, and no TensorBoard or sample files are written."""
    if not write:
        return [NonFiniteGuard(manager.directory), Throughput(),
                ScalarLogger(None, config.log_every), Checkpointer(manager, config.checkpoint_every)]
    run_dir = config.run_dir
    writer = tf.summary.create_file_writer(os.path.join(run_dir, "tensorboard"))
    return [NonFiniteGuard(manager.directory), Throughput(),
            ScalarLogger(writer, config.log_every),
            SampleGrid(writer, grid_fn, os.path.join(run_dir, "samples"), config.sample_every),
            Checkpointer(manager, config.checkpoint_every)]

