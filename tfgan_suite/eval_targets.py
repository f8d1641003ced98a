"""Trained generators as the evaluation sees them, from a run directory or an exported SavedModel.

`describe_target` reads only the run's config.json or the export's metadata, so the evaluation
CLI can check the requested metrics against the model and dataset before loading any weights.
`load_target` then restores the model and wraps it in one interface, whatever its origin:

  generate(n)               n images in [-1, 1] from the model as a whole
                            (cWGAN: y drawn from the real labels; SLOGAN: c ~ Categorical(pi))
  generate_for(c, n)        n images of class c (cWGAN: one-hot y) / mixture component c (SLOGAN)
  cluster_probabilities(x)  SLOGAN only: p(c | x) [N, K] of real examples in model units (Eq. 67)
  mixing_coefficients()     SLOGAN only: the learned pi [K]

All sampling is driven by one seed, so an evaluation is reproducible.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Callable, Optional

import numpy as np

from tfgan_suite import data
from tfgan_suite.errors import UserError


@dataclasses.dataclass(frozen=True)
class TargetInfo:
    """What a trained model is (no weights read). source: "run_dir" or "saved_model"."""

    model: str
    source: str
    path: str
    dataset: str
    dataset_options: dict
    data_dir: Optional[str]
    z_dim: int
    z_mean: Optional[float]   # cwgan: z ~ N(z_mean, 1); None for SLOGAN (learnt prior)

    def dataset_info(self) -> data.DatasetInfo:
        return data.describe(self.dataset, **self.dataset_options)


def describe_target(run_dir: Optional[str] = None, saved_model: Optional[str] = None) -> TargetInfo:
    """TargetInfo of exactly one of a training run directory or a SavedModel version directory."""
    from tfgan_suite import config as config_lib, export, runs

    if bool(run_dir) == bool(saved_model):
        raise UserError("pass exactly one of --run_dir (a training run) or --saved_model (an "
                        "exported version directory, e.g. exports/cwgan_mnist/1000)")
    if run_dir:
        config = runs.read_config(run_dir)
        return TargetInfo(config.model, "run_dir", os.path.abspath(run_dir), config.dataset,
                          dict(config.dataset_options), config.data_dir, config.z_dim,
                          config_lib.gaussian_z_mean(config))
    if not os.path.isdir(saved_model):
        raise UserError(f"--saved_model={saved_model} is not a directory: pass a version "
                        "directory such as exports/cwgan_mnist/1000")
    meta = export.read_metadata(saved_model)
    # Exports record the dataset by name; options set at training time (e.g. --class_ratio)
    # are only known when the metadata carries them.
    info = TargetInfo(meta["model"], "saved_model", os.path.abspath(saved_model), meta["dataset"],
                      dict(meta.get("dataset_options", {})), None, meta["z_dim"], meta["z_mean"])
    labels = tuple(info.dataset_info().label_names)
    if labels != tuple(meta["label_names"]):
        raise UserError(f"{saved_model} was trained with labels {meta['label_names']} but dataset "
                        f"{meta['dataset']!r} with its default options has {list(labels)}: "
                        "evaluate the training run (--run_dir) instead")
    return info


class CWGANTarget:
    """A conditional generator G(z, y) (cWGAN-GP)."""

    conditional = True
    num_components = 0

    def __init__(self, info: TargetInfo, step: int, generate_zy: Callable, label_pool: np.ndarray,
                 seed: int):
        self.info, self.step = info, step
        self._generate_zy = generate_zy
        self._labels = np.asarray(label_pool, np.float32)
        self._rng = np.random.default_rng(seed)

    def _z(self, n):
        return self._rng.normal(self.info.z_mean, 1.0, (n, self.info.z_dim)).astype(np.float32)

    def generate(self, n: int) -> np.ndarray:
        """Unconditional samples: y of randomly drawn real examples, so classes follow the data."""
        if len(self._labels) == 0:
            raise UserError("no real labels to draw conditions from: the split is empty")
        y = self._labels[self._rng.integers(len(self._labels), size=n)]
        return np.asarray(self._generate_zy(self._z(n), y))

    def generate_for(self, c: int, n: int) -> np.ndarray:
        """Samples of class c: y = one-hot(c) (one-hot label datasets)."""
        y = np.zeros((n, self._labels.shape[1]), np.float32)
        y[:, c] = 1.0
        return np.asarray(self._generate_zy(self._z(n), y))


class InfoSCCTarget(CWGANTarget):
    """InfoSCC-GAN's G(y, eps) (zs drawn inside), with its frozen encoder and classifier:
    encode(x) -> features h, classify(x) -> attribute logits, for x in [-1, 1]."""

    def __init__(self, info, step, generate_zy, label_pool, seed, encode, classify,
                 label_kind, y_dim):
        super().__init__(info, step, generate_zy, label_pool, seed)
        self._encode, self._classify = encode, classify
        self.label_kind, self.y_dim = label_kind, y_dim

    def generate(self, n: int) -> np.ndarray:
        """Classes uniformly (the original's label sampler), attribute vectors from the data."""
        if self.label_kind == "onehot":
            return self.generate_y(np.eye(self.y_dim, dtype=np.float32)[
                self._rng.integers(self.y_dim, size=n)])
        return super().generate(n)

    def generate_y(self, y) -> np.ndarray:
        y = np.asarray(y, np.float32)
        return np.asarray(self._generate_zy(self._z(len(y)), y))

    def generate_for(self, c: int, n: int) -> np.ndarray:
        return self.generate_y(np.eye(self.y_dim, dtype=np.float32)[np.full(n, c)])

    def encode(self, x) -> np.ndarray:
        return np.asarray(self._encode(np.asarray(x, np.float32)))

    def classify(self, x) -> np.ndarray:
        return np.asarray(self._classify(np.asarray(x, np.float32)))


class SLOGANTarget:
    """An unsupervised conditional generator with a learned Gaussian-mixture prior (SLOGAN).

    generate_component(ids int32 [N], seed int [2]) -> images of those components;
    cluster_probabilities(x [N, ...] in model units) -> p(c | x) [N, K]."""

    conditional = False

    def __init__(self, info: TargetInfo, step: int, generate_component: Callable,
                 cluster_probabilities: Callable, mixing_coefficients, seed: int):
        self.info, self.step = info, step
        self._generate_component = generate_component
        self._cluster_probabilities = cluster_probabilities
        self._pi = np.asarray(mixing_coefficients, np.float64)
        self.num_components = len(self._pi)
        self._rng = np.random.default_rng(seed)

    def generate(self, n: int) -> np.ndarray:
        """c ~ Categorical(pi), then z ~ N(mu_c, Sigma_c): the prior's own sampling, done in two
        steps so that a SavedModel (which exposes components, not the mixture) samples alike."""
        ids = self._rng.choice(self.num_components, size=n, p=self._pi / self._pi.sum())
        return self.generate_for_ids(ids)

    def generate_for(self, c: int, n: int) -> np.ndarray:
        return self.generate_for_ids(np.full(n, c))

    def generate_for_ids(self, ids) -> np.ndarray:
        """Images from the components `ids` (int [N]); the latent noise is seeded from the
        target's stream where the model takes a seed (run directories)."""
        seed = self._rng.integers(0, 2**31 - 1, size=2)
        return np.asarray(self._generate_component(np.asarray(ids, np.int32), seed))

    def cluster_probabilities(self, x) -> np.ndarray:
        return np.asarray(self._cluster_probabilities(np.asarray(x, np.float32)))

    def mixing_coefficients(self) -> np.ndarray:
        return self._pi.copy()


class ICGANTarget:
    """A generator of coded latents z = [one-hot digit code | RGB of a hue | U(0, 1) noise]
    (ICGAN, w/o IC, InfoGAN). generate_digit_hue(digits int [N], hues float [N], noise [N, n])
    -> images in [-1, 1]; the codes are unsupervised, so code c need not show digit c."""

    conditional = False
    num_components = 0

    def __init__(self, info: TargetInfo, step: int, generate_digit_hue: Callable, noise_dim: int,
                 num_hues: int, seed: int):
        self.info, self.step = info, step
        self._generate = generate_digit_hue
        self.noise_dim, self.num_hues = int(noise_dim), int(num_hues)
        self._rng = np.random.default_rng(seed)

    def generate_codes(self, digits, hues, noise) -> np.ndarray:
        return np.asarray(self._generate(np.asarray(digits, np.int32),
                                         np.asarray(hues, np.float32),
                                         np.asarray(noise, np.float32)))

    def generate_with_codes(self, n: int, digit: Optional[int] = None) -> tuple:
        """(images, digit codes [n]): the training prior (digit code uniform, hue k / num_hues
        with k uniform, noise U(0, 1)), or a fixed digit code."""
        digits = self._rng.integers(10, size=n) if digit is None else np.full(n, digit)
        hues = self._rng.integers(self.num_hues, size=n) / self.num_hues
        noise = self._rng.uniform(size=(n, self.noise_dim))
        return self.generate_codes(digits, hues, noise), digits

    def generate(self, n: int) -> np.ndarray:
        return self.generate_with_codes(n)[0]

    def generate_for(self, c: int, n: int) -> np.ndarray:
        """Images of latent digit code c."""
        return self.generate_with_codes(n, c)[0]

    def color_ring(self, digit: int, steps: int, noise, batch_size: int = 100) -> np.ndarray:
        """The colour-ring sweep: hue code i / steps for i < steps, digit code and noise fixed."""
        hues = np.arange(steps) / steps
        parts = [self.generate_codes(np.full(len(h), digit), h, np.repeat(noise[None], len(h), 0))
                 for h in np.array_split(hues, max(1, -(-steps // batch_size)))]
        return np.concatenate(parts)


def model_target(info: TargetInfo, model, label_pool: np.ndarray, seed: int):
    """The target of a model in memory (restored from a run directory's checkpoint), at the
    weights it holds now. Sampling is seeded by `seed` only: it leaves the model's own noise
    stream untouched."""
    import tensorflow as tf

    step = int(model.step.numpy())
    if info.model == "icgan":
        from tfgan_suite.models.icgan import compose_latent
        return ICGANTarget(info, step,
                           lambda d, h, n: model.generate(compose_latent(d, h, n)).numpy(),
                           model.noise_dim, model.num_hues, seed)
    if info.model in ("betavae", "idgan"):
        from tfgan_suite import disentangled_targets
        return disentangled_targets.model_target(info, model, seed)
    if info.model == "infoscc":
        rng = np.random.default_rng(seed)
        g = model.generator

        def generate(eps, y):
            zs = rng.normal(size=(len(y), g.n_blocks, g.n_basis)).astype(np.float32)
            return model.generate(tf.constant(y), tf.constant(eps), tf.constant(zs)).numpy()
        return InfoSCCTarget(info, step, generate, label_pool, seed,
                             lambda x: model.encoder(tf.constant(x), training=False)[0].numpy(),
                             lambda x: model.classify(tf.constant(x)).numpy(),
                             model.label_kind, model.y_dim)
    if info.model == "cwgan":
        return CWGANTarget(info, step, lambda z, y: model.generate(z, y).numpy(), label_pool, seed)
    return SLOGANTarget(
        info, step,
        lambda ids, seed: model.generate_component(tf.constant(ids, tf.int32),
                                                   seed=tf.constant(seed, tf.int32)),
        lambda x: model.cluster_probabilities(tf.constant(x)),
        model.prior.mixing_coefficients().numpy(), seed)


def load_target(info: TargetInfo, label_pool: np.ndarray, seed: int):
    """Restore the model described by `info`: a CWGANTarget or a SLOGANTarget.

    label_pool: real condition vectors [N, label_dim] that cWGAN's generate(n) draws y from."""
    import tensorflow as tf

    tf.random.set_seed(seed)  # noise drawn inside a SavedModel's signatures
    if info.source == "run_dir":
        from tfgan_suite import runs
        model, _, _ = runs.load_trained_model(info.path)
        return model_target(info, model, label_pool, seed)

    from tfgan_suite.export import read_metadata
    meta = read_metadata(info.path)
    loaded = tf.saved_model.load(info.path)  # the lambdas below keep it alive
    if info.model in ("betavae", "idgan"):
        from tfgan_suite import disentangled_targets
        return disentangled_targets.saved_model_target(info, loaded, meta, seed)
    needed = {"cwgan": ("serving_default",), "icgan": ("generate_digit_hue",),
              "infoscc": ("serving_default", "classify")}.get(
        info.model, ("generate_component", "cluster_probabilities"))
    missing = [name for name in needed if name not in loaded.signatures]
    if missing:
        raise UserError(f"{info.path} lacks the serving signature(s) {', '.join(missing)}: "
                        "export it again with `python -m tfgan_suite.export`")
    step = int(meta["step"])
    if info.model == "icgan":
        return ICGANTarget(
            info, step,
            lambda d, h, n: loaded.signatures["generate_digit_hue"](
                digit=tf.constant(d), hue=tf.constant(h), noise=tf.constant(n))["images"].numpy(),
            meta["noise_dim"], meta["num_hues"], seed)
    if info.model == "infoscc":
        if "encode" not in loaded.signatures:
            raise UserError(f"{info.path} lacks the 'encode' signature that chamfer_tsne needs: "
                            "export it again with `python -m tfgan_suite.export`")
        return InfoSCCTarget(
            info, step,
            lambda z, y: loaded.signatures["serving_default"](
                y=tf.constant(y), eps=tf.constant(z))["images"].numpy(),
            label_pool, seed,
            lambda x: loaded.signatures["encode"](images=tf.constant(x))["features"].numpy(),
            lambda x: loaded.signatures["classify"](images=tf.constant(x))["logits"].numpy(),
            meta["label_kind"], int(meta["condition_dim"]))
    if info.model == "cwgan":
        return CWGANTarget(
            info, step,
            lambda z, y: loaded.signatures["serving_default"](
                z=tf.constant(z), y=tf.constant(y))["images"].numpy(),
            label_pool, seed)
    return SLOGANTarget(
        info, step,
        # The serving signature takes no seed: its latent noise is not reproducible.
        lambda ids, seed: loaded.signatures["generate_component"](
            component=tf.constant(ids, tf.int32))["images"],
        lambda x: loaded.signatures["cluster_probabilities"](images=tf.constant(x))["probabilities"],
        meta["mixing_coefficients"], seed)
