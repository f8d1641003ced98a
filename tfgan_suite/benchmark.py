"""How fast a training iteration runs here, and how close to the CPU's limit.

    python -m tfgan_suite.benchmark --model=cwgan --dataset=mnist5k [--repeat=3] [--json]
    python -m tfgan_suite.benchmark --model=cwgan --dataset=celeba --iterations=4 --steps_per_execution=2
    python -m tfgan_suite.benchmark --model=slogan --dataset=mnist2 --plain_generator_step

The model is built exactly as `train` builds it (same flags and paper defaults) and fed random
data of the dataset's shape (no data directory needed). Measured, in alternating rounds so that
noise from other processes hits every variant alike:

  fit   seconds per iteration of the real path: model.fit on the tf.data pipeline, with
        --steps_per_execution iterations per call. Timed INSIDE one fit call, between the
        end of its first call of the train function and the end of its last (a callback
        reads the clock after each), so what fit does before the first and after the last
        call (epoch set-up, iterator creation, teardown) is excluded however long it takes.
        Earlier versions took the difference of two fit calls, which a per-call cost that
        varies from call to call distorts (seen here: fit rounds from 1.2 to 2.7 s on a step
        whose bare time was 2.6 s every time).
  bare  seconds per iteration of a plain tf.function of the same train_step on a fixed batch.
  peak  this CPU's float32 FLOP/s on a large matmul and a large convolution (the larger).

and reported with the analytic model FLOPs per iteration (tfgan_suite/flops.py), the achieved
GFLOP/s, MFU = achieved / measured peak, the fit/bare ratio (Keras + input pipeline overhead),
and the machine (CPU model, AVX-512/AMX, oneDNN, TF version). --json prints one JSON object.
"""

from __future__ import annotations

import json
import statistics
import time

from absl import app, flags

from tfgan_suite import cli, config as config_lib
from tfgan_suite.errors import UserError

config_lib.define_flags()
flags.DEFINE_integer("iterations", 10, "Timed iterations per variant and round (fit: the "
                     "difference of two calls, rounded up to a multiple of --steps_per_execution).")
flags.DEFINE_integer("repeat", 1, "Rounds; the variants alternate within each round.")
flags.DEFINE_boolean("json", False, "Print one JSON object instead of the text report.")
flags.DEFINE_float("peak_seconds", 3.0, "Seconds spent measuring the CPU's peak FLOP/s.")
flags.DEFINE_boolean("plain_generator_step", False, "slogan only: replace lines 4-9 of "
                     "Algorithm 1 (mixture sampling, U2C, encoder, SimCLR, Stein updates) by a "
                     "plain WGAN generator step on z ~ N(0, I) with the same networks, to "
                     "measure what the learned prior costs.")
FLAGS = flags.FLAGS


def _plain_generator_step(model):
    import tensorflow as tf

    def step(batch_size, decay, temp):
        del decay, temp
        z = tf.random.normal([model.generator_batch_factor * batch_size, model.prior.latent_dim])
        with tf.GradientTape() as tape:
            loss = -tf.reduce_mean(model.discriminator(model.generator(z, training=True),
                                                       training=True))
        variables = model.generator.trainable_variables
        model.g_optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return {"g_loss": loss, "u2c_loss": 0.0, "simclr_loss": 0.0, "prior_valid": 1.0}
    return step


def random_source(info, num_examples: int, seed: int = 0):
    """An ArraySource of random examples of the dataset's shape and label kind."""
    import numpy as np

    from tfgan_suite.data.base import ArraySource

    rng = np.random.default_rng(seed)
    shape = (num_examples,) + tuple(info.example_shape)
    if info.is_image:
        examples = rng.integers(0, 256, shape, dtype=np.uint8)
    else:
        examples = rng.uniform(-1, 1, shape).astype(np.float32)
    labels = np.eye(max(info.label_dim, 1), dtype=np.float32)[
        rng.integers(max(info.label_dim, 1), size=num_examples)][:, :info.label_dim]
    return ArraySource(info, examples, labels)


def measure_peak(seconds: float) -> dict:
    """float32 GFLOP/s of a 2048^3 matmul and of a 3x3, 256 -> 256 convolution on 32x32 maps
    (batch 16), each run for about `seconds` / 2."""
    import tensorflow as tf

    def rate(fn, flops_per_call):
        fn()  # trace
        calls, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds / 2 or calls < 2:
            fn().numpy()
            calls += 1
        return flops_per_call * calls / (time.perf_counter() - start) / 1e9

    n = 2048
    a = tf.random.stateless_normal((n, n), [1, 2])
    matmul = tf.function(lambda: tf.reduce_sum(tf.matmul(a, a)))
    x = tf.random.stateless_normal((16, 32, 32, 256), [3, 4])
    k = tf.random.stateless_normal((3, 3, 256, 256), [5, 6])
    conv = tf.function(lambda: tf.reduce_sum(tf.nn.conv2d(x, k, 1, "SAME")))
    results = {"matmul_gflops": rate(matmul, 2 * n ** 3),
               "conv_gflops": rate(conv, 2 * 16 * 32 * 32 * 9 * 256 * 256)}
    results["peak_gflops"] = max(results.values())
    return results


class Timer:
    """The two measured paths of one built model."""

    def __init__(self, model, source, config):
        import tensorflow as tf

        from tfgan_suite.data.base import batch_pipeline

        self.model, self.spe = model, config.steps_per_execution
        self.dataset = batch_pipeline(source, config.batch_size, group=model.batches_per_step,
                                      seed=config.seed)
        self.batch = next(iter(self.dataset))
        model.steps_per_execution = self.spe
        model.make_train_function(force=True)
        self.bare_step = tf.function(model.train_step)

    def _fit_call(self, iterations) -> tuple:
        """(wall seconds of the fit call, clock readings after each train-function call)."""
        import keras

        stamps = []

        class Clock(keras.callbacks.Callback):
            def on_train_batch_end(self, batch, logs=None):
                float(next(iter(logs.values())))   # the call's results exist: it has finished
                stamps.append(time.perf_counter())

        start = time.perf_counter()
        self.model.fit(self.dataset, epochs=1, steps_per_epoch=iterations, verbose=0,
                       shuffle=False, callbacks=[Clock()])
        return time.perf_counter() - start, stamps

    def fit(self, iterations) -> dict:
        """Per iteration between the end of the first call and the end of the last; the
        whole call's surplus over that rate is reported as its fixed cost."""
        extra = -(-iterations // self.spe) * self.spe
        wall, stamps = self._fit_call(self.spe + extra)
        per_iteration = (stamps[-1] - stamps[0]) / extra
        return {"s": per_iteration,
                "per_call_overhead_s": wall - (self.spe + extra) * per_iteration}

    def bare(self, iterations) -> dict:
        start = time.perf_counter()
        for _ in range(iterations):
            logs = self.bare_step(self.batch)
        float(next(iter(logs.values())))  # wait for the last step
        return {"s": (time.perf_counter() - start) / iterations}

    def warm_up(self):
        self._fit_call(self.spe)
        self.bare(1)


def run(config, iterations: int, repeat: int, peak_seconds: float,
        plain_generator_step: bool = False) -> dict:
    import tensorflow as tf

    from tfgan_suite import data, flops, machine
    from tfgan_suite.models import build_model

    info = data.describe(config.dataset, **config.dataset_options)
    model = build_model(config, info)
    if plain_generator_step:
        if config.model != "slogan":
            raise UserError("--plain_generator_step applies to --model=slogan")
        model.generator_encoder_prior_step = _plain_generator_step(model)
    group, batch = model.batches_per_step, config.batch_size
    source = random_source(info, max(4 * group * batch, 256), config.seed)
    timer = Timer(model, source, config)
    started = time.perf_counter()
    timer.warm_up()
    traced_s = time.perf_counter() - started

    rounds = {"fit": [], "bare": [], "overhead": []}
    for _ in range(repeat):
        fit = timer.fit(iterations)
        rounds["fit"].append(fit["s"])
        rounds["overhead"].append(fit["per_call_overhead_s"])
        rounds["bare"].append(timer.bare(iterations)["s"])
    peak = measure_peak(peak_seconds)
    model_flops = flops.iteration_flops(model, batch)
    fit_s, bare_s = statistics.median(rounds["fit"]), statistics.median(rounds["bare"])
    info_machine = machine.describe()
    return {
        "machine": info_machine, "cpu_line": machine.one_line(info_machine),
        "model": config.model + (" (plain generator step)" if plain_generator_step else ""),
        "dataset": config.dataset, "batch_size": batch,
        "n_critic": getattr(config, "n_critic", 1), "steps_per_execution": timer.spe,
        "iterations": iterations, "repeat": repeat, "warm_up_s": round(traced_s, 2),
        "fit_s_per_iteration": {"median": fit_s, "min": min(rounds["fit"]), "all": rounds["fit"]},
        "bare_s_per_iteration": {"median": bare_s, "min": min(rounds["bare"]),
                                 "all": rounds["bare"]},
        "fit_over_bare": fit_s / bare_s,
        "fit_per_call_overhead_s": statistics.median(rounds["overhead"]),
        "model_gflop_per_iteration": model_flops / 1e9,
        "achieved_gflops": {"fit": model_flops / fit_s / 1e9, "bare": model_flops / bare_s / 1e9},
        **peak,
        "mfu": {"fit": model_flops / fit_s / 1e9 / peak["peak_gflops"],
                "bare": model_flops / bare_s / 1e9 / peak["peak_gflops"]},
        "tensorflow": tf.__version__,
    }


def text_report(r: dict) -> str:
    fit, bare = r["fit_s_per_iteration"], r["bare_s_per_iteration"]
    return "\n".join([
        f"{r['model']} {r['dataset']}, batch {r['batch_size']}, n_critic {r['n_critic']}, "
        f"{r['steps_per_execution']} iterations per call",
        f"  machine: {r['cpu_line']}",
        f"  fit  {fit['median']:.4f} s/iteration (min {fit['min']:.4f}), "
        f"{1 / fit['median']:.2f} iterations/s",
        f"  bare {bare['median']:.4f} s/iteration (min {bare['min']:.4f}); "
        f"fit / bare = {r['fit_over_bare']:.3f}",
        f"  model FLOPs {r['model_gflop_per_iteration']:.1f} GFLOP/iteration; achieved "
        f"{r['achieved_gflops']['fit']:.1f} GFLOP/s (fit), {r['achieved_gflops']['bare']:.1f} "
        f"(bare); measured peak {r['peak_gflops']:.1f} GFLOP/s",
        f"  MFU {100 * r['mfu']['fit']:.1f}% (fit), {100 * r['mfu']['bare']:.1f}% (bare)",
    ])


@cli.user_errors_exit
def main(argv):
    del argv
    for name in ("iterations", "repeat"):
        if getattr(FLAGS, name) <= 0:
            raise UserError(f"--{name} must be positive, got {getattr(FLAGS, name)}")
    from tfgan_suite import quiet
    quiet.import_tensorflow()
    config = config_lib.resolve(FLAGS)
    result = run(config, FLAGS.iterations, FLAGS.repeat, FLAGS.peak_seconds,
                 FLAGS.plain_generator_step)
    print(json.dumps(result, indent=2) if FLAGS.json else text_report(result))


if __name__ == "__main__":
    app.run(main, flags_parser=cli.parse_flags)
