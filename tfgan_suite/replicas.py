"""What a train step needs to know about the replicas it runs on (tf.distribute).

Under a strategy every replica runs the same train step on its slice of the global batch.
The helpers here make R replicas compute exactly what one device computes on the whole
global batch:

- `per_example(draw, n)`: random values per example are drawn for the GLOBAL batch from the
  shared stateless seed and each replica keeps its own rows, so z, the penalty's eps, DiffAugment
  and Gumbel noise are the numbers a single device would draw (and differ between replicas).
- `loss_scale()`: 1/R. Keras' optimizers SUM gradients over replicas; a per-replica batch mean
  scaled by 1/R sums to the global batch mean (what tf.nn.compute_average_loss does).
- `mean(values)`: per-replica batch means averaged over replicas = means over the global batch
  (SLOGAN's Stein estimates, Algorithm 1 lines 7-9).
- `gather(x)`: the global batch of `x` (all replicas' rows, replica order) and where this
  replica's rows start, for losses whose terms compare an example with the whole batch (U2C and
  SimCLR negatives). Gradients flow back to the replica that owns each row.

Outside a strategy (or with one replica) every helper is the identity and costs nothing.
"""

from __future__ import annotations

import tensorflow as tf


def _context():
    """The replica context, or None when there is nothing to synchronise with."""
    ctx = tf.distribute.get_replica_context()
    if ctx is None or ctx.num_replicas_in_sync == 1:
        return None
    return ctx


def count() -> int:
    """Replicas in sync (1 outside a strategy and in cross-replica context)."""
    ctx = _context()
    return 1 if ctx is None else int(ctx.num_replicas_in_sync)


def loss_scale() -> float:
    """1 / replicas: multiply a per-replica batch-mean loss by it before taking gradients."""
    return 1.0 / count()


def per_example(draw, n):
    """This replica's rows of draw(n * replicas): draw(m) returns a tensor whose first axis has
    m entries, one per example of the global batch."""
    ctx = _context()
    if ctx is None:
        return draw(n)
    full = draw(n * ctx.num_replicas_in_sync)
    start = tf.cast(ctx.replica_id_in_sync_group, tf.int32) * tf.cast(n, tf.int32)
    return full[start:start + n]


def mean(values):
    """The mean over replicas of each tensor in the (nested) structure `values`."""
    ctx = _context()
    if ctx is None:
        return values
    return ctx.all_reduce(tf.distribute.ReduceOp.MEAN, values)


def gather(x):
    """(global batch of x [R * b, ...], offset of this replica's rows in it)."""
    ctx = _context()
    if ctx is None:
        return x, 0
    offset = tf.cast(ctx.replica_id_in_sync_group, tf.int32) * tf.shape(x)[0]
    return ctx.all_gather(x, axis=0), offset
