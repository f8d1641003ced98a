"""The typed run configuration: defaults, validation (one line naming the flag), what a
config.json records and how a resume is checked against it, and a TensorFlow-free --help.
Nothing here trains: every refusal happens before data loading."""

import dataclasses
import json
import os
import subprocess
import sys
import textwrap

import pytest
from absl import flags

from tfgan_suite import config as config_lib, runs
from tfgan_suite.errors import UserError

config_lib.define_flags()
FLAGS = flags.FLAGS
ROOT = os.path.join(os.path.dirname(__file__), "..")


def resolve(*args):
    FLAGS.unparse_flags()
    FLAGS(["train", *args])
    return config_lib.resolve(FLAGS)


def test_tf_free_name_lists_match_the_modules_that_use_them():
    from tfgan_suite import augment, data, probe
    assert config_lib.DATASET_NAMES == data.DATASET_NAMES
    assert config_lib.DIFFAUGMENT_NAMES == tuple(augment.AUGMENTATIONS)
    assert config_lib.PROBE_MIXUP_ITERATIONS == probe.MIXUP_ITERATIONS


def test_each_model_records_only_its_own_settings(tmp_path):
    cwgan = resolve("--dataset=mnist5k", f"--run_dir={tmp_path}/a")
    slogan = resolve("--model=slogan", "--dataset=mnist2", f"--run_dir={tmp_path}/b")
    assert isinstance(cwgan, config_lib.CWGANConfig) and cwgan.z_mean == -1.0
    assert (cwgan.n_critic, cwgan.learning_rate, cwgan.beta1, cwgan.beta2, cwgan.epochs) == \
        (5, 1e-4, 0.0, 0.9, 100.0)
    assert isinstance(slogan, config_lib.SLOGANConfig)
    assert not hasattr(slogan, "z_mean") and not hasattr(slogan, "n_critic")
    assert not hasattr(cwgan, "num_components") and not hasattr(cwgan, "probe_weight")
    assert config_lib.gaussian_z_mean(cwgan) == -1.0 and config_lib.gaussian_z_mean(slogan) is None
    assert resolve("--loss=gan").learning_rate == 2e-4
    with pytest.raises(dataclasses.FrozenInstanceError):
        cwgan.seed = 3


@pytest.mark.parametrize("args", [["--dataset=mnist5k"], ["--model=slogan", "--dataset=mnist2",
                                                          "--class_ratio=6,4"]])
def test_config_json_loads_back_as_the_same_dataclass(tmp_path, args):
    config = resolve(*args, f"--run_dir={tmp_path}/run")
    runs.write_config(config)
    with open(tmp_path / "run" / "config.json") as fh:
        assert json.load(fh)["model"] == config.model   # plain, readable JSON
    assert runs.read_config(str(tmp_path / "run")) == config


def test_config_json_with_unknown_or_missing_keys_is_refused(tmp_path):
    config = resolve(f"--run_dir={tmp_path}/run")
    runs.write_config(config)
    path = tmp_path / "run" / "config.json"
    recorded = json.loads(path.read_text())
    path.write_text(json.dumps(dict(recorded, num_components=3)))
    with pytest.raises(UserError, match="unknown: num_components"):
        runs.read_config(str(tmp_path / "run"))
    del recorded["z_mean"]
    path.write_text(json.dumps(recorded))
    with pytest.raises(UserError, match="missing: z_mean"):
        runs.read_config(str(tmp_path / "run"))


def test_config_json_without_a_later_setting_loads_with_its_old_behaviour(tmp_path):
    config = resolve(f"--run_dir={tmp_path}/run")
    runs.write_config(config)
    path = tmp_path / "run" / "config.json"
    recorded = json.loads(path.read_text())
    del recorded["aux_classifier_weight"]         # written before the setting existed
    path.write_text(json.dumps(recorded))
    assert runs.read_config(str(tmp_path / "run")).aux_classifier_weight == 0.0


@pytest.mark.parametrize("model", config_lib.MODELS)
def test_runs_written_before_tf_distribute_load_as_single_device(model):
    """icgan and infoscc runs trained before --strategy existed must still evaluate."""
    assert config_lib.ADDED_SETTINGS[model].items() >= config_lib.SINGLE_DEVICE.items()


def test_truncated_config_json_is_refused_with_how_to_recover(tmp_path):
    config = resolve(f"--run_dir={tmp_path}/run")
    runs.write_config(config)
    path = tmp_path / "run" / "config.json"
    path.write_text(path.read_text()[:40])
    with pytest.raises(UserError, match=r"config.json is corrupt .*invocations.jsonl.*--run_dir"):
        runs.read_config(str(tmp_path / "run"))


# Every experiment setting, changed on resume: (base flags, changed flag, key, old, new).
CWGAN_BASE = ("--dataset=mnist5k",)
SLOGAN_BASE = ("--model=slogan", "--dataset=mnist2", "--data_dir=/data/mnist")
EXPERIMENT_CHANGES = [
    (CWGAN_BASE, "--dataset=mnist", "dataset", "mnist5k", "mnist"),
    (CWGAN_BASE, "--data_dir=/elsewhere", "data_dir", None, "/elsewhere"),
    (CWGAN_BASE, "--split=test", "split", "train", "test"),
    (CWGAN_BASE, "--sync_batch_norm", "sync_batch_norm", False, True),
    (CWGAN_BASE, "--batch_size=32", "batch_size", 64, 32),
    (CWGAN_BASE, "--seed=1", "seed", 0, 1),
    (CWGAN_BASE, "--z_dim=64", "z_dim", 100, 64),
    (CWGAN_BASE, "--z_mean=0", "z_mean", -1.0, 0.0),
    (CWGAN_BASE, "--loss=lsgan", "loss", "wgan", "lsgan"),
    (CWGAN_BASE, "--penalty=none", "penalty", "gp", "none"),
    (CWGAN_BASE, "--penalty_weight=5", "penalty_weight", 10.0, 5.0),
    (CWGAN_BASE, "--learning_rate=2e-4", "learning_rate", 1e-4, 2e-4),
    (CWGAN_BASE, "--n_critic=2", "n_critic", 5, 2),
    (CWGAN_BASE, "--beta1=0.5", "beta1", 0.0, 0.5),
    (CWGAN_BASE, "--beta2=0.99", "beta2", 0.9, 0.99),
    (CWGAN_BASE, "--generator_updates=2", "generator_updates", 1, 2),
    (CWGAN_BASE, "--bn_momentum=0.99", "bn_momentum", 0.999, 0.99),
    (CWGAN_BASE, "--relu_output", "relu_output", False, True),
    (CWGAN_BASE, "--batch_stats_at_inference", "batch_stats_at_inference", False, True),
    (CWGAN_BASE, "--original_gp", "original_gp", False, True),
    (CWGAN_BASE, "--diffaugment=color", "diffaugment", "", "color"),
    (CWGAN_BASE, "--width=0.5", "width", 1.0, 0.5),
    (CWGAN_BASE, "--aux_classifier_weight=1", "aux_classifier_weight", 0.0, 1.0),
    (("--dataset=celeba", "--data_dir=/data/celeba"), "--partitions=0,2", "dataset_options", {},
     {"train_partitions": [0, 2]}),
    (SLOGAN_BASE, "--class_ratio=6,4", "dataset_options", {}, {"ratio": [6.0, 4.0]}),
    (SLOGAN_BASE, "--dataset=fmnist5", "dataset", "mnist2", "fmnist5"),
    (SLOGAN_BASE, "--data_dir=/data/other", "data_dir", "/data/mnist", "/data/other"),
    (SLOGAN_BASE, "--split=test", "split", "train", "test"),
    (SLOGAN_BASE, "--batch_size=32", "batch_size", 64, 32),
    (SLOGAN_BASE, "--seed=1", "seed", 0, 1),
    (SLOGAN_BASE, "--z_dim=32", "z_dim", 64, 32),
    (SLOGAN_BASE, "--loss=hinge", "loss", "wgan", "hinge"),
    (SLOGAN_BASE, "--penalty=alp", "penalty", "lp", "alp"),
    (SLOGAN_BASE, "--penalty_weight=5", "penalty_weight", 10.0, 5.0),
    (SLOGAN_BASE, "--learning_rate=2e-4", "learning_rate", 1e-4, 2e-4),
    (SLOGAN_BASE, "--steps=5000", "steps", 100_000, 5000),
    (SLOGAN_BASE, "--num_components=3", "num_components", 2, 3),
    (SLOGAN_BASE, "--feature_dim=32", "feature_dim", 64, 32),
    (SLOGAN_BASE, "--gumbel_temperature=0.1", "tau", 0.01, 0.1),
    (SLOGAN_BASE, "--u2c_weight=1", "u2c_weight", 4.0, 1.0),
    (SLOGAN_BASE, "--feature_scale=2", "feature_scale", 4.0, 2.0),
    (SLOGAN_BASE, "--angular_margin=0.25", "margin", 0.5, 0.25),
    (SLOGAN_BASE, "--prior_learning_rate=1e-3", "prior_learning_rate", 2e-3, 1e-3),
    (SLOGAN_BASE, "--schedule_end=-1", "schedule_end", 0.0, -1.0),
    (SLOGAN_BASE, "--simclr", "simclr", False, True),
    (SLOGAN_BASE, "--sigma_grad_scale=original", "sigma_grad_scale", "paper", "original"),
    (SLOGAN_BASE, "--nolearn_pi", "learn_pi", True, False),
    (SLOGAN_BASE, "--sync_batch_norm", "sync_batch_norm", False, True),
]
# Experiment settings no flag changes (the original code's fixed choices, the model itself)
# or that need probe files (tests/test_probe.py); everything else is covered above.
NOT_FLAG_CHANGEABLE = {"model", "generator_batch_factor", "encoder_weight_decay", "probe_data",
                       "probe_folders", "probe_weight", "probe_mixup", "probe_mixup_iterations",
                       "probe_loss"}


@pytest.mark.parametrize("base,flag,key,old,new", EXPERIMENT_CHANGES,
                         ids=[f"{b[0][2:]}-{k}" for b, _, k, _, _ in EXPERIMENT_CHANGES])
def test_resume_is_refused_for_each_changed_experiment_setting(tmp_path, base, flag, key, old, new):
    runs.write_config(resolve(*base, f"--run_dir={tmp_path}/run"))
    changed = resolve(*base, flag, f"--run_dir={tmp_path}/run")
    with pytest.raises(UserError, match="different settings") as error:
        runs.recorded_changes(changed)
    assert f"{key}: {old!r} -> {new!r}" in str(error.value)
    if key == "steps":
        assert "schedules" in str(error.value)


def test_every_experiment_setting_has_a_refusal_test():
    for cls, allowed in ((config_lib.CWGANConfig, config_lib.CWGAN_RESUMABLE_CHANGES),
                         (config_lib.SLOGANConfig, config_lib.RESUMABLE_CHANGES)):
        fields = {f.name for f in dataclasses.fields(cls)}
        tested = {key for base, _, key, _, _ in EXPERIMENT_CHANGES
                  if (base is SLOGAN_BASE) == (cls is config_lib.SLOGANConfig)}
        assert fields - allowed - NOT_FLAG_CHANGEABLE == tested, cls


def test_allowed_changes_are_reported_and_several_refusals_listed_at_once(tmp_path):
    runs.write_config(resolve("--dataset=mnist5k", "--steps=10", f"--run_dir={tmp_path}/run"))
    allowed = resolve("--dataset=mnist5k", "--steps=20", "--log_every=20", "--deterministic",
                      f"--run_dir={tmp_path}/run")
    assert runs.recorded_changes(allowed) == {"steps": (10, 20), "log_every": (10, 20),
                                              "deterministic": (False, True)}
    with pytest.raises(UserError, match=r"seed: 0 -> 1, z_dim: 100 -> 8\."):
        runs.recorded_changes(resolve("--dataset=mnist5k", "--seed=1", "--z_dim=8",
                                      f"--run_dir={tmp_path}/run"))


@pytest.mark.parametrize("flag,low", [
    ("epochs", "0"), ("z_mean", None), ("penalty_weight", "-1"), ("learning_rate", "0"),
    ("beta1", "1"), ("beta2", "-0.1"), ("bn_momentum", "1.5"), ("gumbel_temperature", "0"),
    ("u2c_weight", "-1"), ("feature_scale", "0"), ("angular_margin", "-0.5"),
    ("prior_learning_rate", "-1e-3"), ("schedule_end", "2"), ("probe_weight", "0"),
    ("aux_classifier_weight", "-1")])
def test_every_float_flag_rejects_nan_inf_and_out_of_range(flag, low):
    for value in ["nan", "inf", "-inf"] + ([low] if low else []):
        with pytest.raises(UserError, match=f"^--{flag} must be (positive and finite|finite|a "
                                            f"finite number [<>])"):
            resolve(f"--{flag}={value}")


def test_learning_rate_nan_blames_learning_rate_for_slogan_too():
    with pytest.raises(UserError, match="^--learning_rate "):
        resolve("--model=slogan", "--dataset=gaussians8", "--learning_rate=nan")


@pytest.mark.parametrize("args,message", [
    (["--model=slogan", "--dataset=gaussians8", "--z_mean=0"], "--z_mean is a cwgan setting"),
    (["--model=slogan", "--dataset=gaussians8", "--epochs=3"], "--epochs is a cwgan setting"),
    (["--model=slogan", "--dataset=gaussians8", "--n_critic=5"], "--n_critic is a cwgan setting"),
    (["--num_components=3"], "--num_components is a slogan setting"),
    (["--steps_per_execution=0"], "--steps_per_execution must be positive"),
])
def test_settings_of_the_other_model_and_bad_integers_are_refused(args, message):
    with pytest.raises(UserError, match=message.replace("-", r"\-")):
        resolve(*args)


def test_cadences_round_up_to_multiples_of_steps_per_execution(capsys):
    config = resolve("--steps_per_execution=10", "--log_every=5", "--sample_every=25",
                     "--checkpoint_every=30")
    assert (config.log_every, config.sample_every, config.checkpoint_every) == (10, 30, 30)
    out = capsys.readouterr().out
    assert "--log_every=5 rounded up to 10" in out and "--sample_every=25 rounded up to 30" in out
    assert "checkpoint_every" not in out


def test_quickstart_cadences_need_no_rounding(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    resolve("--flagfile=flags/quickstart.flags")
    assert "rounded up" not in capsys.readouterr().out


@pytest.mark.parametrize("module", ["tfgan_suite.train", "tfgan_suite.export"])
@pytest.mark.parametrize("help_flag", ["--help", "--helpfull"])
def test_help_imports_no_tensorflow_and_is_fast(module, help_flag):
    script = textwrap.dedent(f"""
        import runpy, sys, time
        start = time.perf_counter()
        sys.argv = ["{module}", "{help_flag}"]
        try:
            runpy.run_module("{module}", run_name="__main__")
        except SystemExit:
            pass
        heavy = sorted(m for m in ("tensorflow", "keras", "numpy") if m in sys.modules)
        print("RESULT", heavy, time.perf_counter() - start, file=sys.stderr)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT)
    result = out.stderr.strip().splitlines()[-1].split(" ", 2)
    assert result[0] == "RESULT" and result[1] == "[]", out.stderr[-2000:]
    assert float(result[2]) < 2.0
    assert "--run_dir" in out.stdout
