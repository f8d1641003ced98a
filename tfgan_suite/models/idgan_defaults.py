"""Paper settings of the beta-VAE (stage 1) and ID-GAN (stage 2), per dataset family.

From Lee et al. 2020 (ID-GAN), Sec. 5.1 / Appendix C, and the original code (1Konny/idgan:
scripts/run_dsprites.sh, configs/dsprites.yaml, configs/celebA-64.yaml, dvae_main.py). Imports
nothing heavy: the flag definitions read it.
"""

from __future__ import annotations

DSPRITES_FAMILY = ("dsprites", "color_dsprites", "noisy_dsprites")

# beta-VAE: Adam(1e-4, 0.9, 0.999), batch 64. dSprites: c = 10, beta = 8, Bernoulli decoder,
# 500k iterations (run_dsprites.sh --max_iter 5e5); colour / noisy dSprites and natural images:
# Gaussian decoder; CelebA: c = 20, beta = 6.4.
BETAVAE_DEFAULTS = dict(batch_size=64, learning_rate=1e-4, beta1=0.9, beta2=0.999, steps=500_000)
BETAVAE_DATASET_DEFAULTS = {
    "dsprites": dict(c_dim=10, beta=8.0, likelihood="bernoulli"),
    "color_dsprites": dict(c_dim=10, beta=8.0, likelihood="gaussian"),
    "noisy_dsprites": dict(c_dim=10, beta=8.0, likelihood="gaussian"),
    "celeba": dict(c_dim=20, beta=6.4, likelihood="gaussian"),
}
BETAVAE_OTHER = dict(c_dim=20, beta=6.4, likelihood="gaussian")   # other 64x64 image sets

# ID-GAN: non-saturating GAN loss + R1 (gamma 10, no 1/2), RMSprop, G EMA 0.999, batch 64,
# 300k iterations. dSprites: s_dim 0 (G sees only c), w_info 1e-4, lr_g 1e-3, lr_d 1e-4.
# CelebA-64: s ~ N(0, I_256), w_info 1e-3, lr_g = lr_d = 1e-4, ResNet G / D.
IDGAN_DEFAULTS = dict(batch_size=64, penalty_weight=10.0, ema_decay=0.999, steps=300_000)
IDGAN_DATASET_DEFAULTS = {
    "dsprites": dict(s_dim=0, w_info=1e-4, learning_rate=1e-3, d_learning_rate=1e-4),
}
IDGAN_IMAGE_DEFAULTS = dict(s_dim=256, w_info=1e-3, learning_rate=1e-4, d_learning_rate=1e-4)


def betavae_defaults(dataset: str) -> dict:
    return {**BETAVAE_DEFAULTS, **BETAVAE_DATASET_DEFAULTS.get(dataset, BETAVAE_OTHER)}


def idgan_defaults(dataset: str) -> dict:
    family = "dsprites" if dataset in DSPRITES_FAMILY else None
    return {**IDGAN_DEFAULTS, **IDGAN_DATASET_DEFAULTS.get(family, IDGAN_IMAGE_DEFAULTS)}


def uses_dsprites_networks(dataset: str) -> bool:
    """dSprites and its variants use the VAE-shaped G / D (Table A.3), other data the ResNets."""
    return dataset in DSPRITES_FAMILY
