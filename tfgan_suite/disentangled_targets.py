"""beta-VAE and ID-GAN runs or exports as the evaluation sees them (see eval_targets.py).

  generate(n)         n images in [-1, 1] with c ~ N(0, I) (and s ~ N(0, I) for ID-GAN with
                      s_dim > 0): the beta-VAE decoder's means, ID-GAN's averaged generator
  representation(x)   the mean of q(c|x) [N, c_dim] for images x in [-1, 1] (MIG, FVM)
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
