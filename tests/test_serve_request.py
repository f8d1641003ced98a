"""serve_request builds the inputs of an export from its metadata: a TF Serving REST body whose
tensors, decoded as TF Serving decodes the row format, give through the SavedModel what the
in-process model gives; and .npy files that saved_model_cli runs."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from absl import flags

from tfgan_suite import config as config_lib, runs, serve_request
from tfgan_suite.export import read_metadata
from tfgan_suite.train import train

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = ["--steps=1", "--batch_size=4", "--grid_rows=1", "--sample_every=100",
        "--steps_per_execution=1", "--export=true"]


def resolve(*args):
    flags.FLAGS.unparse_flags()
    flags.FLAGS(["train", *args])
    return config_lib.resolve(flags.FLAGS)


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    root = tmp_path_factory.mktemp("serve")
    cwgan = train(resolve("--dataset=mnist5k", "--n_critic=1", f"--run_dir={root}/cwgan",
                          f"--export_dir={root}/exports", *TINY))
    slogan = train(resolve("--model=slogan", "--dataset=gaussians8", f"--run_dir={root}/slogan",
                           f"--export_dir={root}/exports", *TINY[:1], "--batch_size=16",
                           *TINY[2:]))
    return {"root": root, "cwgan": cwgan, "slogan": slogan}


def cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "tfgan_suite.serve_request", *args],
                          capture_output=True, text=True, cwd=cwd,
                          env=dict(os.environ, PYTHONPATH=REPO))


def decode_rows(body: dict, signature) -> dict:
    """TF Serving's row-format decoding: each input's values stacked along a new batch axis,
    converted to the signature's dtype, the shape checked against the signature."""
    specs = signature.structured_input_signature[1]
    tensors = {}
    for name, spec in specs.items():
        value = np.asarray([row[name] for row in body["instances"]],
                           dtype=spec.dtype.as_numpy_dtype)
        assert spec.shape.is_compatible_with(value.shape), (name, spec.shape, value.shape)
        tensors[name] = tf.constant(value)
    assert set(body["instances"][0]) == set(specs)
    return tensors


def test_cwgan_rest_body_through_the_saved_model_equals_the_model(exports):
    export = exports["cwgan"]["export"]
    out = cli(f"--saved_model={export}", "--n=3", "--y=3", "--out=body.json",
              cwd=exports["root"])
    assert out.returncode == 0, out.stderr[-2000:]
    with open(exports["root"] / "body.json") as fh:
        body = json.load(fh)
    assert body["signature_name"] == "serving_default" and len(body["instances"]) == 3
    signature = tf.saved_model.load(export).signatures["serving_default"]
    tensors = decode_rows(body, signature)
    np.testing.assert_array_equal(tensors["y"].numpy().argmax(1), [3, 3, 3])
    assert abs(float(tf.reduce_mean(tensors["z"])) - read_metadata(export)["z_mean"]) < 0.5
    served = signature(**tensors)["images"].numpy()
    model, _, _ = runs.load_trained_model(exports["cwgan"]["run_dir"])
    np.testing.assert_allclose(served, model.generate(tensors["z"], tensors["y"]).numpy(),
                               rtol=1e-5, atol=1e-5)


def test_slogan_generate_component_body(exports):
    export = exports["slogan"]["export"]
    meta = read_metadata(export)
    inputs = serve_request.build_inputs(meta, 5, component=2, signature="generate_component")
    body = serve_request.rest_body(inputs, "generate_component")
    signature = tf.saved_model.load(export).signatures["generate_component"]
    tensors = decode_rows(body, signature)
    assert tensors["component"].numpy().tolist() == [2] * 5
    assert signature(**tensors)["images"].shape == (5, 2)
    z = serve_request.build_inputs(meta, 2000, component=1, seed=3)["z"]
    np.testing.assert_allclose(z.mean(0), meta["means"][1], atol=0.15)


def test_npy_inputs_run_under_saved_model_cli(exports, tmp_path):
    export = exports["cwgan"]["export"]
    out = cli(f"--saved_model={export}", "--n=2", "--y=7", f"--npy_dir={tmp_path}/inputs",
              cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    saved_model_cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    run = subprocess.run([saved_model_cli, "run", "--dir", export, "--tag_set", "serve",
                          "--signature_def", "serving_default", "--inputs",
                          f"z={tmp_path}/inputs/z.npy;y={tmp_path}/inputs/y.npy",
                          "--outdir", str(tmp_path / "out")], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    assert np.load(tmp_path / "out" / "images.npy").shape == (2, 28, 28, 1)


@pytest.mark.parametrize("args,culprit", [
    (["--y=10"], "out of range"),
    (["--y=cat"], "unknown label"),
    (["--component=1"], "--component applies to SLOGAN"),
    (["--n=0"], "--n must be positive"),
])
def test_bad_requests_are_one_line_errors(exports, args, culprit):
    out = cli(f"--saved_model={exports['cwgan']['export']}", *args, cwd=exports["root"])
    errors = [line for line in out.stderr.splitlines() if line.startswith("error:")]
    assert out.returncode == 2 and len(errors) == 1 and culprit in errors[0], out.stderr[-1500:]
    assert "Traceback" not in out.stderr


def test_not_an_export_is_refused(tmp_path):
    out = cli(f"--saved_model={tmp_path}", cwd=tmp_path)
    assert out.returncode == 2 and "not a tfgan_suite export" in out.stderr
