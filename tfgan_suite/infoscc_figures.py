"""InfoSCC-GAN figures from a run directory or an export:

    python -m tfgan_suite.infoscc_figures --run_dir=runs/infoscc_mnist --mode=traverse \
        --condition=3 --output=traverse.png
    python -m tfgan_suite.infoscc_figures --saved_model=exports/infoscc_mnist/5000 --mode=sweep \
        --output=sweep.png

Modes:
  sweep     rows = samples (eps, zs fixed per row); columns = each class, or for binary
            attributes none and then each attribute alone (the paper's attribute figures)
  traverse  EigenGAN's figure (He et al. 2021, Fig. 1): rows = every eigen-dimension (layer l,
            dimension d, layer-major); columns = z_{l,d} stepped from -limit to +limit with the
            condition, eps and every other z fixed
Both draw from G(y, eps, zs) (the EMA generator of a run, the export's generate_with_zs).
"""

from __future__ import annotations

import os

import numpy as np
from absl import app, flags

from tfgan_suite import cli
from tfgan_suite.errors import UserError

MODES = ("sweep", "traverse")
EIGENGAN_LIMIT = 4.5   # EigenGAN's traversal range [-4.5, 4.5]


def sweep(generate, y_dim, label_kind, eps_dim, zs_shape, rows, seed=0):
    """[rows, cols, H, W, C]: each row one (eps, zs), each column one condition."""
    rng = np.random.default_rng(seed)
    eye = np.eye(y_dim, dtype=np.float32)
    conditions = eye if label_kind == "onehot" else np.concatenate(
        [np.zeros((1, y_dim), np.float32), eye])
    cols = len(conditions)
    eps = rng.normal(size=(rows, eps_dim)).astype(np.float32)
    zs = rng.normal(size=(rows,) + tuple(zs_shape)).astype(np.float32)
    images = generate(np.tile(conditions, (rows, 1)), np.repeat(eps, cols, 0),
                      np.repeat(zs, cols, 0))
    return np.asarray(images).reshape((rows, cols) + np.asarray(images).shape[1:])


def traversal_codes(zs, frames, limit=EIGENGAN_LIMIT):
    """zs [n_blocks, n_basis] -> [n_blocks * n_basis * frames, n_blocks, n_basis]: for each
    (layer, dimension), `frames` copies of zs with that one entry on linspace(-limit, limit)."""
    n_blocks, n_basis = zs.shape
    values = np.linspace(-limit, limit, frames, dtype=np.float32)
    out = np.repeat(zs[None], n_blocks * n_basis * frames, 0).astype(np.float32)
    for layer in range(n_blocks):
        for dim in range(n_basis):
            row = layer * n_basis + dim
            out[row * frames:(row + 1) * frames, layer, dim] = values
    return out


def traverse(generate, y, eps_dim, zs_shape, frames, seed=0, limit=EIGENGAN_LIMIT):
    """[n_blocks * n_basis, frames, H, W, C] for the condition y [y_dim]."""
    rng = np.random.default_rng(seed)
    codes = traversal_codes(rng.normal(size=zs_shape).astype(np.float32), frames, limit)
    n = len(codes)
    eps = np.repeat(rng.normal(size=(1, eps_dim)).astype(np.float32), n, 0)
    images = np.asarray(generate(np.repeat(np.asarray(y, np.float32)[None], n, 0), eps, codes))
    return images.reshape((zs_shape[0] * zs_shape[1], frames) + images.shape[1:])


def _from_run(run_dir):
    import tensorflow as tf

    from tfgan_suite import runs
    model, config, _ = runs.load_trained_model(run_dir)
    if config.model != "infoscc":
        raise UserError(f"{run_dir} holds a {config.model} run; these figures are InfoSCC-GAN's")
    g = model.generator

    def generate(y, eps, zs):
        return model.generate(tf.constant(y), tf.constant(eps), tf.constant(zs)).numpy()
    return generate, model.y_dim, model.label_kind, g.eps_dim, (g.n_blocks, g.n_basis)


def _from_export(path):
    import tensorflow as tf

    from tfgan_suite.export import read_metadata
    meta = read_metadata(path)
    if meta.get("model") != "infoscc":
        raise UserError(f"{path} is a {meta.get('model')} export; these figures are InfoSCC-GAN's")
    loaded = tf.saved_model.load(path)
    fn = loaded.signatures["generate_with_zs"]

    def generate(y, eps, zs):
        return fn(y=tf.constant(y), eps=tf.constant(eps), zs=tf.constant(zs))["images"].numpy()
    return (generate, int(meta["condition_dim"]), meta["label_kind"], int(meta["eps_dim"]),
            tuple(meta["zs_shape"]))


def define_flags():
    flags.DEFINE_string("run_dir", None, "InfoSCC-GAN training run.")
    flags.DEFINE_string("saved_model", None, "Or an exported version directory.")
    flags.DEFINE_enum("mode", "sweep", MODES, "sweep or traverse (see the module help).")
    flags.DEFINE_string("output", None, "PNG to write (required).")
    flags.DEFINE_integer("rows", 8, "sweep: samples (rows).")
    flags.DEFINE_integer("frames", 9, "traverse: steps per eigen-dimension.")
    flags.DEFINE_float("limit", EIGENGAN_LIMIT, "traverse: z_{l,d} runs over [-limit, limit].")
    flags.DEFINE_list("condition", ["0"], "traverse: the class number (one-hot), or the "
                      "attribute values (binary, comma list of 0/1).")
    flags.DEFINE_integer("seed", 0, "Seed of eps and zs.")


@cli.user_errors_exit
def main(argv):
    del argv
    f = flags.FLAGS
    if bool(f.run_dir) == bool(f.saved_model):
        raise UserError("pass exactly one of --run_dir or --saved_model")
    if not f.output:
        raise UserError("--output is required (a .png path)")
    if f.rows <= 0 or f.frames <= 1 or not f.limit > 0:
        raise UserError("--rows must be > 0, --frames > 1 and --limit > 0")
    if f.saved_model and not os.path.isdir(f.saved_model):
        raise UserError(f"--saved_model={f.saved_model} is not a directory")
    from tfgan_suite import images, quiet
    quiet.import_tensorflow()
    generate, y_dim, kind, eps_dim, zs_shape = (_from_run(f.run_dir) if f.run_dir
                                                else _from_export(f.saved_model))
    if f.mode == "sweep":
        result = sweep(generate, y_dim, kind, eps_dim, zs_shape, f.rows, f.seed)
    else:
        y = condition_vector(f.condition, y_dim, kind)
        result = traverse(generate, y, eps_dim, zs_shape, f.frames, f.seed, f.limit)
    print(f"wrote {images.save_png(f.output, images.grid(result))}")


def condition_vector(values, y_dim, kind) -> np.ndarray:
    try:
        numbers = [int(v) for v in values]
    except ValueError:
        raise UserError(f"--condition must be integers, got {values}") from None
    if kind == "onehot":
        if len(numbers) != 1 or not 0 <= numbers[0] < y_dim:
            raise UserError(f"--condition: one class number in 0..{y_dim - 1}, got {values}")
        return np.eye(y_dim, dtype=np.float32)[numbers[0]]
    if len(numbers) != y_dim or set(numbers) - {0, 1}:
        raise UserError(f"--condition: {y_dim} attribute values 0/1, got {values}")
    return np.asarray(numbers, np.float32)


if __name__ == "__main__":
    define_flags()
    app.run(main, flags_parser=cli.parse_flags)
