"""The run's experiment settings on TensorBoard's HParams dashboard.

Written once, when a run starts, into <run_dir>/tensorboard beside the training scalars and the
Metrics/* that `tfgan_suite.evaluate` and `tfgan_suite.reproduce` add. With no experiment
config written, the dashboard takes every scalar of those runs as a metric, so seeds, ablations
and reproductions compare side by side: `tensorboard --logdir=runs` (HPARAMS tab).
"""

from __future__ import annotations

import json
import os

from tfgan_suite import config as config_lib

# Bookkeeping and machine paths say nothing about the experiment.
LEFT_OUT = config_lib.RESUMABLE_CHANGES | {"data_dir", "cache_dir"}


def hparam_values(config: config_lib.RunConfig) -> dict:
    """{name: bool | int | float | str} of the experiment settings (None -> "none";
    sequences and mappings -> their JSON text)."""
    values = {}
    for name, value in sorted(config.to_json().items()):
        if name in LEFT_OUT:
            continue
        if value is None:
            value = "none"
        elif not isinstance(value, (bool, int, float, str)):
            value = json.dumps(value, sort_keys=True)
        values[name] = value
    return values


def write_hparams(config: config_lib.RunConfig) -> None:
    import tensorflow as tf
    from tensorboard.plugins.hparams import api as hp

    writer = tf.summary.create_file_writer(os.path.join(config.run_dir, "tensorboard"))
    with writer.as_default():
        hp.hparams(hparam_values(config))   # trial id: a hash of the values, one per setting
    writer.close()
