"""MIG, the FactorVAE metric and GILBO, registered for the models of ID-GAN (betavae, idgan).

MIG and FVM read the model's representation (the mean of q(c|x)) of images whose ground-truth factors
are known: datasets with a factor grid (dSprites and its variants, `DSpritesSource`). ID-GAN's
representation is its distilled (frozen) beta-VAE encoder, as in the paper.
"""

from __future__ import annotations

import numpy as np

from tfgan_suite.errors import UserError
from tfgan_suite.metrics import factor_disentanglement as disentanglement, gilbo as gilbo_lib
from tfgan_suite.metrics.registry import metric

MODELS = ("betavae", "idgan")


def _representation(inputs):
    """classes [N, K] -> codes [N, c_dim] through the target's encoder, in batches."""
    from tfgan_suite.data.base import to_model_units

    source = inputs.source
    if not hasattr(source, "images_of"):
        raise UserError(f"MIG and FVM need ground-truth factors; dataset {source.info.name!r} "
                        "has none (use dsprites, color_dsprites or noisy_dsprites)")
    size = max(inputs.request.batch_size, 64)

    def represent(classes):
        return np.concatenate([
            inputs.target.representation(to_model_units(source.images_of(classes[i:i + size])))
            for i in range(0, len(classes), size)])
    return source, represent


@metric("mig", models=MODELS, summary="Mutual Information Gap (Chen et al. 2018), "
        "disentanglement_lib definition, on --mig_samples random grid points")
def mig(inputs):
    source, represent = _representation(inputs)
    rng = np.random.default_rng(inputs.seed)
    classes = disentanglement.sample_factors(source.factor_sizes, inputs.request.mig_samples, rng)
    result = disentanglement.mig(represent(classes), classes)
    result["factors"] = list(source.factor_names)
    return {"mig": result["mig"]}, {"mig": result}


@metric("fvm", models=MODELS, summary="FactorVAE metric (Kim & Mnih 2018), disentanglement_lib "
        "definition: --fvm_votes training votes, half as many evaluation votes, batch 64")
def fvm(inputs):
    source, represent = _representation(inputs)
    votes = inputs.request.fvm_votes
    result = disentanglement.factor_vae_score(
        represent, source.factor_sizes, seed=inputs.seed, num_train=votes,
        num_eval=max(1, votes // 2), num_variance_estimate=inputs.request.mig_samples)
    values = {"fvm": result["fvm"], "fvm_train": result["fvm_train"]}
    return values, {"fvm": dict(result, factors=list(source.factor_names))}


@metric("gilbo", models=MODELS, summary="GILBO (Alemi & Fischer 2018): a fresh encoder trained "
        "--gilbo_steps batches on generated (c, G(s, c)), then E[log e(c|x) - log p(c)] in nats "
        "on --num_samples samples")
def gilbo(inputs):
    target = inputs.target
    result = gilbo_lib.gilbo(target.generate_with_codes, inputs.source.info.example_shape,
                             target.c_dim, steps=inputs.request.gilbo_steps,
                             eval_samples=inputs.request.num_samples, seed=inputs.seed)
    return {"gilbo": result["gilbo"]}, {"gilbo": result}
