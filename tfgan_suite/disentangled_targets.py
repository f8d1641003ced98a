"""beta-VAE and ID-GAN runs or exports as the evaluation sees them (see eval_targets.py).

  generate(n)         n images in [-1, 1] with c ~ N(0, I) (and s ~ N(0, I) for ID-GAN with
                      s_dim > 0): the beta-VAE decoder's means, ID-GAN's averaged generator
  representation(x)   the mean of q(c|x) [N, c_dim] for images x in [-1, 1] (MIG, FVM)
  decode(c, s)        images of given codes (latent traversals)
"""

from __future__ import annotations

from typing import Callable

import numpy as np


class DisentangledTarget:
    conditional = False
    num_components = 0

    def __init__(self, info, step: int, c_dim: int, s_dim: int, decode: Callable,
                 represent: Callable, seed: int):
        self.info, self.step, self.c_dim, self.s_dim = info, step, c_dim, s_dim
        self._decode, self._represent = decode, represent
        self._rng = np.random.default_rng(seed)

    def generate(self, n: int) -> np.ndarray:
        return self.generate_with_codes(n)[1]

    def generate_with_codes(self, n: int) -> tuple:
        """(c [n, c_dim], images [n, H, W, C]) with c ~ N(0, I) (GILBO reads both)."""
        c = self._rng.normal(size=(n, self.c_dim)).astype(np.float32)
        s = self._rng.normal(size=(n, self.s_dim)).astype(np.float32)
        return c, np.asarray(self._decode(c, s))

    def decode(self, c, s=None) -> np.ndarray:
        """Images of codes c [N, c_dim] (and nuisance s [N, s_dim]; zeros when None)."""
        c = np.asarray(c, np.float32)
        s = np.zeros((len(c), self.s_dim), np.float32) if s is None else np.asarray(s, np.float32)
        return np.asarray(self._decode(c, s))

    def representation(self, x) -> np.ndarray:
        return np.asarray(self._represent(np.asarray(x, np.float32)))


def model_target(info, model, seed: int) -> DisentangledTarget:
    """The target of a model in memory (BetaVAE or IDGAN)."""
    step = int(model.step.numpy())
    if info.model == "betavae":
        def decode(c, s):
            return model.decode(c).numpy()
        s_dim = 0
    else:
        def decode(c, s):
            return model.generate(c, s).numpy()
        s_dim = model.s_dim
    return DisentangledTarget(info, step, model.c_dim, s_dim, decode,
                              lambda x: model.encode(x)[0].numpy(), seed)


def saved_model_target(info, loaded, meta: dict, seed: int) -> DisentangledTarget:
    """The target of a loaded SavedModel (signatures serving_default and encode)."""
    import tensorflow as tf

    serve, encode = loaded.signatures["serving_default"], loaded.signatures["encode"]
    s_dim = int(meta.get("s_dim", 0))

    def decode(c, s):
        inputs = {"c": tf.constant(c)}
        if s_dim:
            inputs["s"] = tf.constant(s)
        return serve(**inputs)["images"].numpy()
    return DisentangledTarget(info, int(meta["step"]), int(meta["c_dim"]), s_dim, decode,
                              lambda x: encode(images=tf.constant(x))["mean"].numpy(), seed)


def load(run_dir=None, saved_model=None, seed: int = 0) -> DisentangledTarget:
    """The target of a betavae / idgan run directory or export."""
    if run_dir:
        from tfgan_suite import runs
        model, config, _ = runs.load_trained_model(run_dir)
        return model_target(config, model, seed)
    import tensorflow as tf
    from tfgan_suite.export import read_metadata
    meta = read_metadata(saved_model)
    return saved_model_target(meta, tf.saved_model.load(saved_model), meta, seed)


def traversal(target: DisentangledTarget, frames: int, seed: int, low: float = -3.0,
              high: float = 3.0, base=None) -> np.ndarray:
    """[c_dim, frames, H, W, C]: row j sweeps c_j from `low` to `high` with the other
    dimensions at `base` (default c ~ N(0, I) from `seed`) and s fixed."""
    from tfgan_suite.models.betavae import traversal_grid

    rng = np.random.default_rng(seed)
    anchor = rng.normal(size=target.c_dim).astype(np.float32) if base is None else \
        np.asarray(base, np.float32)
    s = rng.normal(size=(1, target.s_dim)).astype(np.float32)
    return traversal_grid(lambda c: target.decode(c, np.repeat(s, len(c), 0)), anchor,
                          np.linspace(low, high, frames, dtype=np.float32))
