"""Run-directory safety: one training at a time (lock), the invocation history, falling back
to an older checkpoint when the newest is damaged, and folder problems found before any data
is read. Trainings are a few iterations of the small cwgan on mnist5k."""

import glob
import json
import os
import socket
import subprocess
import sys
import time
import types

import pytest
from absl import flags

from tfgan_suite import config as config_lib, runs
from tfgan_suite.errors import UserError
from tfgan_suite.train import train

config_lib.define_flags()
FLAGS = flags.FLAGS
FAST = ["--dataset=mnist5k", "--n_critic=1", "--batch_size=2", "--steps_per_execution=1",
        "--log_every=1", "--sample_every=100", "--checkpoint_every=1", "--grid_rows=2",
        "--export=false"]


def resolve(*args):
    FLAGS.unparse_flags()
    FLAGS(["train", *args])
    return config_lib.resolve(FLAGS)


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def write_lock(run_dir, pid, host=None):
    os.makedirs(run_dir, exist_ok=True)
    with open(os.path.join(run_dir, runs.LOCK_FILE), "w") as fh:
        json.dump(dict(pid=pid, host=host or socket.gethostname(), started="earlier"), fh)


def test_allowed_changes_are_accepted_and_each_invocation_is_recorded(tmp_path, capsys):
    run = str(tmp_path / "run")
    train(resolve(*FAST, "--steps=1", f"--run_dir={run}"))
    first_config = (tmp_path / "run" / "config.json").read_text()
    result = train(resolve(*FAST, "--steps=2", "--log_every=2", "--keep_checkpoints=2",
                           f"--run_dir={run}"))
    assert result["steps"] == 2
    assert "resuming with changed settings: keep_checkpoints 3 -> 2, log_every 1 -> 2, steps 1 " \
           "-> 2" in capsys.readouterr().out
    assert (tmp_path / "run" / "config.json").read_text() == first_config   # written once
    first, second = runs.read_invocations(run)
    assert first["start_iteration"] == 0 and first["changed"] == {}
    assert config_lib.from_json(first["config"]) == runs.read_config(run)   # a recovery copy
    assert second["start_iteration"] == 1 and "config" not in second
    assert second["changed"] == {"steps": [1, 2], "log_every": [1, 2], "keep_checkpoints": [3, 2]}
    for record in (first, second):
        assert record["pid"] == os.getpid() and record["host"] == socket.gethostname()
        assert record["argv"] and record["time"] and record["deterministic"] is False
        assert {"cpu", "onednn", "tensorflow"} <= set(record["machine"]), record["machine"]
    assert not os.path.exists(os.path.join(run, runs.LOCK_FILE))   # released


def test_resume_with_another_num_components_is_refused_before_loading(tmp_path):
    args = ["--model=slogan", "--dataset=gaussians8", "--batch_size=4", "--steps=1",
            "--export=false", f"--run_dir={tmp_path}/run"]
    runs.write_config(resolve(*args))
    with pytest.raises(UserError, match="num_components: 8 -> 3"):
        train(resolve(*args, "--num_components=3"))


def test_deterministic_is_recorded(tmp_path):
    from tensorflow.python.framework import config as tf_config
    try:
        train(resolve(*FAST, "--steps=1", "--deterministic", f"--run_dir={tmp_path}/run"))
        assert tf_config.is_op_determinism_enabled()
    finally:
        tf_config.disable_op_determinism()
    assert runs.read_invocations(str(tmp_path / "run"))[0]["deterministic"] is True


def test_a_live_holder_refuses_a_second_writer_and_keeps_its_lock(tmp_path):
    run = str(tmp_path / "run")
    write_lock(run, os.getppid())
    with pytest.raises(UserError, match=f"in use by another training \\(process {os.getppid()} on "):
        train(resolve(*FAST, "--steps=1", f"--run_dir={run}"))
    assert json.load(open(os.path.join(run, runs.LOCK_FILE)))["pid"] == os.getppid()
    assert not os.path.exists(os.path.join(run, "config.json"))


def test_a_stale_lock_of_a_dead_process_is_taken_over(tmp_path, capsys):
    run = str(tmp_path / "run")
    pid = dead_pid()
    write_lock(run, pid)
    assert train(resolve(*FAST, "--steps=1", f"--run_dir={run}"))["steps"] == 1
    assert f"taking over the stale lock of {run} (process {pid}" in capsys.readouterr().out
    assert not os.path.exists(os.path.join(run, runs.LOCK_FILE))


def test_a_lock_from_another_host_is_not_taken_over(tmp_path):
    run = str(tmp_path / "run")
    write_lock(run, dead_pid(), host="another-host")
    with pytest.raises(UserError, match="on another-host"):
        runs.RunLock(run).acquire()


def test_two_concurrent_trainings_second_refused_first_unharmed(tmp_path):
    run = tmp_path / "run"
    command = [sys.executable, "-m", "tfgan_suite.train", *FAST, f"--run_dir={run}",
               "--checkpoint_every=10"]
    first = subprocess.Popen([*command, "--steps=60"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 120
        while time.time() < deadline and not (run / runs.LOCK_FILE).exists():
            assert first.poll() is None, first.communicate()
            time.sleep(0.1)
        second = subprocess.run([*command, "--steps=60"], capture_output=True, text=True)
        assert first.poll() is None, "the first training ended before the second started"
        assert second.returncode == 2, second.stderr[-2000:]
        assert f"in use by another training (process {first.pid} on" in second.stderr
        assert "Traceback" not in second.stderr
        out, err = first.communicate(timeout=300)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == 0, err[-2000:]
    model, _, _ = runs.load_trained_model(str(run))
    assert int(model.step.numpy()) == 60
    assert len(runs.read_invocations(str(run))) == 1
    assert not (run / runs.LOCK_FILE).exists()


def test_a_truncated_latest_checkpoint_falls_back_to_the_previous_one(tmp_path, capsys):
    run = str(tmp_path / "run")
    train(resolve(*FAST, "--steps=2", f"--run_dir={run}"))
    (data_file,) = glob.glob(os.path.join(run, "checkpoints", "ckpt-2.data-*"))
    with open(data_file, "r+b") as fh:
        fh.truncate(os.path.getsize(data_file) // 2)
    model, _, _ = runs.load_trained_model(run)   # read only: falls back, renames nothing
    assert int(model.step.numpy()) == 1
    assert "skipped checkpoint" in capsys.readouterr().err and os.path.exists(data_file)

    assert train(resolve(*FAST, "--steps=3", f"--run_dir={run}"))["steps"] == 3
    err = capsys.readouterr().err
    assert f"skipped checkpoint {os.path.join(run, 'checkpoints', 'ckpt-2')}" in err
    assert os.path.exists(data_file + ".unreadable")
    model, _, _ = runs.load_trained_model(run)
    assert int(model.step.numpy()) == 3
    assert runs.read_invocations(run)[-1]["start_iteration"] == 1
    assert "skipped" not in capsys.readouterr().err   # ckpt-2 and ckpt-3 were written afresh


def test_no_readable_checkpoint_is_one_clear_error(tmp_path):
    run = str(tmp_path / "run")
    train(resolve(*FAST, "--steps=1", f"--run_dir={run}"))
    for data_file in glob.glob(os.path.join(run, "checkpoints", "ckpt-*.data-*")):
        open(data_file, "w").close()
    with pytest.raises(UserError, match="no readable checkpoint .*tried ckpt-1"):
        runs.load_trained_model(run)


def test_corrupt_config_json_refuses_training(tmp_path):
    run = tmp_path / "run"
    train(resolve(*FAST, "--steps=1", f"--run_dir={run}"))
    (run / "config.json").write_text('{"model": "cwg')
    with pytest.raises(UserError, match="config.json is corrupt"):
        train(resolve(*FAST, "--steps=2", f"--run_dir={run}"))


@pytest.mark.parametrize("flag", ["run_dir", "export_dir"])
def test_a_file_in_the_way_is_refused_before_loading(tmp_path, flag, monkeypatch):
    (tmp_path / "file").write_text("")
    paths = {"run_dir": str(tmp_path / "run"), "export_dir": str(tmp_path / "exports"),
             flag: str(tmp_path / "file" / "sub")}
    monkeypatch.setattr("tfgan_suite.data.load_dataset", pytest.fail)
    with pytest.raises(UserError, match=f"^--{flag}=.* is a file, not a folder"):
        train(resolve(*FAST, "--steps=1", "--export=true", f"--run_dir={paths['run_dir']}",
                      f"--export_dir={paths['export_dir']}"))


def test_an_unwritable_run_dir_is_refused(tmp_path):
    with pytest.raises(UserError, match="^--run_dir=/proc/tfgan_run: cannot write in /proc"):
        train(resolve(*FAST, "--steps=1", "--run_dir=/proc/tfgan_run"))


def test_a_full_disk_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(runs.shutil, "disk_usage", lambda path: types.SimpleNamespace(free=1024))
    with pytest.raises(UserError, match="^--run_dir=.*only 0 MiB free"):
        train(resolve(*FAST, "--steps=1", f"--run_dir={tmp_path}/run"))


def test_cli_refusal_exits_2_with_one_line(tmp_path):
    out = subprocess.run([sys.executable, "-m", "tfgan_suite.train", "--epochs=nan",
                          f"--run_dir={tmp_path}/run"], capture_output=True, text=True)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines()[-1].startswith("error: --epochs must be positive and finite")
    assert "Traceback" not in out.stderr
