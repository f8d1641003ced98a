"""--deterministic: bit-identical reruns and resumes on CPU.

Without it, two runs of the same command can part in the last bits at some iteration and then
drift apart: TensorFlow's oneDNN kernels choose their thread count per call. A kernel that the
executor happens to start on one of the intra-op pool's own threads runs single-threaded
(oneDNN's guard against nested parallelism, `get_in_parallel` of TensorFlow's oneDNN thread pool),
any other uses the whole pool, and the two partitions can round differently. Which thread runs a
kernel depends on scheduling, so it happens rarely and more under load: on a 2-core Xeon, about
one 300-iteration SLOGAN run on 8 Gaussians in ten, with other processes running.

One intra-op thread takes the choice away (every kernel runs on one thread, wherever it starts);
TensorFlow's op-determinism mode adds what it covers (deterministic tf.data, an error for ops
with no deterministic kernel, GPU algorithm choices). The thread count has to be set before
TensorFlow runs its first op, which `python -m tfgan_suite.train` does; a caller that started
TensorFlow already (a notebook, a test session) sets it itself with
tf.config.threading.set_intra_op_parallelism_threads(1) first thing.
"""

from __future__ import annotations


def limit_threads() -> None:
    """One intra-op thread; call before TensorFlow's first op."""
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)


def enable() -> None:
    """Op determinism, and a note when the intra-op pool is not single-threaded (TensorFlow
    started before limit_threads could run)."""
    import tensorflow as tf

    tf.config.experimental.enable_op_determinism()
    if tf.config.threading.get_intra_op_parallelism_threads() != 1:
        print("note: --deterministic could not limit TensorFlow to one intra-op thread (it had "
              "started already): oneDNN kernels may still round differently from run to run. "
              "Call tf.config.threading.set_intra_op_parallelism_threads(1) before TensorFlow's "
              "first op.")
