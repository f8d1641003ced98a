"""Resumable SimCLR (stage 1 of `python -m tfgan_suite.train_encoder`).

Stage 1 is the long part (the paper's ResNet-50 trains for hours on a GPU), so it checkpoints
into `<encoder_dir>.simclr/`, beside the encoder directory it will write:

  settings.json   the stage-1 settings the checkpoints belong to
  ckpt-N.*        tf.train checkpoints: encoder, optimiser (its step drives the cosine
                  schedule), the augmentation seed stream, and N, the SimCLR steps done

Rerunning the same command restores the newest readable checkpoint and continues with the
batches and augmentations an uninterrupted run would have used (the data order is a function
of the step). Other settings are refused with the difference named, so a resume never mixes
two runs. The folder is removed once stage 1 has run to --encoder_steps and the encoder
directory is written; a run stopped by --max_minutes or --stop_at keeps it. One process at a
time: the folder is held by the same lock as a training run directory.
"""

from __future__ import annotations

import json
import os
import shutil
import types

from tfgan_suite import cleanup, runs
from tfgan_suite.config import write_json_atomic
from tfgan_suite.errors import UserError

SUFFIX = ".simclr"
SETTINGS = "settings.json"
KEEP = 2


def work_dir(encoder_dir: str) -> str:
    return os.path.abspath(encoder_dir).rstrip(os.sep) + SUFFIX


class StageOneCheckpoints:
    """Checkpoints of one SimCLR run; use inside `lock()`.

    trackables: what tf.train.Checkpoint holds; optimizer, variables: to build the optimiser's
    slots before a restore fills them."""

    def __init__(self, encoder_dir: str, settings: dict, trackables: dict, optimizer, variables):
        import tensorflow as tf

        self.directory = work_dir(encoder_dir)
        self.settings = json.loads(json.dumps(settings))   # as read back from settings.json
        self._slots = types.SimpleNamespace(optimizer_variables=lambda: [(optimizer, variables)])
        self.manager = tf.train.CheckpointManager(tf.train.Checkpoint(**trackables),
                                                  self.directory, max_to_keep=KEEP)

    def lock(self) -> runs.RunLock:
        return runs.RunLock(self.directory)

    def restore(self) -> int:
        """SimCLR steps already done (0 for a new run); refuses a run of other settings."""
        path = os.path.join(self.directory, SETTINGS)
        if not os.path.isfile(path):
            os.makedirs(self.directory, exist_ok=True)
            write_json_atomic(path, self.settings)
            return 0
        try:
            with open(path, encoding="utf-8") as fh:
                recorded = json.load(fh)
        except (OSError, ValueError) as e:
            raise UserError(f"cannot read {path} ({e}); delete {self.directory} to start SimCLR "
                            "afresh") from None
        changed = {k: (recorded.get(k), v) for k, v in self.settings.items()
                   if recorded.get(k) != v}
        if changed:
            raise UserError(
                f"{self.directory} holds an interrupted SimCLR run with other settings ("
                + ", ".join(f"{k}: {old!r} -> {new!r}" for k, (old, new) in changed.items())
                + f"): rerun with its settings to continue it, or delete {self.directory} to "
                  "start afresh")
        cleanup.remove_interrupted_checkpoint_saves(self.directory)
        if runs.restore_latest(self._slots, self.manager, repair=True) is None:
            return 0
        # restore_latest may have set aside unreadable saves: a fresh manager re-reads the index.
        self.manager = type(self.manager)(self.manager.checkpoint, self.directory,
                                          max_to_keep=KEEP)
        return int(self.manager.checkpoint.step.numpy())

    def save(self, done: int) -> None:
        self.manager.checkpoint.step.assign(done)
        self.manager.save(checkpoint_number=done)

    def finish(self) -> None:
        """Stage 1 ran to the end and the encoder directory is written: nothing to resume."""
        shutil.rmtree(self.directory, ignore_errors=True)
