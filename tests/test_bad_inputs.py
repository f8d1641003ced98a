"""Bad input at every command-line entry point: exit status 2, one `error:` line naming the
flag or file at fault, no traceback.

Each case is a real subprocess (`python -m tfgan_suite.<cli> ...`), as a user runs it. The
cases are independent, so they run a few at a time in one module-scoped pool; each test then
checks its own result. One tiny SLOGAN run (8 Gaussians, 1 iteration, exported) is made once
per module and reused; cases that would write into a run directory get their own copy.
Serving inputs are checked in-process on the exported SavedModel's signatures.
"""

import concurrent.futures
import json
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

from tests import fixtures

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYTHON = sys.executable
# Small and quick everywhere: no case should get as far as training, except the run fixture.
FAST = ["--batch_size=8", "--log_every=1", "--sample_every=1", "--checkpoint_every=1",
        "--grid_rows=1", "--steps_per_execution=1"]
SLOGAN_RUN = ["--model=slogan", "--dataset=gaussians8", "--steps=1", *FAST]
PARALLEL = 3  # subprocesses at a time: mostly interpreter start-up and imports
TIMEOUT_S = 90

# The fifth field of a case: None, or OWN_PROCESS for absl's flag-parse errors, which exit
# through absl's own path and so cannot share the driver interpreter below.
OWN_PROCESS = "absl flag parse error: run as its own process"


def _env():
    return dict(os.environ, PYTHONPATH=REPO, TF_CPP_MIN_LOG_LEVEL="3", CI="1")


def _cli(module, args, cwd):
    command = [PYTHON, "-m", f"tfgan_suite.{module}", *args]
    try:
        return subprocess.run(command, capture_output=True, text=True, env=_env(), cwd=cwd,
                              timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:  # one hung case must not take the table down with it
        return subprocess.CompletedProcess(command, 124, "", f"timed out after {TIMEOUT_S} s")


def _dead_pid():
    child = subprocess.Popen([PYTHON, "-c", "pass"])
    child.wait()
    return child.pid


def _rewrite_line(path, lineno, text):
    with open(path) as f:
        lines = f.read().splitlines()
    lines[lineno - 1] = text
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def _make_workspace(root):
    """Every file the cases point at, keyed by name (format placeholders of CASES)."""
    ws = {"root": root}

    def folder(name):
        ws[name] = os.path.join(root, name)
        os.makedirs(ws[name])
        return ws[name]

    ws["missing"] = os.path.join(root, "does_not_exist")
    folder("empty")
    ws["afile"] = os.path.join(root, "a_file")
    with open(ws["afile"], "w") as f:
        f.write("a file where a directory is expected\n")
    ws["unwritable"] = "/sys/tfgan_suite_run"  # root cannot create it either (sysfs)

    pristine = folder("celeba")
    fixtures.write_celeba(pristine, n=4)
    for name in ("celeba_bad_attr", "celeba_bad_part", "celeba_truncated_jpg", "celeba_no_attr"):
        ws[name] = os.path.join(root, name)
        shutil.copytree(pristine, ws[name])
    _rewrite_line(os.path.join(ws["celeba_bad_attr"], "list_attr_celeba.txt"), 4,
                  "000002.jpg " + " ".join(["1"] * 39))            # one value short
    _rewrite_line(os.path.join(ws["celeba_bad_part"], "list_eval_partition.txt"), 2,
                  "000002.jpg train")
    jpg = os.path.join(ws["celeba_truncated_jpg"], "img_align_celeba", "000002.jpg")
    with open(jpg, "r+b") as f:
        f.truncate(os.path.getsize(jpg) // 3)
    os.remove(os.path.join(ws["celeba_no_attr"], "list_attr_celeba.txt"))

    mnist = folder("mnist")
    fixtures.write_mnist_idx(mnist, n_train=20, n_test=10, gz=False)
    for name in ("mnist_bad_magic", "mnist_truncated"):
        ws[name] = os.path.join(root, name)
        shutil.copytree(mnist, ws[name])
    with open(os.path.join(ws["mnist_bad_magic"], "train-images-idx3-ubyte"), "r+b") as f:
        f.write(b"\x00\x00\x08\x01")                               # the labels' magic
    images = os.path.join(ws["mnist_truncated"], "train-images-idx3-ubyte")
    with open(images, "r+b") as f:
        f.truncate(os.path.getsize(images) - 100)

    cifar = folder("cifar_broken")
    os.makedirs(os.path.join(cifar, "cifar-10-batches-py"))
    with open(os.path.join(cifar, "cifar-10-batches-py", "data_batch_1"), "wb") as f:
        f.write(b"not a pickle")
    efigi = folder("efigi_bad_line")
    fixtures.write_efigi(efigi, n=4, size=16)
    table = os.path.join(efigi, "efigi-1.6", "EFIGI_attributes.txt")
    with open(table, "a") as f:
        f.write("PGC0000999 0.25 0.5\n")

    # One trained run (1 iteration) and its export, shared read-only by the cases.
    ws["run"], ws["exports"] = os.path.join(root, "run"), os.path.join(root, "exports")
    made = _cli("train", [*SLOGAN_RUN, f"--run_dir={ws['run']}", f"--export_dir={ws['exports']}"],
                root)
    assert made.returncode == 0, made.stderr[-3000:]
    ws["export"] = os.path.join(ws["exports"], "slogan_gaussians8", "1")
    assert os.path.isdir(ws["export"])
    ws["run_copy"] = os.path.join(root, "run_copy")           # resumed with other settings
    shutil.copytree(ws["run"], ws["run_copy"])
    ws["run_truncated"] = os.path.join(root, "run_truncated")
    shutil.copytree(ws["run"], ws["run_truncated"])
    config = os.path.join(ws["run_truncated"], "config.json")
    with open(config, "r+") as f:
        f.truncate(os.path.getsize(config) // 2)
    ws["not_export"] = folder("not_export")
    with open(os.path.join(ws["not_export"], "saved_model.pb"), "wb") as f:
        f.write(b"\x08\x01")
    ws["bad_metadata"] = folder("bad_metadata")
    os.makedirs(os.path.join(ws["bad_metadata"], "assets.extra"))
    with open(os.path.join(ws["bad_metadata"], "assets.extra", "tfgan_suite.json"), "w") as f:
        f.write('{"model": "slogan", "z_dim"')                   # cut short
    ws["png"] = os.path.join(root, "figure.png")
    return ws


# (id, cli, args, culprit regex the error line must contain, None or OWN_PROCESS).
# `{name}` in args is a workspace path. Train cases get their own fresh --run_dir.
CASES = [
    # ---- train: flag values ----
    ("epochs_nan", "train", ["--epochs=nan"], r"--epochs", None),
    ("epochs_inf", "train", ["--epochs=inf"], r"--epochs", None),
    ("learning_rate_nan", "train", ["--model=slogan", "--dataset=gaussians8",
                                    "--learning_rate=nan", "--steps=1", *FAST],
     r"--learning_rate", None),
    ("prior_learning_rate_inf", "train", ["--model=slogan", "--dataset=gaussians8",
                                          "--prior_learning_rate=inf"],
     r"--prior_learning_rate", None),
    ("z_mean_nan", "train", ["--z_mean=nan"], r"--z_mean", None),
    ("beta1_nan", "train", ["--beta1=nan"], r"--beta1", None),
    ("beta2_above_one", "train", ["--beta2=1.5"], r"--beta2", None),
    ("penalty_weight_nan", "train", ["--penalty_weight=nan"], r"--penalty_weight",
     None),
    ("steps_not_integer", "train", ["--steps=nan"], r"--steps",
     OWN_PROCESS),
    ("model_unknown_enum", "train", ["--model=gan"], r"--model",
     OWN_PROCESS),
    ("batch_size_zero", "train", ["--batch_size=0"], r"--batch_size", None),
    ("z_dim_negative", "train", ["--z_dim=-3"], r"--z_dim", None),
    ("steps_negative", "train", ["--steps=-1"], r"--steps", None),
    ("n_critic_zero", "train", ["--n_critic=0"], r"--n_critic", None),
    ("penalty_weight_negative", "train", ["--penalty_weight=-1"], r"--penalty_weight", None),
    ("steps_per_execution_zero", "train", ["--steps_per_execution=0"], r"--steps_per_execution",
     None),
    ("dataset_unknown", "train", ["--dataset=nope"], r"--dataset=nope", None),
    ("split_unknown", "train", ["--split=valid"], r"--split", None),
    ("loss_wrong_model", "train", ["--loss=hinge"], r"--loss=hinge", None),
    ("diffaugment_unknown", "train", ["--diffaugment=color,rotate"], r"--diffaugment", None),
    ("relu_output_not_mnist", "train", ["--dataset=celeba", "--relu_output"], r"--relu_output",
     None),
    ("slogan_flag_on_cwgan", "train", ["--num_components=3"], r"--num_components", None),
    ("num_components_one", "train", ["--model=slogan", "--dataset=gaussians8",
                                     "--num_components=1"], r"--num_components", None),
    ("slogan_dataset_without_defaults", "train", ["--model=slogan", "--dataset=efigi"],
     r"--dataset=efigi", None),
    ("gumbel_temperature_zero", "train", ["--model=slogan", "--dataset=gaussians8",
                                          "--gumbel_temperature=0"], r"--gumbel_temperature",
     None),
    ("probe_mixup_without_probe_data", "train", ["--model=slogan", "--dataset=gaussians8",
                                                 "--probe_mixup"], r"--probe_mixup", None),
    ("class_ratio_not_numbers", "train", ["--dataset=mnist2", "--class_ratio=a,b"],
     r"--class_ratio", None),
    ("partitions_not_integers", "train", ["--dataset=celeba", "--partitions=0,x"],
     r"--partitions", None),
    ("celeba_attribute_unknown", "train", ["--dataset=celeba", "--attributes=Male,Wings"],
     r"Wings", None),
    ("positional_argument", "train", ["stray"], r"stray", None),
    # ---- train: data ----
    ("data_dir_missing", "train", ["--dataset=celeba", "--data_dir={missing}"],
     r"does_not_exist", None),
    ("data_dir_empty", "train", ["--dataset=celeba", "--data_dir={empty}"], r"empty", None),
    ("data_dir_not_given", "train", ["--dataset=mnist"], r"--data_dir", None),
    ("celeba_attribute_file_missing", "train", ["--dataset=celeba", "--data_dir={celeba_no_attr}"],
     r"list_attr_celeba\.txt", None),
    ("celeba_attribute_line_malformed", "train", ["--dataset=celeba",
                                                  "--data_dir={celeba_bad_attr}"],
     r"list_attr_celeba\.txt:4:", None),
    ("celeba_partition_line_malformed", "train", ["--dataset=celeba",
                                                  "--data_dir={celeba_bad_part}"],
     r"list_eval_partition\.txt:2:", None),
    ("celeba_truncated_jpeg", "train", ["--dataset=celeba", "--data_dir={celeba_truncated_jpg}"],
     r"000002\.jpg", None),
    ("mnist_wrong_idx_magic", "train", ["--dataset=mnist", "--data_dir={mnist_bad_magic}"],
     r"train-images-idx3-ubyte", None),
    ("mnist_truncated_idx", "train", ["--dataset=mnist", "--data_dir={mnist_truncated}"],
     r"train-images-idx3-ubyte", None),
    ("mnist_fewer_than_one_batch", "train", ["--dataset=mnist", "--data_dir={mnist}",
                                             "--batch_size=64"], r"--batch_size=20 or less", None),
    ("cifar_batch_not_a_pickle", "train", ["--dataset=cifar10", "--model=slogan",
                                           "--data_dir={cifar_broken}"], r"cifar", None),
    ("efigi_attribute_line_malformed", "train", ["--dataset=efigi", "--data_dir={efigi_bad_line}"],
     r"EFIGI_attributes\.txt:\d+:", None),
    # ---- train: run directories ----
    ("run_dir_is_a_file", "train", ["--run_dir={afile}"], r"a_file", None),
    ("run_dir_under_a_file", "train", ["--run_dir={afile}/run"], r"a_file", None),
    ("run_dir_unwritable", "train", ["--run_dir={unwritable}"], r"tfgan_suite_run",
     None),
    ("resume_with_other_seed", "train", [*SLOGAN_RUN, "--run_dir={run_copy}", "--seed=5"],
     r"run_copy.*seed", None),
    ("resume_with_other_num_components", "train", [*SLOGAN_RUN, "--run_dir={run_copy}",
                                                   "--num_components=4"],
     r"num_components", None),
    ("resume_truncated_config", "train", [*SLOGAN_RUN, "--run_dir={run_truncated}"],
     r"config\.json", None),
    # ---- export ----
    ("export_without_run_dir", "export", [], r"--run_dir", None),
    ("export_run_dir_missing", "export", ["--run_dir={missing}"], r"does_not_exist", None),
    ("export_truncated_config", "export", ["--run_dir={run_truncated}"], r"config\.json",
     None),
    ("export_version_zero", "export", ["--run_dir={run}", "--version=0"], r"--version", None),
    ("export_version_not_integer", "export", ["--run_dir={run}", "--version=abc"], r"--version",
     None),
    ("export_dir_is_a_file", "export", ["--run_dir={run}", "--export_dir={afile}"], r"a_file",
     None),
    ("export_version_exists", "export", ["--run_dir={run}", "--export_dir={exports}"],
     r"slogan_gaussians8/1 already exists", None),
    # ---- generate ----
    ("generate_classes_on_slogan_run", "generate", ["--run_dir={run}", "--mode=classes",
                                                    "--output={png}"],
     r"--mode=classes.*slogan.*--mode=components", None),
    ("generate_swap_on_slogan_export", "generate", ["--saved_model={export}", "--mode=swap",
                                                    "--output={png}"], r"--mode=swap", None),
    ("generate_mode_unknown", "generate", ["--run_dir={run}", "--mode=bogus", "--output={png}"],
     r"--mode", None),
    ("generate_rows_not_integer", "generate", ["--run_dir={run}", "--rows=x", "--output={png}"],
     r"--rows", None),
    ("generate_without_output", "generate", ["--run_dir={run}"], r"--output", None),
    ("generate_both_sources", "generate", ["--run_dir={run}", "--saved_model={export}",
                                           "--output={png}"], r"--run_dir", None),
    ("generate_rows_zero", "generate", ["--run_dir={run}", "--rows=0", "--output={png}"],
     r"--rows", None),
    ("generate_not_an_export", "generate", ["--saved_model={not_export}", "--output={png}"],
     r"not_export", None),
    ("generate_export_metadata_truncated", "generate", ["--saved_model={bad_metadata}",
                                                        "--output={png}"],
     r"bad_metadata.*tfgan_suite\.json", None),
    ("generate_truncated_config", "generate", ["--run_dir={run_truncated}", "--output={png}"],
     r"config\.json", None),
    ("generate_component_out_of_range", "generate", ["--run_dir={run}", "--mode=interpolate",
                                                     "--base=9", "--output={png}"],
     r"--base=9", None),
    ("generate_images_from_points", "generate", ["--saved_model={export}", "--mode=components",
                                                 "--output={png}"], r"points", None),
    # ---- evaluate ----
    ("evaluate_metric_unknown", "evaluate", ["--run_dir={run}", "--metrics=bogus"], r"bogus",
     None),
    ("evaluate_without_metrics", "evaluate", ["--run_dir={run}"], r"--metrics", None),
    ("evaluate_not_an_export", "evaluate", ["--saved_model={not_export}", "--metrics=pi_error"],
     r"not_export", None),
    ("evaluate_num_samples_not_integer", "evaluate", ["--run_dir={run}", "--metrics=pi_error",
                                                      "--num_samples=many"], r"--num_samples",
     OWN_PROCESS),
]


# Train cases refused today (flag values, data, settings of an existing run) share one
# interpreter (DRIVER), saving an interpreter start and the TensorFlow import per case. Each
# other case runs as its own `python -m`: other CLIs, flag parse errors (absl's own exit
# path) and the marked cases, which may get as far as training until their fix is merged.
GROUPED = {case[0] for case in CASES if case[1] == "train" and case[4] is None}

DRIVER = """
import contextlib, io, json, sys, traceback
from absl import flags
from tfgan_suite import train
results = []
for args in json.load(sys.stdin):
    out, err, code = io.StringIO(), io.StringIO(), 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            flags.FLAGS.unparse_flags()           # every flag back to its default
            train.main(flags.FLAGS(["train", *args]))   # what app.run does after parsing
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 1
        except BaseException:
            traceback.print_exc()
            code = 1
    results.append(dict(returncode=code, stdout=out.getvalue(), stderr=err.getvalue()))
json.dump(results, sys.__stdout__)
"""


def _grouped_train_cases(arg_lists, cwd):
    """CompletedProcess-like results of `train` with each argument list, in one interpreter."""
    run = subprocess.run([PYTHON, "-c", DRIVER], input=json.dumps(arg_lists), capture_output=True,
                         text=True, env=_env(), cwd=cwd, timeout=TIMEOUT_S * 2)
    assert run.returncode == 0, run.stderr[-3000:]
    return [subprocess.CompletedProcess(["train", *args], r["returncode"], r["stdout"], r["stderr"])
            for args, r in zip(arg_lists, json.loads(run.stdout))]


# Runs that must keep behaving as they do, checked beside the table (same pool).
DIVERGENCE = ("divergence", "train", [*SLOGAN_RUN, "--steps=2", "--prior_learning_rate=1e30"],
              None, None)


def _args(case, ws):
    name, module, args, _, _ = case
    args = [a.format(**ws) for a in args]
    if module == "train" and not any(a.startswith("--run_dir=") for a in args):
        args.append(f"--run_dir={os.path.join(ws['root'], 'runs', name)}")
    if module == "train":
        args.append(f"--export_dir={os.path.join(ws['root'], 'case_exports', name)}")
        # A case whose bad value slips through trains 1 iteration, not 100 epochs.
        given = {a.split("=")[0] for a in args}
        quick = ["--export=false"] + ([] if "--epochs" in given else ["--steps=1"])
        args += [a for a in quick + FAST if a.split("=")[0] not in given]
    return args


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    return _make_workspace(str(tmp_path_factory.mktemp("bad_inputs")))


@pytest.fixture(scope="module")
def results(workspace):
    """{case id: CompletedProcess}, every case run once, a few at a time."""
    grouped = [case for case in CASES if case[0] in GROUPED]
    with concurrent.futures.ThreadPoolExecutor(PARALLEL) as pool:
        together = pool.submit(_grouped_train_cases, [_args(c, workspace) for c in grouped],
                               workspace["root"])
        futures = {case[0]: pool.submit(_cli, case[1], _args(case, workspace), workspace["root"])
                   for case in [*CASES, DIVERGENCE] if case[0] not in GROUPED}
        results = {name: future.result() for name, future in futures.items()}
    results.update(zip([case[0] for case in grouped], together.result()))
    return results


def test_the_table_is_large_and_unique():
    assert len(CASES) >= 40
    assert len({case[0] for case in CASES}) == len(CASES)
    assert len(GROUPED) >= 15 and len(CASES) - len(GROUPED) >= 20


@pytest.mark.parametrize("case", [pytest.param(case, id=case[0]) for case in CASES])
def test_bad_input_is_one_error_line_and_exit_2(results, case):
    name, _, _, culprit, _ = case
    run = results[name]
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    errors = [line for line in run.stderr.splitlines() if line.startswith("error:")]
    assert run.returncode == 2, (run.returncode, run.stderr[-3000:])
    assert len(errors) == 1, run.stderr[-3000:]
    assert re.search(culprit, errors[0]), errors[0]


def test_divergence_stops_with_exit_3_and_names_the_flag(results, workspace):
    run = results["divergence"]
    assert run.returncode == 3, run.stderr[-3000:]
    assert "Traceback" not in run.stderr
    errors = [line for line in run.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "--prior_learning_rate" in errors[0]
    checkpoints = os.path.join(workspace["root"], "runs", "divergence", "checkpoints")
    leftovers = os.listdir(checkpoints) if os.path.isdir(checkpoints) else []
    assert not [n for n in leftovers if "temp" in n or "tmp" in n]


def test_a_split_smaller_than_one_batch_is_refused_before_the_run_is_written(results, workspace):
    del results
    run_dir = os.path.join(workspace["root"], "runs", "mnist_fewer_than_one_batch")
    assert not os.path.exists(os.path.join(run_dir, "config.json"))   # a smaller batch can start


def test_a_refused_generate_mode_loads_nothing(results):
    """The mode check reads config.json only: no checkpoint restore message, no TF model."""
    run = results["generate_classes_on_slogan_run"]
    assert "--mode=components or --mode=interpolate" in run.stderr
    assert "checkpoint" not in run.stderr.lower()


def test_refused_runs_leave_the_shared_run_untouched(results, workspace):
    del results  # every case has run
    with open(os.path.join(workspace["run"], "config.json")) as f:
        assert json.load(f)["num_components"] == 8
    assert sorted(os.listdir(os.path.join(workspace["exports"], "slogan_gaussians8"))) == ["1"]


def test_export_removes_a_dead_exports_leftovers(results, workspace):
    del results  # run after the export cases, which read the same export folder
    model_dir = os.path.join(workspace["exports"], "slogan_gaussians8")
    dead = os.path.join(model_dir, f".tmp-2-{_dead_pid()}")
    live = os.path.join(model_dir, f".tmp-3-{os.getpid()}")
    for folder in (dead, live):
        os.makedirs(os.path.join(folder, "variables"))
    run = _cli("export", [f"--run_dir={workspace['run']}", f"--export_dir={workspace['exports']}",
                          "--version=2"], workspace["root"])
    assert run.returncode == 0, run.stderr[-3000:]
    assert f"removed {dead}" in run.stdout
    assert not os.path.exists(dead) and os.path.isdir(live)
    assert os.path.isfile(os.path.join(model_dir, "2", "saved_model.pb"))
    shutil.rmtree(live)


# ---- serving inputs: the SavedModel's signatures check what they are fed ----

@pytest.fixture(scope="module")
def signatures(workspace):
    import tensorflow as tf
    return tf.saved_model.load(workspace["export"]).signatures


@pytest.mark.parametrize("endpoint,feed,named", [
    ("serving_default", lambda d: {"z": np.zeros((2, d + 1), np.float32)}, "input z must be"),
    ("serving_default", lambda d: {"z": np.zeros((d,), np.float32)}, "input z must be"),
    ("serving_default", lambda d: {"z": np.zeros((1, 2, d), np.float32)}, "input z must be"),
    ("cluster_probabilities", lambda d: {"images": np.zeros((2, 3), np.float32)},
     "input images must be"),
    ("generate_component", lambda d: {"component": np.zeros((2, 1), np.int32)},
     "input component must be"),
])
def test_wrong_shape_at_a_signature_names_the_input(signatures, endpoint, feed, named):
    import tensorflow as tf
    d = signatures["serving_default"].structured_input_signature[1]["z"].shape[-1]
    inputs = {k: tf.constant(v) for k, v in feed(d).items()}
    with pytest.raises(tf.errors.InvalidArgumentError, match=re.escape(named)):
        signatures[endpoint](**inputs)


def test_wrong_dtype_or_name_at_a_signature_is_refused_before_running(signatures):
    import tensorflow as tf
    d = signatures["serving_default"].structured_input_signature[1]["z"].shape[-1]
    # TensorFlow's own check: it names the input by position and the dtype it expected.
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"input #0.*float"):
        signatures["serving_default"](z=tf.zeros((2, d), tf.int32))
    with pytest.raises(TypeError, match="'y'"):
        signatures["serving_default"](z=tf.zeros((2, d)), y=tf.zeros((2, 3)))


def test_serving_batch_zero_still_works(signatures):
    import tensorflow as tf
    d = signatures["serving_default"].structured_input_signature[1]["z"].shape[-1]
    assert signatures["serving_default"](z=tf.zeros((0, d)))["images"].shape[0] == 0
    assert signatures["generate_component"](
        component=tf.zeros((0,), tf.int32))["images"].shape[0] == 0
