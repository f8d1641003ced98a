"""Remove the temporaries that a killed process leaves behind, and nothing a live one owns.

Every artefact here is written under a temporary name and renamed when complete, so a kill
never exposes a partial artefact under its final name; what it does leave is the temporary:
  <export_dir>/<name>/.tmp-<version>-<pid>/   an export being written (export.py)
  <export_dir>/<name>/.old-<version>-<pid>/   the version an overwriting export replaces
  <folder>/<file>.tmp-<pid>[-<random>]        an atomic file write (config.json, cache keys,
                                              the CelebA image cache)
  <run_dir>/checkpoints/ckpt-N_temp/          TensorFlow's shards of a checkpoint being saved
  <run_dir>/checkpoints/checkpoint.tmp<hex>   TensorFlow's atomic rewrite of the index file
  <run_dir>/checkpoints/ckpt-N.*              files of a save newer than the index names (the
                                              merge ran, the index update did not)

Temporaries named with a pid are removed only when no process with that pid runs on this
host (os.kill(pid, 0)); a pid reused by an unrelated process keeps the leftover, which is the
safe mistake. Checkpoint temporaries carry no pid: call `remove_interrupted_checkpoint_saves`
only while holding the run directory's lock, when no process can be saving there.
Each removal prints one line.
"""

from __future__ import annotations

import os
import re
import shutil
from typing import Callable, Optional

EXPORT_TEMP = re.compile(r"^\.(tmp|old)-(\d+)-(\d+)$")          # kind, version, pid
ATOMIC_TEMP = re.compile(r"^(.+)\.tmp-(\d+)(?:-[A-Za-z0-9_]+)?$")  # final name, pid
CHECKPOINT_INDEX = "checkpoint"
CHECKPOINT_NUMBER = re.compile(r"^(.+)-(\d+)\.(index|data-\d+-of-\d+)$")


def process_alive(pid: int) -> bool:
    """True when a process with this pid exists on this host (or cannot be probed)."""
    if pid <= 0:
        return True  # not a pid we wrote: never treat as dead
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


def _remove(path: str, why: str, report: Callable[[str], None]) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    else:
        try:
            os.unlink(path)
        except FileNotFoundError:
            return
    report(f"removed {path} ({why})")


def _entries(folder: str) -> list:
    try:
        return sorted(os.listdir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return []


def remove_stale_exports(model_dir: str, report: Callable[[str], None] = print) -> list:
    """In <export_dir>/<name>/: remove `.tmp-<version>-<pid>` folders of dead processes.

    A dead export's `.old-<version>-<pid>` folder holds the complete version it was replacing:
    it is moved back when its version directory is missing (the kill fell between the two
    renames), else removed. Returns the paths removed or restored."""
    touched = []
    for name in _entries(model_dir):
        match = EXPORT_TEMP.match(name)
        if not match or process_alive(int(match.group(3))):
            continue
        path = os.path.join(model_dir, name)
        kind, version, pid = match.groups()
        target = os.path.join(model_dir, version)
        if kind == "old" and not os.path.exists(target):
            os.replace(path, target)
            report(f"restored {target} from {path} (export process {pid} died while replacing it)")
        else:
            what = "unfinished export" if kind == "tmp" else "replaced export"
            _remove(path, f"{what} of process {pid}, which is gone", report)
        touched.append(path)
    return touched


def remove_stale_atomic_temps(folder: str, report: Callable[[str], None] = print) -> list:
    """In `folder`: remove `<name>.tmp-<pid>[-<random>]` files of dead processes (atomic
    writes that never reached their rename). Returns the paths removed."""
    removed = []
    for name in _entries(folder):
        match = ATOMIC_TEMP.match(name)
        path = os.path.join(folder, name)
        if match and os.path.isfile(path) and not process_alive(int(match.group(2))):
            _remove(path, f"unfinished write of {match.group(1).lstrip('.')} by process "
                          f"{match.group(2)}, which is gone", report)
            removed.append(path)
    return removed


def _checkpoint_numbers(index_path: str) -> Optional[set]:
    """Numbers of the checkpoints the `checkpoint` index names, or None without an index."""
    try:
        with open(index_path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError:
        return None
    paths = re.findall(r'^\s*\w*model_checkpoint_paths?:\s*"(.*)"\s*$', text, re.MULTILINE)
    return {int(m.group(1)) for m in (re.search(r"-(\d+)$", p) for p in paths) if m}


def remove_interrupted_checkpoint_saves(checkpoint_dir: str,
                                        report: Callable[[str], None] = print) -> list:
    """In a tf.train.CheckpointManager directory that no process is writing (hold the run's
    lock): remove `*_temp` shard folders, `checkpoint.tmp*` index rewrites, and the files of
    saves numbered above the newest one the index names. Returns the paths removed."""
    removed = []
    names = _entries(checkpoint_dir)
    known = _checkpoint_numbers(os.path.join(checkpoint_dir, CHECKPOINT_INDEX))
    newest = max(known) if known else None
    for name in names:
        path = os.path.join(checkpoint_dir, name)
        number = CHECKPOINT_NUMBER.match(name)
        if re.match(r"^.+_temp($|[/.])", name):
            why = "shards of an interrupted checkpoint save"
        elif name.startswith(CHECKPOINT_INDEX + ".tmp"):
            why = "interrupted rewrite of the checkpoint index"
        elif number and newest is not None and int(number.group(2)) > newest:
            why = f"a checkpoint save the index never recorded (newest recorded: {newest})"
        else:
            continue
        _remove(path, why, report)
        removed.append(path)
    return removed
