"""Run directories: the recorded configuration and history, the training lock, checkpoints,
and restoring a model from them.

Layout of <run_dir>:
  config.json        the experiment's resolved configuration, written once when the run
                     starts (what a resume is checked against; what export/generate read)
  invocations.jsonl  one line per `train` invocation: time, argv, host, pid, the allowed
                     settings it changed, its start iteration, the machine it ran on
  training_time.jsonl  one line per invocation that trained: iterations from / to, wall time
  lock               present while a `train` process uses the directory (pid, host, start)
  checkpoints/       tf.train.CheckpointManager files (networks, both optimisers, step, z stream)
  tensorboard/       TensorBoard event files
  samples/           PNG sample grids

Checkpoints are crash-safe: TensorFlow writes each checkpoint's data under a temporary name
and renames it when complete, and updates the `checkpoint` index file with an atomic rename
only after that, so a run killed at any moment (SIGKILL included) leaves the previous
checkpoint as the latest one. A checkpoint damaged afterwards (a truncated copy, a full disk)
is skipped by `restore_latest`, which falls back to the older kept ones.

TensorFlow is imported inside the functions that need it, so command-line tools that import
this module still answer --help quickly.
"""

from __future__ import annotations

import datetime
import errno
import glob
import json
import os
import shutil
import socket
import sys
from typing import Optional

from tfgan_suite import cleanup, config as config_lib
from tfgan_suite.errors import UserError

CONFIG_FILE = "config.json"
INVOCATIONS_FILE = "invocations.jsonl"
TRAINING_TIME_FILE = "training_time.jsonl"
LOCK_FILE = "lock"
MIN_FREE_BYTES = 64 * 2 ** 20   # a checkpoint of the larger models plus sample grids


# --------------------------------------------------------------------------- output folders

def check_output_dir(path: str, flag: str):
    """UserError unless `path` is (or can be created as) a writable folder with free space.

    Checked before any data is read, so a typo fails in a second rather than after loading."""
    existing = path
    while not os.path.exists(existing):
        parent = os.path.dirname(existing)
        if parent == existing:
            break
        existing = parent
    if not os.path.isdir(existing):
        raise UserError(f"--{flag}={path}: {existing} is a file, not a folder; move it away or "
                        f"choose another --{flag}")
    probe = os.path.join(existing, f".tfgan-write-probe-{os.getpid()}")
    try:
        with open(probe, "w"):
            pass
        os.remove(probe)
    except OSError as e:
        raise UserError(f"--{flag}={path}: cannot write in {existing} ({e.strerror}); choose a "
                        f"folder you can write to") from None
    free = shutil.disk_usage(existing).free
    if free < MIN_FREE_BYTES:
        raise UserError(f"--{flag}={path}: only {free / 2 ** 20:.0f} MiB free on its disk (need "
                        f"{MIN_FREE_BYTES // 2 ** 20} MiB); free space or choose another --{flag}")


# --------------------------------------------------------------------------- configuration

def read_config(run_dir: str) -> config_lib.RunConfig:
    """The run's recorded configuration (its run_dir is where it is now, should it have moved)."""
    path = os.path.join(run_dir, CONFIG_FILE)
    if not os.path.isfile(path):
        raise UserError(f"{run_dir} is not a run directory: {CONFIG_FILE} is missing. Pass the "
                        f"--run_dir of a training run (it holds {CONFIG_FILE} and checkpoints/).")
    try:
        with open(path, encoding="utf-8") as fh:
            recorded = json.load(fh)
    except (ValueError, UnicodeDecodeError) as e:
        raise UserError(f"{path} is corrupt ({e}); restore it from the \"config\" of the first "
                        f"line of {INVOCATIONS_FILE} in that folder (or a backup), or start a new "
                        f"--run_dir") from None
    config = config_lib.from_json(recorded, source=path)
    return config.replace(run_dir=os.path.abspath(run_dir))


def recorded_changes(config: config_lib.RunConfig) -> Optional[dict]:
    """None for a new run directory; else the allowed settings `config` changes relative to
    config.json, {key: (old, new)}. Any other change raises UserError (config.resume_changes)."""
    if not os.path.exists(os.path.join(config.run_dir, CONFIG_FILE)):
        return None
    return config_lib.resume_changes(read_config(config.run_dir), config)


def write_config(config: config_lib.RunConfig):
    """config.json, written once when a run starts (atomically: tmp + fsync + rename)."""
    os.makedirs(config.run_dir, exist_ok=True)
    config_lib.write_json_atomic(os.path.join(config.run_dir, CONFIG_FILE), config.to_json())


def append_invocation(config: config_lib.RunConfig, changes: Optional[dict], start: int):
    """One line of <run_dir>/invocations.jsonl for this `train` invocation."""
    from tfgan_suite import machine

    record = dict(time=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                  argv=sys.argv, host=socket.gethostname(), pid=os.getpid(),
                  changed={k: list(v) for k, v in (changes or {}).items()},
                  start_iteration=start, deterministic=config.deterministic,
                  machine=machine.describe())
    if changes is None:   # the first invocation also keeps a copy to recover config.json from
        record["config"] = config.to_json()
    line = json.dumps(record, sort_keys=True, default=str) + "\n"
    with open(os.path.join(config.run_dir, INVOCATIONS_FILE), "a", encoding="utf-8") as fh:
        fh.write(line)
        fh.flush()
        os.fsync(fh.fileno())


def append_training_time(run_dir: str, start: int, end: int, seconds: float):
    """One line of <run_dir>/training_time.jsonl: iterations start -> end took `seconds` of
    wall time in fit() (start-up and tracing included), on this machine."""
    from tfgan_suite import machine

    record = dict(time=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                  start_iteration=start, end_iteration=end, seconds=round(seconds, 2),
                  machine=machine.one_line(), cores=len(os.sched_getaffinity(0)))
    with open(os.path.join(run_dir, TRAINING_TIME_FILE), "a", encoding="utf-8") as fh:
        fh.write(json.dumps(record, sort_keys=True) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def read_jsonl(path: str) -> list:
    """The records of a JSON-lines file ([] when it does not exist)."""
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def read_invocations(run_dir: str) -> list:
    return read_jsonl(os.path.join(run_dir, INVOCATIONS_FILE))


# --------------------------------------------------------------------------- training lock

class RunLock:
    """Exclusive use of a run directory by one `train` process.

    The lock file holds {pid, host, started}; it is created complete (written under a private
    name, then hard-linked, which fails if a lock exists). A lock left by a dead process on
    this host is stale and taken over with a message; any other holder refuses the second
    writer with one line naming it. Used as a context manager; released on exit and errors."""

    def __init__(self, run_dir: str):
        self.run_dir = run_dir
        self.path = os.path.join(run_dir, LOCK_FILE)
        self.record = dict(pid=os.getpid(), host=socket.gethostname(),
                           started=datetime.datetime.now(datetime.timezone.utc)
                           .isoformat(timespec="seconds"))

    def _holder(self) -> Optional[dict]:
        try:
            with open(self.path, encoding="utf-8") as fh:
                return json.load(fh)
        except FileNotFoundError:
            return None
        except (ValueError, OSError):
            return {}   # unreadable: treated as held by an unknown process

    def acquire(self):
        os.makedirs(self.run_dir, exist_ok=True)
        private = f"{self.path}.{self.record['host']}.{self.record['pid']}"
        with open(private, "w", encoding="utf-8") as fh:
            json.dump(self.record, fh)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            for _ in range(3):
                try:
                    self._create(private)
                    return self
                except FileExistsError:
                    pass
                holder = self._holder()
                if holder is None:
                    continue   # released in between: try again
                if holder.get("host") == self.record["host"] and \
                        isinstance(holder.get("pid"), int) and not cleanup.process_alive(holder["pid"]):
                    print(f"note: taking over the stale lock of {self.run_dir} (process "
                          f"{holder['pid']} on {holder['host']}, started {holder.get('started')}, "
                          f"is gone)")
                    try:   # rename first: of two processes taking over, only one succeeds
                        os.rename(self.path, f"{self.path}.stale-{self.record['pid']}")
                        os.remove(f"{self.path}.stale-{self.record['pid']}")
                    except FileNotFoundError:
                        pass
                    continue
                who = (f"process {holder.get('pid')} on {holder.get('host')} since "
                       f"{holder.get('started')}" if holder else f"an unreadable {self.path}")
                raise UserError(f"{self.run_dir} is in use by another training ({who}); wait for "
                                f"it to finish, or pass another --run_dir (remove {self.path} "
                                f"only if that process is gone)")
            raise UserError(f"could not lock {self.run_dir}: {self.path} keeps changing")
        finally:
            os.remove(private)

    def _create(self, private):
        """Make the lock file, complete, or raise FileExistsError."""
        try:
            os.link(private, self.path)
        except OSError as e:
            if e.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
                raise
            # No hard links on this file system: exclusive create, then write.
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(self.record, fh)

    def release(self):
        if self._holder() == self.record:
            os.remove(self.path)

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()
        return False


# --------------------------------------------------------------------------- checkpoints

def checkpoint_manager(model, run_dir: str, keep: int = 3):
    import tensorflow as tf

    checkpoint = tf.train.Checkpoint(**model.trackables())
    return tf.train.CheckpointManager(checkpoint, os.path.join(run_dir, "checkpoints"),
                                      max_to_keep=keep)


def build_optimizer_slots(model):
    """Create optimiser slots now so a restore fills them instead of deferring."""
    for optimizer, variables in model.optimizer_variables():
        optimizer.build(variables)


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}"


def restore_latest(model, manager, require=False, expect_partial=False, repair=False):
    """Restore the newest readable checkpoint into `model`; returns its path or None.

    Walks back through the kept checkpoints (newest first), printing each one skipped and
    why. With `repair` (training), skipped checkpoints are renamed *.unreadable and the
    index file points at the restored one; the caller then makes a new manager (it reads the
    index when made), so the run saves those iterations afresh."""
    kept = list(reversed(manager.checkpoints))
    if not kept:
        if require:
            raise UserError(f"no checkpoint in {manager.directory}: train first (the run writes "
                            f"one every --checkpoint_every iterations and at the end).")
        return None
    build_optimizer_slots(model)
    skipped = []
    for path in kept:
        try:
            status = manager.checkpoint.restore(path)
            if expect_partial:
                status.expect_partial()
            else:
                status.assert_existing_objects_matched()
        except Exception as e:   # noqa: BLE001 - any failure to read means: try an older one
            print(f"warning: skipped checkpoint {path}: {_first_line(e)}", file=sys.stderr)
            skipped.append(path)
            continue
        if skipped and repair:
            _set_aside(manager, skipped, path)
        return path
    raise UserError(f"no readable checkpoint in {manager.directory} (tried "
                    f"{', '.join(os.path.basename(p) for p in kept)}); restore the folder from a "
                    f"backup or start a new --run_dir")


def _set_aside(manager, skipped, restored):
    """Rename the unreadable checkpoints' files and make `restored` the index's latest."""
    import tensorflow as tf

    for path in skipped:
        for name in glob.glob(path + ".*"):
            os.replace(name, name + ".unreadable")
        print(f"note: renamed the files of {os.path.basename(path)} to *.unreadable; training "
              f"resumes from {os.path.basename(restored)}", file=sys.stderr)
    remaining = [p for p in manager.checkpoints if p not in skipped]
    tf.compat.v1.train.update_checkpoint_state(manager.directory, restored,
                                               all_model_checkpoint_paths=remaining)


def load_trained_model(run_dir: str):
    """(model, config, info) rebuilt from a run directory's config and newest readable
    checkpoint (read only: takes no lock, repairs nothing)."""
    from tfgan_suite import data
    from tfgan_suite.models import build_model

    config = read_config(run_dir)
    info = data.describe(config.dataset, **config.dataset_options)
    model = build_model(config, info)
    manager = checkpoint_manager(model, run_dir, config.keep_checkpoints)
    restore_latest(model, manager, require=True, expect_partial=True)
    return model, config, info
