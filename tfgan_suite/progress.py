"""What a training run says while it works: a start-up line, the tracing time, and a progress
line that moves every second or so, however many iterations one tf.function call runs.

Keras' own progress bar can only update when a `steps_per_execution` chunk returns (minutes
apart on a slow CPU). Here each iteration ends with a host callback (`tf.py_function`) that
hands the iteration number to `ProgressBar`, which redraws at most once per `interval` seconds;
the logged values shown beside it are those of the last completed chunk. On a terminal the
line is redrawn in place; elsewhere (CI, log files) a plain line is printed every
`plain_interval` seconds.
"""

from __future__ import annotations

import os
import sys
import time

import keras
import tensorflow as tf

WIDTH = 100   # characters per progress line at most
SHOWN = ("d_loss", "g_loss", "u2c_loss", "wasserstein", "recon_loss", "kld")   # a few short values


def _duration(seconds: float) -> str:
    seconds = int(max(0, seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


class ProgressBar:
    """Iteration counter with rate and ETA from the first update."""

    def __init__(self, start: int, total: int, stream=None, tty=None, interval=1.0,
                 plain_interval=10.0, clock=time.perf_counter):
        self.start, self.total = int(start), int(total)
        self.stream = stream or sys.stdout
        if tty is None:
            tty = self.stream.isatty() and not os.environ.get("CI")
        self.tty = tty
        self.interval = interval if tty else plain_interval
        self.clock = clock
        self.begun = None
        self.traced_at = None
        self.last_draw = self.drawn_at_step = None
        self.step = self.start
        self.logs = {}

    def begin(self):
        """Tracing starts now (model.fit is about to build the train function)."""
        self.begun = self.clock()
        print("building and tracing the train step...", file=self.stream, flush=True)

    def tick(self, step) -> None:
        """One iteration finished (called from the graph through tf.py_function; once per
        replica under tf.distribute, hence repeated steps are ignored)."""
        if self.traced_at is not None and int(step) == self.step:
            return
        now = self.clock()
        self.step = int(step)
        if self.traced_at is None:
            self.traced_at = now
            self.first_step = self.step
            elapsed = now - (now if self.begun is None else self.begun)
            print(f"traced and ran the first iteration in {elapsed:.1f} s", file=self.stream,
                  flush=True)
            self.last_draw = now   # the first line with a rate comes with the next iteration
        elif now - self.last_draw >= self.interval or self.step >= self.total:
            self.draw(now)

    def line(self, now) -> str:
        done = self.step - self.start
        fraction = done / max(1, self.total - self.start)
        since = now - self.traced_at
        measured = self.step - self.first_step
        rate = measured / since if since > 0 and measured > 0 else None
        eta = (self.total - self.step) / rate if rate else None
        filled = int(20 * fraction)
        text = (f"{self.step}/{self.total} [{'=' * filled}{'.' * (20 - filled)}] "
                f"{100 * fraction:3.0f}% ")
        text += f"{rate:.2f} it/s ETA {_duration(eta)}" if rate else "-- it/s ETA --"
        values = [f"{k} {self.logs[k]:.3g}" for k in SHOWN if k in self.logs]
        if values:
            text += " | " + " ".join(values)
        return text[:WIDTH]

    def draw(self, now) -> None:
        self.last_draw = self.drawn_at_step = now
        if self.tty:
            print("\r" + self.line(now).ljust(WIDTH), end="", file=self.stream, flush=True)
        else:
            print(self.line(now), file=self.stream, flush=True)

    def finish(self) -> None:
        if self.traced_at is None:
            return
        if self.last_draw != self.drawn_at_step:
            self.draw(self.clock())
        if self.tty:
            print(file=self.stream, flush=True)


def instrument(model, bar: ProgressBar) -> None:
    """Make every iteration of `model.train_step` end with bar.tick(step) (before Keras builds
    its train function). The host call costs tens of microseconds per iteration."""
    step_fn = model.train_step   # bound: keeps wrappers already installed (distribute.py)

    def train_step(data):
        logs = step_fn(data)
        with tf.control_dependencies(list(tf.nest.flatten(logs))):
            tf.py_function(bar.tick, [model.step], [])
        return logs
    model.train_step = train_step


class ProgressLogs(keras.callbacks.Callback):
    """Hands the logged values of each completed chunk to the bar, and ends its line."""

    def __init__(self, bar: ProgressBar):
        super().__init__()
        self.bar = bar

    def on_train_batch_end(self, batch, logs=None):
        self.bar.logs = {k: float(v) for k, v in (logs or {}).items()}

    def on_train_end(self, logs=None):
        self.bar.finish()


def startup_line(config: dict, resuming_from: int | None, total: int) -> str:
    """One line saying what this run is: model, dataset, run dir, where it starts."""
    where = (f"resuming at iteration {resuming_from} of {total}" if resuming_from
             else f"starting, {total} iterations")
    return f"tfgan_suite: {config.model} on {config.dataset} | {config.run_dir} | {where}"
