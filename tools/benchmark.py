"""Measure training iterations per second of a model configuration, data loading excluded.

    python tools/benchmark.py --model=cwgan --dataset=celeba --iterations=5
    python tools/benchmark.py --model=slogan --dataset=mnist2 --iterations=20

Builds the model exactly as `tfgan_suite.train` would (same flags, paper defaults) and
times `model.fit` on one cached random batch of the dataset's shape, after a warm-up call
that traces the graph. Prints the configuration, seconds per iteration and iterations/s.
"""

from __future__ import annotations

import os
import platform
import sys
import time

from absl import app, flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tfgan_suite import cli, config as config_lib  # noqa: E402
from tfgan_suite.errors import UserError  # noqa: E402

config_lib.define_flags()
flags.DEFINE_integer("iterations", 5, "Timed iterations (after one warm-up).")
flags.DEFINE_boolean("plain_generator_step", False, "slogan only: replace lines 4-9 of Algorithm 1 "
                     "(mixture sampling, U2C, encoder, SimCLR, Stein updates) by a plain WGAN "
                     "generator step on z ~ N(0, I) with the same networks, to measure what the "
                     "learned prior costs.")
FLAGS = flags.FLAGS


def _plain_generator_step(model):
    import tensorflow as tf

    def step(batch_size, decay, temp):
        del decay, temp
        z = tf.random.normal([2 * batch_size, model.prior.latent_dim])
        with tf.GradientTape() as tape:
            loss = -tf.reduce_mean(model.discriminator(model.generator(z, training=True),
                                                       training=True))
        variables = model.generator.trainable_variables
        model.g_optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return {"g_loss": loss}
    return step


@cli.user_errors_exit
def main(argv):
    del argv
    import numpy as np
    import tensorflow as tf

    from tfgan_suite import data
    from tfgan_suite.models import build_model

    config = config_lib.resolve(FLAGS)
    info = data.describe(config.dataset, **config.dataset_options)
    model = build_model(config, info)
    if FLAGS.plain_generator_step:
        if config.model != "slogan":
            raise UserError("--plain_generator_step applies to --model=slogan")
        model.generator_encoder_prior_step = _plain_generator_step(model)
    group, batch = model.batches_per_step, config.batch_size
    shape = (group, batch) if group > 1 else (batch,)
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, shape + tuple(info.example_shape)).astype(np.float32)
    y = np.eye(max(info.label_dim, 1), dtype=np.float32)[
        rng.integers(max(info.label_dim, 1), size=shape)][..., :info.label_dim]
    dataset = tf.data.Dataset.from_tensors((x, y)).repeat()
    model.fit(dataset, steps_per_epoch=1, epochs=1, verbose=0, shuffle=False)
    start = time.perf_counter()
    model.fit(dataset, steps_per_epoch=FLAGS.iterations, epochs=1, verbose=0, shuffle=False)
    seconds = (time.perf_counter() - start) / FLAGS.iterations
    variant = " (plain generator step)" if FLAGS.plain_generator_step else ""
    n_critic = config.n_critic if config.model == "cwgan" else 1   # SLOGAN: Algorithm 1
    print(f"{config.model}{variant} {config.dataset} batch {batch} "
          f"n_critic {n_critic}: {seconds:.3f} s/iteration, "
          f"{1 / seconds:.3f} iterations/s ({os.cpu_count()} CPUs, {platform.processor() or platform.machine()}, "
          f"TF {tf.__version__})")


if __name__ == "__main__":
    app.run(main)
