"""tfgan_suite.reproduce: options checked before any work, a tiny run trained, evaluated at each
checkpoint and resumed, the report's numbers from known records, and the HParams summary."""

import glob
import json
import os

import numpy as np
import pytest
import tensorflow as tf
from absl import flags

from tfgan_suite import config as config_lib, hparams, reproduce, reproduction_report, runs
from tfgan_suite.errors import UserError
from tfgan_suite.experiments import EXPERIMENTS
from tfgan_suite.train import train

FLAGS = flags.FLAGS


def options(**overrides):
    f = dict(experiment="gaussians8", variants=None, seeds=["0"], steps=None, budget_minutes=None,
             data_dir=None, runs_dir="runs", report_dir=None, eval_every=None, num_samples=None,
             samples_per_class=None, metrics=None, classifier=None, classifier_steps=2000, fid_weights=None, steps_per_execution=None,
             stage="all")
    f.update(overrides)
    return reproduce.options_from_flags(type("Flags", (), f)())


@pytest.mark.parametrize("overrides,message", [
    (dict(experiment=None), "--experiment is required"),
    (dict(variants=["slogan", "wide"]), "wide not a variant of gaussians8"),
    (dict(seeds=["a"]), "--seeds must be integers"),
    (dict(steps=0), "--steps must be positive"),
    (dict(metrics=["fid"]), "fid not among gaussians8's metrics"),
    (dict(budget_minutes=-1.0), "--budget_minutes must be positive"),
    (dict(experiment="mnist2"), "needs --data_dir"),
    (dict(experiment="mnist2", data_dir="/nonexistent"), "is not a directory"),
    (dict(experiment="cwgan_mnist", data_dir=".", classifier="/nonexistent.keras"),
     "does not exist"),
])
def test_bad_options_are_refused_before_any_work(overrides, message):
    with pytest.raises(UserError, match=message):
        options(**overrides)


def test_train_command_keeps_every_checkpoint_and_stops_where_asked(tmp_path):
    opts = options(runs_dir=str(tmp_path), steps=2000, eval_every=500, variants=["uniform_pi"])
    command = reproduce.train_command(opts, "uniform_pi", 0)
    assert "--nolearn_pi" in command and "--stop_at=2000" in command
    assert "--checkpoint_every=500" in command and "--keep_checkpoints=2002" in command
    assert f"--run_dir={tmp_path}/gaussians8/uniform_pi/seed0" in command
    assert reproduce.invocation(opts) == ("python -m tfgan_suite.reproduce --experiment=gaussians8 "
                                          "--variants=uniform_pi --steps=2000 --eval_every=500")


def test_tiny_run_is_evaluated_per_checkpoint_resumed_and_reported(tmp_path):
    common = dict(runs_dir=str(tmp_path / "runs"), report_dir=str(tmp_path / "report"),
                  variants=["slogan"], eval_every=1, num_samples=300)
    first = options(steps=2, **common)
    reproduce.log_invocation(first)
    report = reproduce.reproduce(first)
    run_dir = tmp_path / "runs" / "gaussians8" / "slogan" / "seed0"
    records = runs.read_jsonl(str(run_dir / "metrics.jsonl"))
    assert [r["step"] for r in records] == [1, 2]
    assert {"pi_matched_l1", "high_quality", "std_ratio_mean", "nmi"} <= set(records[0]["metrics"])
    # The same command with a later --steps trains on and evaluates only the new checkpoint.
    reproduce.reproduce(options(steps=3, **common))
    assert [r["step"] for r in runs.read_jsonl(str(run_dir / "metrics.jsonl"))] == [1, 2, 3]
    timing = runs.read_jsonl(str(run_dir / runs.TRAINING_TIME_FILE))
    assert [(t["start_iteration"], t["end_iteration"]) for t in timing] == [(0, 2), (2, 3)]
    text = open(report, encoding="utf-8").read()
    assert ("1. `python -m tfgan_suite.reproduce --experiment=gaussians8 --variants=slogan "
            "--steps=2 --eval_every=1 --num_samples=300`") in text
    assert "| pi error (L1, matched) |" in text and "/work" not in text.replace(str(tmp_path), "")
    assert os.path.getsize(tmp_path / "report" / "curves.png") > 10_000
    assert "gaussians8,slogan,0,3,nmi," in open(tmp_path / "report" / "metrics.csv").read()


def test_cwgan_class_control_with_a_classifier_trained_on_the_fly(tmp_path):
    from tests import fixtures
    fixtures.write_mnist_idx(str(tmp_path / "mnist"), n_train=400, n_test=30)
    opts = options(experiment="cwgan_mnist", data_dir=str(tmp_path / "mnist"), steps=1,
                   eval_every=1, samples_per_class=20, num_samples=60, classifier_steps=3,
                   runs_dir=str(tmp_path / "runs"), report_dir=str(tmp_path / "report"))
    text = open(reproduce.reproduce(opts), encoding="utf-8").read()
    record = runs.read_jsonl(str(tmp_path / "runs" / "cwgan_mnist" / "paper" / "seed0" /
                                 "metrics.jsonl"))[0]
    assert record["step"] == 1 and 0.0 <= record["metrics"]["attribute_accuracy"] <= 1.0
    assert "frechet_classifier_distance" in record["metrics"]
    assert "domain classifier `mnist.keras`: trained 3 steps on the mnist train split" in text
    assert "had not reached 0.9 by iteration 1" in text


def write_run(root, variant, seed, points, iterations_seconds=(1000, 50.0)):
    run_dir = root / "cwgan_mnist" / variant / f"seed{seed}"
    os.makedirs(run_dir)
    with open(run_dir / "metrics.jsonl", "w") as fh:
        for step, value in points:
            fh.write(json.dumps(dict(step=step, source={"checkpoint": f"ckpt-{step}"},
                                     requested=["attribute_accuracy", "classifier_fd"],
                                     settings={"split": "test", "num_samples": 10},
                                     metrics={"attribute_accuracy": value,
                                              "frechet_classifier_distance": 1 - value})) + "\n")
    with open(run_dir / runs.TRAINING_TIME_FILE, "w") as fh:
        fh.write(json.dumps(dict(start_iteration=0, end_iteration=iterations_seconds[0],
                                 seconds=iterations_seconds[1], machine="test CPU", cores=2)))


def test_report_numbers_from_known_records(tmp_path):
    write_run(tmp_path, "paper", 0, [(500, 0.5), (1000, 0.92)])
    write_run(tmp_path, "paper", 1, [(500, 0.4), (1000, 0.8)], (1000, 70.0))
    opts = options(experiment="cwgan_mnist", seeds=["0", "1"], runs_dir=str(tmp_path),
                   report_dir=str(tmp_path / "report"), stage="report")
    text = open(reproduction_report.write(opts), encoding="utf-8").read()
    mean, sd = np.mean([0.92, 0.8]), np.std([0.92, 0.8], ddof=1)
    assert f"| {mean:.4g} +- {sd:.2g} (0.92, 0.8) |" in text
    assert "seed 0: class control (classifier accuracy on G(z, y)) first reached 0.9 at " \
           "iteration 1000." in text
    assert "seed 1: class control (classifier accuracy on G(z, y)) had not reached 0.9 by " \
           "iteration 1000 (last value 0.8)." in text
    assert "| paper | 0 | 1000 | 2 | 50 | test CPU (2) |" in text
    assert "| paper | 1 | 1000 | 2 | 70 | test CPU (2) |" in text


def test_report_without_evaluations_says_what_to_run(tmp_path):
    with pytest.raises(UserError, match="run the train and evaluate stages first"):
        reproduction_report.write(options(runs_dir=str(tmp_path), stage="report",
                                          report_dir=str(tmp_path / "r")))


def test_hparams_summary_holds_the_experiment_settings(tmp_path):
    FLAGS.unparse_flags()
    FLAGS(["train", "--model=slogan", "--dataset=gaussians8", f"--run_dir={tmp_path}/run",
           "--steps=1", "--batch_size=16", "--export=false", "--grid_rows=2"])
    config = config_lib.resolve(FLAGS)
    train(config)
    values = hparams.hparam_values(config)
    assert values["model"] == "slogan" and values["u2c_weight"] == 4.0
    assert values["learn_pi"] is True and values["dataset_options"] == "{}"
    assert not {"run_dir", "data_dir", "log_every", "steps_per_execution"} & set(values)
    tags = [v.tag for path in glob.glob(f"{tmp_path}/run/tensorboard/events.*")
            for event in tf.compat.v1.train.summary_iterator(path) for v in event.summary.value]
    assert tags.count("_hparams_/session_start_info") == 1


def test_every_experiment_names_registered_metrics_and_variants():
    from tfgan_suite.evaluate import METRICS   # importing evaluate registers every metric
    for exp in EXPERIMENTS.values():
        assert set(exp.metrics) <= set(METRICS), exp.name
        assert set(exp.default_variants) <= set(exp.variants)
        assert exp.train_flags[0].startswith("--model=") and exp.train_flags[1].startswith(
            "--dataset=")
