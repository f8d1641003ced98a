"""Run directories: the resolved configuration, checkpoints, and restoring a model from them.

Layout of <run_dir>:
  config.json      resolved flags (what a resume is checked against; what export/generate read)
  checkpoints/     tf.train.CheckpointManager files (networks, both optimisers, step, z stream)
  tensorboard/     TensorBoard event files
  samples/         PNG sample grids

Checkpoints are crash-safe: TensorFlow writes each checkpoint's data under a temporary name
and renames it when complete, and updates the `checkpoint` index file with an atomic rename
only after that, so a run killed at any moment (SIGKILL included) leaves the previous
checkpoint as the latest one, loadable.
"""

from __future__ import annotations

import json
import os

import tensorflow as tf

from tfgan_suite import config as config_lib
from tfgan_suite import data
from tfgan_suite.errors import UserError

CONFIG_FILE = "config.json"


def check_run_dir(config: dict) -> bool:
    """Check (writing nothing) that the run directory is new or holds this same run.

    Returns True when it holds a run to resume."""
    path = os.path.join(config["run_dir"], CONFIG_FILE)
    if not os.path.exists(path):
        return False
    previous = read_config(config["run_dir"])
    changed = [k for k in config_lib.RESUME_INVARIANTS if previous.get(k) != config.get(k)]
    if changed:
        details = ", ".join(f"{k}: {previous.get(k)!r} -> {config.get(k)!r}" for k in changed)
        raise UserError(f"{config['run_dir']} holds a run with different settings ({details}). "
                        f"Rerun with the same flags to resume it, or pass a new --run_dir.")
    return True


def write_config(config: dict):
    os.makedirs(config["run_dir"], exist_ok=True)
    config_lib.write_json_atomic(os.path.join(config["run_dir"], CONFIG_FILE), config)


def read_config(run_dir: str) -> dict:
    path = os.path.join(run_dir, CONFIG_FILE)
    if not os.path.isfile(path):
        raise UserError(f"{run_dir} is not a run directory: {CONFIG_FILE} is missing. Pass the "
                        f"--run_dir of a training run (it holds {CONFIG_FILE} and checkpoints/).")
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def checkpoint_manager(model, run_dir: str, keep: int = 3) -> tf.train.CheckpointManager:
    checkpoint = tf.train.Checkpoint(**model.trackables())
    return tf.train.CheckpointManager(checkpoint, os.path.join(run_dir, "checkpoints"),
                                      max_to_keep=keep)


def build_optimizer_slots(model):
    """Create optimiser slots now so a restore fills them instead of deferring."""
    for optimizer, variables in model.optimizer_variables():
        optimizer.build(variables)


def restore_latest(model, manager, require=False, expect_partial=False):
    """Restore the newest checkpoint into `model`; returns its path or None."""
    latest = manager.latest_checkpoint
    if latest is None:
        if require:
            raise UserError(f"no checkpoint in {manager.directory}: train first (the run writes "
                            f"one every --checkpoint_every iterations and at the end).")
        return None
    build_optimizer_slots(model)
    status = manager.checkpoint.restore(latest)
    if expect_partial:
        status.expect_partial()
    else:
        status.assert_existing_objects_matched()
    return latest


def load_trained_model(run_dir: str):
    """(model, config, info) rebuilt from a run directory's config and latest checkpoint."""
    from tfgan_suite.models import build_model

    config = read_config(run_dir)
    info = data.describe(config["dataset"], **config.get("dataset_options", {}))
    model = build_model(config, info)
    manager = checkpoint_manager(model, run_dir, config["keep_checkpoints"])
    restore_latest(model, manager, require=True, expect_partial=True)
    return model, config, info
