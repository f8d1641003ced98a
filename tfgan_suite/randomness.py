"""Random draws of the train steps: stateless ops keyed by explicit seeds.

A train step draws every random value (z, penalty interpolation factors, DiffAugment
parameters, Gumbel noise, real-image flips) from shape-[2] integer seeds taken from a
`keras.random.SeedGenerator` that lives in the checkpoint. The same seed gives the same values
whatever happened before, so a resumed run repeats an uninterrupted one exactly. seed=None
falls back to TensorFlow's global (stateful) ops, for callers outside training.
"""

from __future__ import annotations

import tensorflow as tf


def uniform(shape, seed, minval=0.0, maxval=1.0, dtype=tf.float32):
    """U(minval, maxval) of `shape`; stateless when `seed` (shape [2]) is given."""
    if seed is None:
        return tf.random.uniform(shape, minval, maxval, dtype=dtype)
    return tf.random.stateless_uniform(shape, tf.cast(seed, tf.int64), minval, maxval,
                                       dtype=dtype)


def split(seed, count):
    """`count` independent stateless seeds from one shape-[2] seed, or Nones (stateful ops)."""
    if seed is None:
        return [None] * count
    return tf.unstack(tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), count))
