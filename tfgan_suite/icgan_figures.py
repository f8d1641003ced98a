"""ICGAN figures (Wang et al.): the digit x hue grid (Fig. 4a), the colour-ring sweep with its
measured hue curve (Fig. 4b, Fig. 6), and the layer-wise / accumulative activation ablation
(Sec. 5, Eq. 7, Fig. 7).

    python -m tfgan_suite.icgan_figures --run_dir=runs/icgan_colormnist --mode=grid --output=grid.png
    python -m tfgan_suite.icgan_figures --saved_model=exports/icgan_colormnist/1800 --mode=ring \
        --digit=0 --steps=400 --output=ring.png          # also writes ring_hue.png
    python -m tfgan_suite.icgan_figures --run_dir=runs/icgan_colormnist --mode=ablation \
        --output=ablation.png                            # needs the run (the Keras generator)

Rows of the grid are the 10 digit codes, columns the hues j / --hues; one fixed noise vector
(from --seed) throughout. Digit codes are learned without labels: code c need not show digit c.
"""

from __future__ import annotations

import os

import numpy as np
from absl import app, flags

from tfgan_suite import cli
from tfgan_suite.errors import UserError

MODES = ("grid", "ring", "ablation")


def _target(run_dir, saved_model, seed):
    from tfgan_suite import eval_targets
    info = eval_targets.describe_target(run_dir, saved_model)
    if info.model != "icgan":
        raise UserError(f"these figures are ICGAN's; {run_dir or saved_model} holds a {info.model} "
                        "model (use python -m tfgan_suite.generate)")
    return eval_targets.load_target(info, np.zeros((0, 10), np.float32), seed)


def digit_hue_grid(target, hues: int, seed: int) -> np.ndarray:
    """[10, hues, H, W, C] in [-1, 1]: row = digit code, column = hue j / hues."""
    noise = np.random.default_rng(seed).uniform(size=target.noise_dim).astype(np.float32)
    digits = np.repeat(np.arange(10), hues)
    images = target.generate_codes(digits, np.tile(np.arange(hues) / hues, 10),
                                   np.repeat(noise[None], len(digits), 0))
    return images.reshape((10, hues) + images.shape[1:])


def ring_figure(target, digit: int, steps: int, seed: int, output: str) -> dict:
    """The sweep as a mosaic (rows of 20) at `output` and the measured background hue against
    the code's hue at <output>_hue.png; returns the ring's Hue MSE (metrics.disentanglement)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from tfgan_suite import images
    from tfgan_suite.metrics import disentanglement

    noise = np.random.default_rng(seed).uniform(size=target.noise_dim).astype(np.float32)
    ring = target.color_ring(digit, steps, noise)
    cols = 20
    padded = np.concatenate([ring, np.ones((-len(ring) % cols,) + ring.shape[1:], np.float32)])
    images.save_png(output, images.grid(padded.reshape((-1, cols) + ring.shape[1:])))
    hues = disentanglement.background_hues(images.to_uint8(ring))
    result = disentanglement.hue_ring_mse(hues)
    fig, ax = plt.subplots(figsize=(5, 4), dpi=100)
    ax.plot(np.arange(steps) / steps, hues, ".", markersize=2)
    ax.set_xlabel("hue of the colour code")
    ax.set_ylabel("background hue of the generated image")
    ax.set_title(f"digit code {digit}: Hue MSE {result['hue_mse']:.2e} "
                 f"({'flipped, ' if result['flipped'] else ''}rotation {result['rotation']})",
                 fontsize=9)
    fig.tight_layout()
    stem, _ = os.path.splitext(output)
    fig.savefig(f"{stem}_hue.png")
    plt.close(fig)
    return result


def ablation_figure(run_dir: str, seed: int, fraction: float, output: str) -> str:
    """Fig. 7: rows = digit codes 0..9, columns = original then D11 ... C32; the layer-wise
    ablation on the left, the accumulative one on the right."""
    from tfgan_suite import icgan_ablation, images, runs
    from tfgan_suite.models.icgan import compose_latent

    model, config, _ = runs.load_trained_model(run_dir)
    if config.model != "icgan" or config.arch != "icgan":
        raise UserError("the ablation reads the layers D11 ... C32 of an ICGAN generator "
                        "(--icgan_arch=icgan)")
    rng = np.random.default_rng(seed)
    z = compose_latent(np.arange(10), rng.integers(config.num_hues, size=10) / config.num_hues,
                       rng.uniform(size=(10, model.noise_dim)))
    single, cumulative = icgan_ablation.ablation_grids(model.generator, z, fraction)
    gap = np.ones((10, 1) + single.shape[2:], np.float32)
    return images.save_png(output, images.grid(np.concatenate([single, gap, cumulative], 1)))


def define_flags():
    flags.DEFINE_string("run_dir", None, "ICGAN training run (its latest checkpoint).")
    flags.DEFINE_string("saved_model", None, "Or an exported ICGAN version directory "
                        "(grid and ring only).")
    flags.DEFINE_enum("mode", "grid", list(MODES), "grid (digit x hue), ring (colour sweep and "
                      "hue curve) or ablation (Eq. 7, Fig. 7).")
    flags.DEFINE_string("output", None, "PNG file to write.")
    flags.DEFINE_integer("hues", 10, "grid: hue columns j / hues.")
    flags.DEFINE_integer("digit", 0, "ring: digit code (0..9), as Fig. 4b's 0.")
    flags.DEFINE_integer("steps", 400, "ring: hue steps (Fig. 4b: 400; Table 3: 900).")
    flags.DEFINE_float("fraction", 0.1, "ablation: share of each layer's channels suppressed "
                       "(paper: the top 10%).")
    flags.DEFINE_integer("seed", 0, "Seed of the noise (and the ablation's hues).")


@cli.user_errors_exit
def main(argv):
    del argv
    f = flags.FLAGS
    if not f.output or not f.output.endswith(".png"):
        raise UserError("--output must name a .png file")
    if not 0 <= f.digit <= 9 or f.hues <= 0 or f.steps < 2 or not 0 < f.fraction < 1:
        raise UserError("need --digit in 0..9, --hues > 0, --steps >= 2, 0 < --fraction < 1")
    if f.mode == "ablation":
        if not f.run_dir:
            raise UserError("--mode=ablation needs --run_dir (the Keras generator's layers)")
        print(f"wrote {ablation_figure(f.run_dir, f.seed, f.fraction, f.output)}")
        return
    from tfgan_suite import images
    target = _target(f.run_dir, f.saved_model, f.seed)
    if f.mode == "grid":
        images.save_png(f.output, images.grid(digit_hue_grid(target, f.hues, f.seed)))
        print(f"wrote {f.output}")
        return
    result = ring_figure(target, f.digit, f.steps, f.seed, f.output)
    print(f"wrote {f.output} and its _hue.png; Hue MSE {result['hue_mse']:.3g}")


if __name__ == "__main__":
    define_flags()
    app.run(main, flags_parser=cli.parse_flags)
