"""MIG and the FactorVAE metric on constructed representations whose answers are known: the
factors themselves (perfectly disentangled), a random rotation of them (entangled), and codes
without information."""

import numpy as np
import pytest

from tfgan_suite.data import dsprites
from tfgan_suite.metrics import factor_disentanglement as disentanglement

SIZES = dsprites.FACTOR_SIZES


def standardised(classes):
    classes = np.asarray(classes, np.float64)
    return (classes - (np.array(SIZES) - 1) / 2) / np.array(SIZES)


def entropy(labels):
    p = np.bincount(labels) / len(labels)
    p = p[p > 0]
    return -(p * np.log(p)).sum()


def test_mig_of_the_factors_themselves_is_the_binning_limit():
    rng = np.random.default_rng(0)
    factors = disentanglement.sample_factors(SIZES, 10_000, rng)
    codes = np.concatenate([standardised(factors), rng.normal(0, 1, (10_000, 5))], 1)
    result = disentanglement.mig(codes, factors)
    # The informative code of factor k keeps H(binned factor) of H(factor) nats (20 bins cannot
    # separate 32 or 40 values); every other code carries ~0, so the gap is that ratio.
    binned = disentanglement.histogram_discretize(codes[:, :5])
    expected = np.mean([entropy(binned[:, k]) / entropy(factors[:, k]) for k in range(5)])
    assert result["mig"] == pytest.approx(expected, abs=0.01)
    assert result["mig"] > 0.85
    # Shape (3 values) and scale (6) fit the bins: all of their entropy, less the ~0.003 nats
    # of finite-sample information the best noise dimension shows.
    np.testing.assert_allclose(result["per_factor"][:2], 1.0, atol=0.01)


def random_rotation(dim, seed):
    q, r = np.linalg.qr(np.random.default_rng(seed).normal(size=(dim, dim)))
    return q * np.sign(np.diag(r))


def test_mig_of_a_rotated_code_is_low_and_of_noise_zero():
    rng = np.random.default_rng(1)
    factors = disentanglement.sample_factors(SIZES, 10_000, rng)
    rotated = standardised(factors) @ random_rotation(5, 2)
    assert disentanglement.mig(rotated, factors)["mig"] < 0.2
    noise = rng.normal(size=(10_000, 10))
    assert disentanglement.mig(noise, factors)["mig"] < 0.02


def represent_with(matrix=None, extra_constant=0, noise=0.0, seed=0):
    rng = np.random.default_rng(seed)

    def represent(classes):
        codes = standardised(classes)
        if matrix is not None:
            codes = codes @ matrix
        codes = codes + noise * rng.normal(size=codes.shape)
        return np.concatenate([codes, np.zeros((len(codes), extra_constant))], 1)
    return represent


def test_fvm_of_the_factors_is_one_and_ignores_collapsed_dimensions():
    result = disentanglement.factor_vae_score(represent_with(extra_constant=5, noise=1e-3),
                                              SIZES, num_train=300, num_eval=200,
                                              num_variance_estimate=2000)
    assert result["fvm"] == 1.0 and result["fvm_train"] == 1.0
    assert result["active_dims"] == 5   # the constant dimensions fall under the 0.05 std cut
    assert result["classifier"][:5] == [0, 1, 2, 3, 4]


def test_fvm_of_a_rotated_code_is_lower_and_of_a_collapsed_code_zero():
    rotated = disentanglement.factor_vae_score(represent_with(random_rotation(5, 2)), SIZES,
                                               num_train=300, num_eval=200,
                                               num_variance_estimate=2000)
    assert rotated["fvm"] < 0.8
    collapsed = disentanglement.factor_vae_score(lambda c: np.zeros((len(c), 10)), SIZES,
                                                 num_train=10, num_eval=10)
    assert collapsed == {"fvm": 0.0, "fvm_train": 0.0, "active_dims": 0}


def code_images(informative, seed=0):
    """A 'generator' of 64x64 images that shows c (2-D) as the brightness of its two halves, or
    ignores it."""
    rng = np.random.default_rng(seed)

    def generate_with_codes(n):
        c = rng.normal(size=(n, 2)).astype(np.float32)
        x = np.zeros((n, 64, 64, 1), np.float32)
        if informative:
            x[:, :32] = np.tanh(0.5 * c[:, 0])[:, None, None, None]
            x[:, 32:] = np.tanh(0.5 * c[:, 1])[:, None, None, None]
        return c, x
    return generate_with_codes


def test_gilbo_is_large_when_images_show_c_and_zero_when_they_ignore_it():
    from tfgan_suite.metrics import gilbo
    shown = gilbo.gilbo(code_images(True), (64, 64, 1), 2, steps=150, eval_samples=512)
    ignored = gilbo.gilbo(code_images(False), (64, 64, 1), 2, steps=20, eval_samples=512)
    assert shown["gilbo"] > 1.5          # of at most H(c) - H(c|x): unbounded for exact codes
    assert abs(ignored["gilbo"]) < 0.1
