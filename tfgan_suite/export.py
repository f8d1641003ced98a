"""Export a trained generator as a versioned SavedModel for TF Serving.

    python -m tfgan_suite.export --run_dir=runs/cwgan_mnist5k [--export_dir=exports] [--version=N]

writes <export_dir>/<name>/<version>/ (saved_model.pb, variables/, assets.extra/tfgan_suite.json)
with the model's serving signatures (cWGAN: `serving_default` taking z float32 [None, z_dim]
and y float32 [None, n_attrs], returning `images` float32 [None, H, W, C] in [-1, 1]).
Keras 3's ExportArchive is used because it writes SavedModels that the session-based loader
of `saved_model_cli run` and TF Serving can run (a tf.Module wrapper holding a Keras 3 model cannot: the session loader misses its BatchNorm variables).
The version directory appears only when complete: it is written under a hidden temporary
name and renamed, so TF Serving never loads a half-written model. Temporaries that a killed
export left behind are removed (or, for a version it was replacing, restored) by the next
export into the same model folder (cleanup.py).
"""

from __future__ import annotations

import functools
import json
import os
import shutil

from absl import app, flags, logging

from tfgan_suite import cleanup, cli
from tfgan_suite import config as config_lib, runs
from tfgan_suite.errors import UserError

METADATA_FILE = os.path.join("assets.extra", "tfgan_suite.json")


def export_generator(model, config, info, export_dir: str, name: str, version: int,
                     overwrite: bool = False) -> str:
    """Write the model's serving endpoints to <export_dir>/<name>/<version>/; returns the path."""
    if version <= 0:
        raise UserError(f"--version must be a positive integer, got {version}")
    base = os.path.join(export_dir, name)
    target = os.path.join(base, str(version))
    try:
        os.makedirs(base, exist_ok=True)
    except OSError as e:
        raise UserError(f"cannot create the export folder {base} ({e.strerror}); pass an "
                        "--export_dir that is a writable directory") from None
    # A killed export's leftovers (dead pid only); may restore the version it was replacing.
    cleanup.remove_stale_exports(base)
    if os.path.exists(target) and not overwrite:
        raise UserError(f"{target} already exists; pass --version with a new number or "
                        f"--overwrite to replace it.")
    tmp = os.path.join(base, f".tmp-{version}-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)

    import keras   # here, not at the top: `export --help` should not start TensorFlow

    archive = keras.export.ExportArchive()
    for trackable in model.export_trackables():
        archive.track(trackable)
    for endpoint_name, fn, signature in model.serving_endpoints():
        archive.add_endpoint(endpoint_name, checked_inputs(endpoint_name, fn, signature),
                             input_signature=signature)
    archive.write_out(tmp, verbose=False)

    metadata = dict(model=config.model, dataset=config.dataset,
                    dataset_options=config.to_json()["dataset_options"],
                    step=int(model.step.numpy()),
                    label_names=list(info.label_names), label_kind=info.label_kind,
                    z_dim=config.z_dim, z_mean=config_lib.gaussian_z_mean(config),
                    endpoints=[e[0] for e in model.serving_endpoints()])
    metadata.update(model.export_metadata())
    os.makedirs(os.path.join(tmp, "assets.extra"), exist_ok=True)
    with open(os.path.join(tmp, METADATA_FILE), "w", encoding="utf-8") as fh:
        json.dump(metadata, fh, indent=2)
    if os.path.exists(target):
        old = os.path.join(base, f".old-{version}-{os.getpid()}")
        os.replace(target, old)
        os.replace(tmp, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, target)
    return target


def _shape_text(spec) -> str:
    return "[" + ", ".join("None" if d is None else str(d) for d in spec.shape) + "]"


def _assert_shape(endpoint: str, spec, value):
    """`value` once its runtime shape matches `spec`, else an error naming the input.

    Without this a loaded signature accepts any shape (only the dtype is checked) and fails
    deep inside the generator ("Matrix size-incompatible: In[0]: [2,65]")."""
    import tensorflow as tf

    rank = len(spec.shape)
    shape = tf.shape(value)
    # The traced input has the spec's static rank, so tf.rank / tf.size would fold to it;
    # counting the runtime dims (each >= 0, sign(d + 1) = 1) cannot be folded.
    runtime_rank = tf.reduce_sum(tf.sign(shape + 1))
    padded = tf.concat([shape, tf.zeros([rank], tf.int32)], 0)[:rank]  # any rank indexes
    ok = tf.equal(runtime_rank, rank)
    for axis, size in enumerate(spec.shape):
        if size is not None:
            ok = tf.logical_and(ok, tf.equal(padded[axis], size))
    check = tf.debugging.Assert(ok, [f"{endpoint}: input {spec.name} must be "
                                     f"{spec.dtype.name} {_shape_text(spec)}; got shape", shape])
    with tf.control_dependencies([check]):
        return tf.identity(value)


def checked_inputs(endpoint: str, fn, signature):
    """`fn` with every input's shape checked against its TensorSpec first (batch 0 included)."""

    @functools.wraps(fn)
    def checked(*inputs):
        return fn(*[_assert_shape(endpoint, spec, x) for spec, x in zip(signature, inputs)])
    return checked


def read_metadata(saved_model_dir: str) -> dict:
    path = os.path.join(saved_model_dir, METADATA_FILE)
    if not os.path.isfile(path):
        raise UserError(f"{saved_model_dir} is not a tfgan_suite export ({METADATA_FILE} missing)")
    try:
        with open(path, encoding="utf-8") as fh:
            metadata = json.load(fh)
    except (OSError, ValueError) as e:
        raise UserError(f"cannot read {path} ({e}); export the run again "
                        "(python -m tfgan_suite.export --run_dir=... --overwrite)") from None
    if not isinstance(metadata, dict):
        raise UserError(f"{path} is not a tfgan_suite export description; export the run again")
    return metadata


def define_flags():
    flags.DEFINE_string("run_dir", None, "Training run directory to export (required).")
    flags.DEFINE_string("export_dir", None, "Base export directory; default: the run's --export_dir.")
    flags.DEFINE_string("export_name", None, "Model name; default: the run's export name.")
    flags.DEFINE_integer("version", None, "Version number (> 0); default: the checkpoint's step.")
    flags.DEFINE_boolean("overwrite", False, "Replace an existing version directory.")


@cli.user_errors_exit
def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)   # Keras' per-file "Assets written" INFO lines
    f = flags.FLAGS
    if not f.run_dir:
        raise UserError("--run_dir is required: the training run to export")
    from tfgan_suite import quiet
    quiet.import_tensorflow()
    model, config, info = runs.load_trained_model(f.run_dir)
    version = f.version if f.version is not None else int(model.step.numpy())
    path = export_generator(model, config, info, f.export_dir or config.export_dir,
                            f.export_name or config.export_name, version, f.overwrite)
    print(f"exported {path}")


if __name__ == "__main__":
    define_flags()
    app.run(main, flags_parser=cli.parse_flags)
