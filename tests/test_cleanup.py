"""Stale temporaries of killed processes are removed; those of live processes are kept."""

import os
import subprocess
import sys

import pytest

from tfgan_suite import cleanup


@pytest.fixture(scope="module")
def dead_pid():
    """The pid of a process that has exited (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert not cleanup.process_alive(child.pid)
    return child.pid


def _folder(path):
    os.makedirs(path)
    with open(os.path.join(path, "saved_model.pb"), "w") as f:
        f.write("partial")
    return path


def test_exports_of_dead_processes_only(tmp_path, dead_pid):
    live = os.getpid()
    base = str(tmp_path)
    dead_tmp = _folder(os.path.join(base, f".tmp-7-{dead_pid}"))
    live_tmp = _folder(os.path.join(base, f".tmp-7-{live}"))
    complete = _folder(os.path.join(base, "5"))
    dead_old_replaced = _folder(os.path.join(base, f".old-5-{dead_pid}"))
    dead_old_orphan = _folder(os.path.join(base, f".old-3-{dead_pid}"))  # killed between renames
    lines = []
    touched = cleanup.remove_stale_exports(base, lines.append)
    assert sorted(touched) == sorted([dead_tmp, dead_old_replaced, dead_old_orphan])
    assert sorted(os.listdir(base)) == sorted(["3", "5", f".tmp-7-{live}"])
    assert os.path.isdir(live_tmp) and os.path.isdir(complete)
    assert os.path.isfile(os.path.join(base, "3", "saved_model.pb"))  # restored, not lost
    assert len(lines) == 3 and all(str(dead_pid) in line for line in lines)
    assert cleanup.remove_stale_exports(base, lines.append) == []  # nothing left to do


def test_atomic_write_temps_of_dead_processes_only(tmp_path, dead_pid):
    names = {f"config.json.tmp-{dead_pid}": True, f"config.json.tmp-{os.getpid()}": False,
             f".celeba_p01_64px-ab12.npy.tmp-{dead_pid}-x_9k": True, "config.json": False,
             f"x.npy.key.json.tmp-{dead_pid}": True, "notes.tmp-abc": False}
    for name in names:
        (tmp_path / name).write_text("x")
    lines = []
    removed = cleanup.remove_stale_atomic_temps(str(tmp_path), lines.append)
    assert sorted(os.path.basename(p) for p in removed) == sorted(n for n, d in names.items() if d)
    assert sorted(os.listdir(tmp_path)) == sorted(n for n, d in names.items() if not d)
    assert len(lines) == 3


def test_interrupted_checkpoint_saves(tmp_path):
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    kept = ["ckpt-1.index", "ckpt-1.data-00000-of-00001", "ckpt-2.index",
            "ckpt-2.data-00000-of-00001"]
    for name in kept + ["ckpt-3.data-00000-of-00001", "checkpoint.tmp0123abcd"]:
        (folder / name).write_text("x")
    (folder / "checkpoint").write_text('model_checkpoint_path: "ckpt-2"\n'
                                       'all_model_checkpoint_paths: "ckpt-1"\n'
                                       'all_model_checkpoint_paths: "ckpt-2"\n')
    kept.append("checkpoint")
    (folder / "ckpt-3_temp").mkdir()
    (folder / "ckpt-3_temp" / "part-00000-of-00001.index").write_text("x")
    lines = []
    removed = cleanup.remove_interrupted_checkpoint_saves(str(folder), lines.append)
    assert len(removed) == 3 and len(lines) == 3
    assert sorted(os.listdir(folder)) == sorted(kept)


def test_real_checkpoint_directory_is_left_loadable(tmp_path):
    import tensorflow as tf
    variable = tf.Variable(3.0)
    manager = tf.train.CheckpointManager(tf.train.Checkpoint(v=variable), str(tmp_path), 2)
    manager.save()
    variable.assign(5.0)
    manager.save()
    before = sorted(os.listdir(tmp_path))
    os.makedirs(tmp_path / "ckpt-3_temp")  # a save killed before its merge
    assert len(cleanup.remove_interrupted_checkpoint_saves(str(tmp_path), lambda _: None)) == 1
    assert sorted(os.listdir(tmp_path)) == before
    variable.assign(0.0)
    tf.train.Checkpoint(v=variable).restore(manager.latest_checkpoint)
    assert variable.numpy() == 5.0
