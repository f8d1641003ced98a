"""Random draws of the train steps: stateless ops keyed by explicit seeds.

A train step draws every random value (z, penalty interpolation factors, DiffAugment
parameters, Gumbel noise, real-image flips) from shape-[2] integer seeds taken from a
`keras.random.SeedGenerator` that lives in the checkpoint. The same seed gives the same values
whatever happened before, so a resumed run repeats an uninterrupted one exactly. seed=None
falls back to TensorFlow's global (stateful) ops, for callers outside training.

Under a tf.distribute strategy, per-example draws cover the global batch and each replica keeps
its own rows (tfgan_suite.replicas.per_example): R replicas draw what one device would.
"""

from __future__ import annotations

import tensorflow as tf

from tfgan_suite import replicas


def uniform(shape, seed, minval=0.0, maxval=1.0, dtype=tf.float32, per_example=True, blocks=1):
    """U(minval, maxval) of `shape`; stateless when `seed` (shape [2]) is given.

    per_example: the first axis of `shape` indexes the examples of this replica's batch (as
    `blocks` stacked blocks of equal size, e.g. 2 for concat([real, fake])); under a strategy the
    draw is made for the global batch and this replica's rows are returned. False: one draw
    shared by every replica (e.g. a single value for the whole batch)."""
    if seed is None:
        return tf.random.uniform(shape, minval, maxval, dtype=dtype)
    seed = tf.cast(seed, tf.int64)
    if not per_example:
        return tf.random.stateless_uniform(shape, seed, minval, maxval, dtype=dtype)
    shape = tf.convert_to_tensor(shape, tf.int32)
    rest = shape[1:]
    swap = tf.concat([[1, 0], tf.range(2, tf.size(shape) + 1)], 0)   # axes 0 and 1 exchanged

    def draw(rows):
        """[rows, blocks, ...]: the global draw with every block's rows side by side, so that
        replicas.per_example takes this replica's rows of every block alike."""
        values = tf.random.stateless_uniform(tf.concat([[rows * blocks], rest], 0), seed,
                                             minval, maxval, dtype=dtype)
        return tf.transpose(tf.reshape(values, tf.concat([[blocks, rows], rest], 0)), swap)

    return tf.reshape(tf.transpose(replicas.per_example(draw, shape[0] // blocks), swap), shape)


def normal(shape, seed, mean=0.0, dtype=tf.float32):
    """N(mean, 1) of `shape`, stateless, the first axis indexing examples (see `uniform`)."""
    shape = tf.convert_to_tensor(shape, tf.int32)
    return replicas.per_example(
        lambda rows: tf.random.stateless_normal(tf.concat([[rows], shape[1:]], 0),
                                                tf.cast(seed, tf.int64), mean=mean, dtype=dtype),
        shape[0])


def split(seed, count):
    """`count` independent stateless seeds from one shape-[2] seed, or Nones (stateful ops)."""
    if seed is None:
        return [None] * count
    return tf.unstack(tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), count))
