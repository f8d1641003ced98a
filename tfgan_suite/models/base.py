"""What every model of the suite provides, and the per-iteration loss trackers they share.

`GANModel` is the interface train.py, callbacks.py, runs.py and export.py rely on; both
`CWGAN` and `SLOGAN` satisfy it (checked in tests with isinstance, the Protocol being
runtime-checkable). `LossTrackers` turns the per-iteration values of a train step into
`keras.metrics` means, so that with several iterations per tf.function call
(`steps_per_execution`) the logs Keras hands the callbacks are means over EVERY iteration since
the last reset, not the last iteration's values.
"""

from __future__ import annotations

from typing import Callable, Protocol, runtime_checkable

import keras
import tensorflow as tf


@runtime_checkable
class GANModel(Protocol):
    """The interface of a trainable, checkpointable, exportable model of the suite."""

    step: tf.Variable                      # generator iterations since the run began

    @property
    def batches_per_step(self) -> int:
        """Real batches one train_step consumes (the pipeline groups them)."""

    def trackables(self) -> dict:
        """Everything a checkpoint must hold to resume exactly (networks, optimisers, step,
        random-stream states, prior)."""

    def optimizer_variables(self) -> list:
        """[(optimizer, variables)] so a restore can build the slots first."""

    def grid_fn(self, source, rows: int, seed: int) -> Callable:
        """A callable returning the monitoring grid [rows, cols, H, W, C] in [-1, 1], or a
        `plots.Scatter` for 2-D data."""

    def monitoring_scalars(self) -> dict:
        """Extra TensorBoard scalars {tag: float} (e.g. SLOGAN's pi_c)."""

    def serving_endpoints(self) -> list:
        """[(name, fn, input_signature)] for the SavedModel."""

    def export_metadata(self) -> dict:
        """JSON-able facts a client needs (z distribution, components, ...)."""

    def export_trackables(self) -> list:
        """What the SavedModel must hold (generator, and e.g. encoder and prior)."""


class MinMetric(keras.metrics.Metric):
    """The minimum of every value seen since the last reset (e.g. `prior_valid`: 0 as soon as
    one iteration of a chunk rejected its prior update)."""

    def __init__(self, name="min", **kwargs):
        super().__init__(name=name, **kwargs)
        self.minimum = self.add_variable(shape=(), initializer="zeros", name="minimum")
        self.reset_state()

    def update_state(self, values):
        self.minimum.assign(tf.minimum(self.minimum, tf.reduce_min(tf.cast(values, "float32"))))

    def result(self):
        return tf.identity(self.minimum)

    def reset_state(self):
        self.minimum.assign(float("inf"))


class LossTrackers:
    """One `keras.metrics.Mean` per logged name (a `MinMetric` for names in `minimum`).

    update(values) records one iteration and returns {name: mean since the last reset}, what a
    train_step returns. Trackers are created on first use inside the first trace.
    """

    def __init__(self, names, minimum=()):
        self.trackers = {}
        for name in names:
            self.trackers[name] = (MinMetric(name=name) if name in minimum
                                   else keras.metrics.Mean(name=name))

    @property
    def metrics(self) -> list:
        return list(self.trackers.values())

    def update(self, values: dict) -> dict:
        unknown = set(values) - set(self.trackers)
        if unknown:
            raise KeyError(f"untracked train_step values {sorted(unknown)}")
        for name, value in values.items():
            self.trackers[name].update_state(value)
        return {name: tracker.result() for name, tracker in self.trackers.items()}


class SuiteModel(keras.Model):
    """The state every model of the suite keeps beside its networks: the checkpointed random
    stream `noise_seed` (every draw of a train step is seeded from it, so resumes are exact), the
    iteration counter `step`, and the per-iteration loss trackers Keras reports."""

    def _init_state(self, seed: int, logged, minimum=()):
        """Call in __init__ after keras.Model.__init__."""
        self.noise_seed = keras.random.SeedGenerator(seed, name="noise_seed")
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        self.loss_trackers = LossTrackers(logged, minimum=minimum)

    @property
    def metrics(self):
        return self.loss_trackers.metrics

    def _seed(self):
        """A fresh stateless seed [2] int32 from the checkpointed stream."""
        return tf.cast(self.noise_seed.next(), tf.int32)

    def monitoring_scalars(self) -> dict:
        """No extra TensorBoard scalars unless a model adds some."""
        return {}
