"""What a run prints: the progress line's schedule and format, a tick for every iteration
whatever steps_per_execution is, and a TensorFlow import without its start-up notices."""

import io
import os
import subprocess
import sys

import keras
import numpy as np
import tensorflow as tf

from tfgan_suite import progress, quiet

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_plain_lines_every_interval_with_rate_and_eta_from_the_first_line():
    clock, out = Clock(), io.StringIO()
    bar = progress.ProgressBar(0, 100, stream=out, tty=False, plain_interval=10.0, clock=clock)
    bar.begin()
    clock.now = 5.0
    bar.tick(1)                       # first iteration: tracing time, no rate yet
    for step in range(2, 101):
        clock.now = 5.0 + (step - 1) * 0.5   # 2 iterations/s
        bar.logs = {"d_loss": -1.25, "g_loss": 3.5}
        bar.tick(step)
    bar.finish()
    lines = out.getvalue().splitlines()
    assert lines[0] == "building and tracing the train step..."
    assert lines[1] == "traced and ran the first iteration in 5.0 s"
    bars = lines[2:]
    assert 4 <= len(bars) <= 6                        # 49.5 s of iterations, a line per 10 s
    assert "2.00 it/s" in bars[0] and "ETA" in bars[0] and "--" not in bars[0]
    assert bars[-1].startswith("100/100 [====================] 100%")
    assert "d_loss -1.25 g_loss 3.5" in bars[-1]
    assert all(len(line) <= progress.WIDTH for line in lines)


def test_terminal_redraws_in_place():
    clock, out = Clock(), io.StringIO()
    bar = progress.ProgressBar(10, 20, stream=out, tty=True, interval=1.0, clock=clock)
    bar.begin()
    for step in range(11, 21):
        clock.now += 1.5
        bar.tick(step)
    bar.finish()
    text = out.getvalue()
    assert text.count("\r") >= 8 and text.endswith("\n")
    assert "20/20" in text and "resum" not in text


def test_every_iteration_ticks_with_several_per_call():
    class Counter(keras.Model):
        def __init__(self):
            super().__init__()
            self.step = tf.Variable(0, dtype=tf.int64, trainable=False)

        def train_step(self, data):
            self.step.assign_add(1)
            return {"seen": tf.reduce_sum(data)}

    seen = []
    bar = progress.ProgressBar(0, 30, stream=io.StringIO(), tty=False)
    bar.tick = lambda step: seen.append(int(step))
    model = Counter()
    model.compile(steps_per_execution=10)
    progress.instrument(model, bar)
    model.fit(tf.data.Dataset.from_tensors(np.ones(2, np.float32)).repeat(), epochs=1,
              steps_per_epoch=30, verbose=0, shuffle=False)
    assert seen == list(range(1, 31))


def test_tensorflow_imports_without_start_up_notices_but_keeps_real_errors():
    code = ("import os; from tfgan_suite import quiet; tf = quiet.import_tensorflow(); "
            "os.write(2, b'a real problem\\n')")
    env = {k: v for k, v in os.environ.items() if k not in ("TFGAN_VERBOSE",
                                                           "TF_CPP_MIN_LOG_LEVEL")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=dict(env, PYTHONPATH=REPO), cwd=REPO)
    assert out.returncode == 0, out.stderr
    for notice in ("cuda drivers", "cuInit", "oneDNN custom operations", "absl::InitializeLog",
                   "cpu_feature_guard"):
        assert notice not in out.stderr, out.stderr
    assert "a real problem" in out.stderr


def test_quiet_filter_keeps_other_lines():
    text = ("W0000 cudart_stub.cc:31] Could not find cuda drivers on your machine\n"
            "E0000 something actually wrong\n")
    assert quiet.filter_lines(text) == "E0000 something actually wrong\n"
