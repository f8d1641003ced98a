"""Figures from a trained conditional generator (a run's checkpoint or an exported SavedModel).

    python -m tfgan_suite.generate --run_dir=runs/cwgan_celeba --mode=swap --output=swap.png
    python -m tfgan_suite.generate --saved_model=exports/cwgan_celeba/2855 --mode=corners ...

Modes (the original repository's figure scripts, with its bugs fixed: z comes from the
prior the model was trained with, and the corner grid uses four distinct corners):
  swap        rows = z; columns = the base attributes, then each attribute flipped in turn
  classes     rows = z; columns = each class / attribute alone (the MNIST digit sweep)
  interpolate rows = pairs of endpoints; columns = linear steps of z and y together
  corners     bilinear interpolation of (z, y) between four corners on a frames x frames grid
  attribute   rows = attributes; columns = that attribute swept from --low to --high at fixed
              z and the other attributes at the base (continuous attributes, e.g. EFIGI)
SLOGAN has no condition input; its figures vary the learned mixture component instead
(z ~ N(mu_c, Sigma_c), SLOGAN Sec. 3.1):
  components  rows = samples; columns = the K learned components
  interpolate rows = pairs of components (--base / --end: component numbers, default two
              random distinct ones); columns = linear steps between a z of each
beta-VAE and ID-GAN (Lee et al. 2020, Fig. 4 / A.2) vary their disentangled code c:
  traversal   rows = the dimensions of c; columns = c_j swept from --low to --high (default
              -3 .. 3) with the other dimensions at --base (a comma vector of c_dim values;
              default c ~ N(0, I) from --seed) and s fixed; --rows is not used
Each mode names the models it applies to (MODES); any other is refused, listing those that
do, before the model is loaded.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Optional

import numpy as np
from absl import app, flags

from tfgan_suite import cli
from tfgan_suite import images
from tfgan_suite.errors import UserError

# Mode -> models it applies to. cWGAN's figures vary the condition y; SLOGAN's the component.
# The first mode of a model is its default.
MODES = {"swap": ("cwgan",), "components": ("slogan",), "classes": ("cwgan",),
         "interpolate": ("cwgan", "slogan"), "corners": ("cwgan",), "attribute": ("cwgan",)}
MODES["traversal"] = ("betavae", "idgan")


def modes_for(model: str) -> list:
    return [mode for mode, models in MODES.items() if model in models]


def check_mode(mode: str, model: str) -> None:
    """Refuse a figure mode that does not apply to `model`, listing the ones that do."""
    if mode not in MODES:
        raise UserError(f"--mode={mode} is unknown; choose one of {', '.join(MODES)}")
    if model not in MODES[mode]:
        allowed = modes_for(model)
        raise UserError(f"--mode={mode} does not apply to a {model} model; use "
                        + (f"--mode={' or --mode='.join(allowed)}" if allowed else
                           "another model: no figure mode applies"))


@dataclasses.dataclass
class Sampler:
    """A generator with what is needed to feed it. cWGAN: generate(z, y); SLOGAN:
    generate(z, None) with z drawn per component from the learned mixture (means, covariances)."""

    generate: Callable  # (z [N, z_dim], y [N, y_dim] or None) -> images [N, H, W, C] in [-1, 1]
    z_dim: int
    z_mean: float
    label_names: tuple
    label_kind: str
    model: str = "cwgan"
    means: Optional[np.ndarray] = None        # SLOGAN mu [K, d]
    covariances: Optional[np.ndarray] = None  # SLOGAN Sigma [K, d, d]

    def z(self, n, rng):
        return rng.normal(self.z_mean, 1.0, (n, self.z_dim)).astype(np.float32)

    def component_z(self, components, rng):
        """z_i ~ N(mu_c, Sigma_c) for c = components[i] (SLOGAN's prior, one component each)."""
        chol = np.linalg.cholesky(np.asarray(self.covariances, np.float64))
        eps = rng.standard_normal((len(components), self.means.shape[1]))
        z = self.means[components] + np.einsum("nij,nj->ni", chol[components], eps)
        return z.astype(np.float32)


def read_model_kind(run_dir=None, saved_model=None) -> str:
    """The model of a run or export, read from its description file only: nothing is built
    or restored."""
    if run_dir:
        from tfgan_suite import runs
        return runs.read_config(run_dir).model
    from tfgan_suite.export import read_metadata
    return read_metadata(saved_model)["model"]


def sampler_from_run(run_dir) -> Sampler:
    from tfgan_suite import runs
    from tfgan_suite.config import gaussian_z_mean
    model, config, info = runs.load_trained_model(run_dir)
    if config.model == "slogan":
        return Sampler(lambda z, y: model.generate(z).numpy(), config.z_dim, 0.0,
                       tuple(info.label_names), info.label_kind, "slogan",
                       model.prior.mu.numpy(), model.prior.sigma.numpy())
    return Sampler(lambda z, y: model.generate(z, y).numpy(), config.z_dim,
                   gaussian_z_mean(config), tuple(info.label_names), info.label_kind)


def sampler_from_saved_model(path) -> Sampler:
    import tensorflow as tf
    from tfgan_suite.export import read_metadata
    meta = read_metadata(path)
    serve = tf.saved_model.load(path).signatures["serving_default"]
    if meta["model"] == "slogan":
        return Sampler(lambda z, y: serve(z=tf.constant(z))["images"].numpy(), meta["z_dim"],
                       0.0, tuple(meta["label_names"]), meta["label_kind"], "slogan",
                       np.asarray(meta["means"], np.float32),
                       np.asarray(meta["covariances"], np.float32))
    return Sampler(lambda z, y: serve(z=tf.constant(z), y=tf.constant(y))["images"].numpy(),
                   meta["z_dim"], meta["z_mean"], tuple(meta["label_names"]), meta["label_kind"])


def _parse_labels(text, sampler, flag):
    """'Male,Smiling' (names switched on) or '0,1,0.5,...' (a full vector) -> y [label_dim]."""
    names = list(sampler.label_names)
    y = np.zeros(len(names), np.float32)
    if not text:
        return y
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if all(p in names for p in parts):  # names first: MNIST's class names are "0".."9"
        for p in parts:
            y[names.index(p)] = 1.0
        return y
    try:
        values = np.asarray([float(p) for p in parts], np.float32)
    except ValueError:
        unknown = [p for p in parts if p not in names]
        raise UserError(f"--{flag}: unknown label(s) {', '.join(unknown)}; valid: "
                        f"{', '.join(names)}") from None
    if len(values) != len(names):
        raise UserError(f"--{flag} needs {len(names)} values ({', '.join(names)}), got {len(values)}")
    return values


def _lerp(a, b, t):
    return (1.0 - t) * a + t * b


def figure(sampler: Sampler, mode: str, rows: int, frames: int, seed: int, base="", end="",
           low=0.0, high=1.0) -> np.ndarray:
    """Images [rows, cols, H, W, C] for one figure mode."""
    check_mode(mode, sampler.model)
    rng = np.random.default_rng(seed)
    if sampler.model == "slogan":
        return _component_figure(sampler, mode, rows, frames, rng, base, end)
    dim = len(sampler.label_names)
    base_y = _parse_labels(base, sampler, "base")
    if mode in ("swap", "classes"):
        if mode == "swap":
            flipped = np.where(np.eye(dim, dtype=bool), 1.0 - base_y, base_y).astype(np.float32)
            ys = np.concatenate([base_y[None], flipped])
        else:
            ys = np.eye(dim, dtype=np.float32)
        z = sampler.z(rows, rng)
        zz, yy = np.repeat(z, len(ys), 0), np.tile(ys, (rows, 1))
        cols = len(ys)
    elif mode == "interpolate":
        end_y = _parse_labels(end, sampler, "end") if end else \
            np.eye(dim, dtype=np.float32)[rng.integers(dim)]
        t = np.linspace(0.0, 1.0, frames, dtype=np.float32)[:, None]
        z0, z1 = sampler.z(rows, rng), sampler.z(rows, rng)
        zz = np.concatenate([_lerp(z0[r], z1[r], t) for r in range(rows)])
        yy = np.tile(_lerp(base_y, end_y, t), (rows, 1))
        cols = frames
    elif mode == "corners":
        corner_z = sampler.z(4, rng)
        corner_y = np.eye(dim, dtype=np.float32)[rng.choice(dim, 4, replace=dim < 4)]
        zz, yy = [], []
        for u in np.linspace(0.0, 1.0, frames, dtype=np.float32):
            for v in np.linspace(0.0, 1.0, frames, dtype=np.float32):
                w = np.array([(1 - u) * (1 - v), (1 - u) * v, u * (1 - v), u * v], np.float32)
                zz.append(w @ corner_z)
                yy.append(w @ corner_y)
        zz, yy = np.stack(zz), np.stack(yy)
        rows = cols = frames
    elif mode == "attribute":
        z = np.repeat(sampler.z(1, rng), dim * frames, 0)
        sweep = np.linspace(low, high, frames, dtype=np.float32)
        yy = np.tile(base_y, (dim * frames, 1))
        for a in range(dim):
            yy[a * frames:(a + 1) * frames, a] = sweep
        zz, rows, cols = z, dim, frames
    else:
        raise UserError(f"--mode={mode} is unknown; choose one of {', '.join(MODES)}")
    out = sampler.generate(np.asarray(zz, np.float32), np.asarray(yy, np.float32))
    return out.reshape((rows, cols) + out.shape[1:])


def _component_number(text, k, flag) -> Optional[int]:
    if not text:
        return None
    try:
        number = int(text)
    except ValueError:
        number = -1
    if not 0 <= number < k:
        raise UserError(f"--{flag}={text}: for a SLOGAN model, a component number 0..{k - 1}")
    return number


def _component_figure(sampler: Sampler, mode: str, rows: int, frames: int, rng, base="",
                      end="") -> np.ndarray:
    """SLOGAN figures: each learned component in turn, or interpolation between two."""
    k = len(sampler.means)
    if mode == "components":
        components = np.tile(np.arange(k), rows)
        zz, cols = sampler.component_z(components, rng), k
    else:  # interpolate
        first, last = _component_number(base, k, "base"), _component_number(end, k, "end")
        t = np.linspace(0.0, 1.0, frames, dtype=np.float32)[:, None]
        zz = []
        for _ in range(rows):
            a = first if first is not None else rng.choice([c for c in range(k) if c != last])
            b = last if last is not None else rng.choice([c for c in range(k) if c != a])
            z0, z1 = sampler.component_z(np.array([a, b]), rng)
            zz.append(_lerp(z0, z1, t))
        zz, cols = np.concatenate(zz), frames
    out = sampler.generate(np.asarray(zz, np.float32), None)
    return out.reshape((rows, cols) + out.shape[1:])


def define_flags():
    flags.DEFINE_string("run_dir", None, "Training run directory (latest checkpoint is used).")
    flags.DEFINE_string("saved_model", None, "Or: an exported SavedModel version directory.")
    flags.DEFINE_enum("mode", None, list(MODES), "Figure to make (see module docstring); "
                      "default swap for cwgan, components for slogan.")
    flags.DEFINE_string("output", None, "PNG path to write (required).")
    flags.DEFINE_integer("rows", 8, "Rows (z samples / endpoint pairs), > 0.")
    flags.DEFINE_integer("frames", 9, "Interpolation steps (> 1). The original uses 9.")
    flags.DEFINE_integer("seed", 0, "Seed for z and random endpoints.")
    flags.DEFINE_string("base", "", "Base condition: names switched on ('Male,Smiling') or a full "
                        "comma vector. Default all zeros.")
    flags.DEFINE_string("end", "", "interpolate: end condition (same syntax); default a random "
                        "class. SLOGAN: --base / --end are component numbers.")
    flags.DEFINE_float("low", 0.0, "attribute: sweep start.")
    flags.DEFINE_float("high", 1.0, "attribute: sweep end.")


@cli.user_errors_exit
def main(argv):
    del argv
    f = flags.FLAGS
    if bool(f.run_dir) == bool(f.saved_model):
        raise UserError("pass exactly one of --run_dir or --saved_model")
    if not f.output:
        raise UserError("--output is required (a .png path)")
    from tfgan_suite import quiet
    quiet.import_tensorflow()
    if f.rows <= 0 or f.frames <= 1:
        raise UserError("--rows must be > 0 and --frames > 1")
    kind = read_model_kind(f.run_dir, f.saved_model)
    if kind == "icgan":
        raise UserError("ICGAN's figures (digit x hue grid, colour ring, ablation) are drawn by "
                        "`python -m tfgan_suite.icgan_figures`")
    mode = f.mode or modes_for(kind)[0]
    check_mode(mode, kind)  # before the model is built and restored
    if kind in MODES["traversal"]:
        print(f"wrote {images.save_png(f.output, images.grid(_traversal(f)))}")
        return
    sampler = sampler_from_run(f.run_dir) if f.run_dir else sampler_from_saved_model(f.saved_model)
    if sampler.model == "cwgan" and not sampler.label_names:
        raise UserError("this generator has no condition labels; these figures need a "
                        "conditional model")
    result = figure(sampler, mode, f.rows, f.frames, f.seed, f.base, f.end, f.low, f.high)
    if result.ndim != 5:  # e.g. SLOGAN's 8 Gaussians: points, not images
        raise UserError(f"{f.run_dir or f.saved_model} generates points of shape "
                        f"{result.shape[2:]}, not images; its training samples/ folder holds "
                        "the scatter plots")
    print(f"wrote {images.save_png(f.output, images.grid(result))}")


def _traversal(f) -> np.ndarray:
    from tfgan_suite import disentangled_targets
    target = disentangled_targets.load(f.run_dir, f.saved_model, f.seed)
    base = None
    if f.base:
        try:
            base = [float(v) for v in f.base.split(",")]
        except ValueError:
            base = []
        if len(base) != target.c_dim:
            raise UserError(f"--base for a traversal: {target.c_dim} comma-separated numbers "
                            f"(a code c), got {f.base!r}")
    low = f.low if flags.FLAGS["low"].present else -3.0
    high = f.high if flags.FLAGS["high"].present else 3.0
    return disentangled_targets.traversal(target, f.frames, f.seed, low, high, base)


if __name__ == "__main__":
    define_flags()
    app.run(main, flags_parser=cli.parse_flags)
