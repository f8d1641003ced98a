"""Test-session settings: one intra-op thread, and silence for warnings raised inside
third-party packages, not ours.

One intra-op thread makes the in-process trainings bit-reproducible, which the exact-resume tests
compare (what `--deterministic` does for the CLI; see tfgan_suite/determinism.py). It must be
set before TensorFlow runs its first op, so here, when the session starts."""


def pytest_configure(config):
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    for rule in (
        # tensorflow-probability 0.25 compares versions with distutils at import.
        "ignore:distutils Version classes are deprecated:DeprecationWarning",
        # Keras 3 on NumPy 2 probes __array__(copy=...) on TF tensors.
        "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning",
    ):
        config.addinivalue_line("filterwarnings", rule)
