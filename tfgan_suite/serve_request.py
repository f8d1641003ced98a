"""Build the inputs of an exported generator: a TF Serving REST body or .npy files.

    python -m tfgan_suite.serve_request --saved_model=exports/cwgan_mnist5k/200 --n=4 --y=3 \
        --out=body.json
    curl -d @body.json localhost:8501/v1/models/cwgan:predict
    python -m tfgan_suite.serve_request --saved_model=exports/cwgan_mnist5k/200 --n=4 --y=3 \
        --npy_dir=inputs
    saved_model_cli run --dir exports/cwgan_mnist5k/200 --tag_set serve \
        --signature_def serving_default --inputs 'z=inputs/z.npy;y=inputs/y.npy'

Everything comes from the export's own metadata (assets.extra/tfgan_suite.json): cWGAN's z is
drawn from the N(z_mean, 1) it was trained with and y is the one-hot class (--y=3) or the
binary attributes named (--y=Male,Smiling; unnamed attributes 0); SLOGAN's serving_default z
comes from its learned mixture (component --component, or drawn by pi), and its
generate_component signature takes the component ids themselves; beta-VAE and ID-GAN exports
take c ~ N(0, I) (and s ~ N(0, I) where s_dim > 0). The REST body uses the row
format: {"signature_name": ..., "instances": [{"z": [...], "y": [...]}, ...]}.
"""

from __future__ import annotations

import json
import os

import numpy as np
from absl import app, flags

from tfgan_suite import cli
from tfgan_suite.errors import UserError

SIGNATURES = ("serving_default", "generate_component", "generate_digit_hue")


def _labels(meta: dict, y: str | None, n: int) -> np.ndarray:
    """y [n, label_dim] float32 for a cWGAN export."""
    names, kind = list(meta["label_names"]), meta["label_kind"]
    if y is None:
        raise UserError(f"--y is required for a cwgan export: a class index 0..{len(names) - 1}"
                        + (" or attribute names" if kind == "binary" else "")
                        + f" (labels: {', '.join(names)})")
    vector = np.zeros(len(names), np.float32)
    if kind == "onehot" and y.strip().lstrip("-").isdigit():
        index = int(y)
        if not 0 <= index < len(names):
            raise UserError(f"--y={y} is out of range: this export has {len(names)} classes "
                            f"(0..{len(names) - 1})")
        vector[index] = 1.0
    else:
        for name in (part.strip() for part in y.split(",") if part.strip()):
            if name not in names:
                raise UserError(f"--y: unknown label {name!r}; this export's labels: "
                                f"{', '.join(names)}")
            vector[names.index(name)] = 1.0
        if kind == "onehot" and vector.sum() != 1:
            raise UserError("--y: a one-hot export takes exactly one class")
    return np.tile(vector, (n, 1))


def _mixture_z(meta: dict, component: int | None, n: int, rng) -> np.ndarray:
    """z [n, d] from a SLOGAN export's learned mixture (pi, means, covariances)."""
    means = np.asarray(meta["means"], np.float64)
    covariances = np.asarray(meta["covariances"], np.float64)
    pi = np.asarray(meta["mixing_coefficients"], np.float64)
    ids = (np.full(n, component) if component is not None
           else rng.choice(len(pi), size=n, p=pi / pi.sum()))
    chol = np.linalg.cholesky(covariances)
    eps = rng.standard_normal((n, means.shape[1]))
    return (means[ids] + np.einsum("nij,nj->ni", chol[ids], eps)).astype(np.float32)


def build_inputs(meta: dict, n: int, y=None, component=None, signature="serving_default",
                 seed=0) -> dict:
    """{input name: array} for `signature` of the export described by `meta`."""
    if n <= 0:
        raise UserError(f"--n must be positive, got {n}")
    if signature not in meta.get("endpoints", SIGNATURES[:1]):
        raise UserError(f"--signature={signature}: this export has "
                        f"{', '.join(meta.get('endpoints', []))}")
    rng = np.random.default_rng(seed)
    if meta["model"] == "icgan":
        return _icgan_inputs(meta, n, y, component, signature, rng)
    if meta["model"] in ("betavae", "idgan"):
        if y is not None or component is not None:
            raise UserError(f"a {meta['model']} export takes its code c (drawn from N(0, I) here); "
                            "--y and --component do not apply")
        inputs = {"c": rng.normal(size=(n, int(meta["c_dim"]))).astype(np.float32)}
        if int(meta["s_dim"]):
            inputs["s"] = rng.normal(size=(n, int(meta["s_dim"]))).astype(np.float32)
        return inputs
    if meta["model"] == "cwgan":
        if component is not None:
            raise UserError("--component applies to SLOGAN exports; a cwgan export takes --y")
        z = rng.normal(meta["z_mean"], 1.0, (n, meta["z_dim"])).astype(np.float32)
        return {"z": z, "y": _labels(meta, y, n)}
    if y is not None:
        raise UserError("--y applies to cwgan exports; a SLOGAN export takes --component")
    k = int(meta["num_components"])
    if component is not None and not 0 <= component < k:
        raise UserError(f"--component={component} is out of range: this export has {k} "
                        f"components (0..{k - 1})")
    if signature == "generate_component":
        ids = np.full(n, component) if component is not None else rng.integers(0, k, n)
        return {"component": ids.astype(np.int32)}
    return {"z": _mixture_z(meta, component, n, rng)}


def _icgan_inputs(meta: dict, n: int, y, component, signature: str, rng) -> dict:
    """ICGAN: digit code --y (default: uniform), hue k / num_hues with k uniform, U(0, 1)
    noise; serving_default takes code = [one-hot digit | RGB of HSV(hue, 1, 1)] and noise."""
    if component is not None:
        raise UserError("--component applies to SLOGAN exports; an icgan export takes --y "
                        "(the digit code 0..9)")
    if y is None:
        digits = rng.integers(0, meta["num_digit_codes"], n)
    else:
        try:
            digit = int(y)
        except ValueError:
            raise UserError(f"--y={y!r}: an icgan export takes a digit code 0..9") from None
        if not 0 <= digit < meta["num_digit_codes"]:
            raise UserError(f"--y={digit} is out of range: digit codes are 0..9")
        digits = np.full(n, digit)
    hues = (rng.integers(0, meta["num_hues"], n) / meta["num_hues"]).astype(np.float32)
    noise = rng.uniform(size=(n, meta["noise_dim"])).astype(np.float32)
    if signature == "generate_digit_hue":
        return {"digit": digits.astype(np.int32), "hue": hues, "noise": noise}
    from tfgan_suite.hue import hue_to_rgb
    code = np.concatenate([np.eye(meta["num_digit_codes"])[digits], hue_to_rgb(hues)], axis=1)
    return {"code": code.astype(np.float32), "noise": noise}


def rest_body(inputs: dict, signature: str) -> dict:
    """TF Serving's REST row format: one object per example, every input batched."""
    n = len(next(iter(inputs.values())))
    instances = [{name: value[i].tolist() for name, value in inputs.items()} for i in range(n)]
    return {"signature_name": signature, "instances": instances}


def write(inputs: dict, signature: str, out: str | None, npy_dir: str | None) -> list:
    """Write the body (out) and/or .npy files (npy_dir); returns the paths written."""
    written = []
    if npy_dir:
        os.makedirs(npy_dir, exist_ok=True)
        for name, value in inputs.items():
            path = os.path.join(npy_dir, f"{name}.npy")
            np.save(path, value)
            written.append(path)
    body = json.dumps(rest_body(inputs, signature))
    if out:
        directory = os.path.dirname(os.path.abspath(out))
        os.makedirs(directory, exist_ok=True)
        with open(out, "w", encoding="utf-8") as fh:
            fh.write(body)
        written.append(out)
    elif not npy_dir:
        print(body)
    return written


def define_flags():
    flags.DEFINE_string("saved_model", None, "Export version directory "
                        "(<export_dir>/<name>/<version>).")
    flags.DEFINE_integer("n", 4, "Examples in the request.")
    flags.DEFINE_string("y", None, "cwgan: class index (one-hot exports) or comma-separated "
                        "attribute names set to 1 (binary exports); icgan: the digit code.")
    flags.DEFINE_integer("component", None, "slogan: mixture component (default: drawn by pi).")
    flags.DEFINE_enum("signature", "serving_default", list(SIGNATURES), "Signature to call.")
    flags.DEFINE_integer("seed", 0, "Seed for z.")
    flags.DEFINE_string("out", None, "Write the REST body here (default: print it).")
    flags.DEFINE_string("npy_dir", None, "Write <input>.npy files here for saved_model_cli run.")


@cli.user_errors_exit
def main(argv):
    del argv
    f = flags.FLAGS
    if not f.saved_model:
        raise UserError("--saved_model is required: an export version directory")
    from tfgan_suite.export import read_metadata
    meta = read_metadata(f.saved_model)
    inputs = build_inputs(meta, f.n, f.y, f.component, f.signature, f.seed)
    for path in write(inputs, f.signature, f.out, f.npy_dir):
        print(f"wrote {path}")
    if f.npy_dir:
        pairs = ";".join(f"{name}={os.path.join(f.npy_dir, name)}.npy" for name in inputs)
        print(f"saved_model_cli run --dir {f.saved_model} --tag_set serve --signature_def "
              f"{f.signature} --inputs '{pairs}'")


if __name__ == "__main__":
    define_flags()
    app.run(main, flags_parser=cli.parse_flags)
