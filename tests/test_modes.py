"""Mode coverage and sample quality on Gaussian mixtures (VEEGAN / PacGAN statistics)."""

import numpy as np
import pytest

from tfgan_suite import data, evaluate
from tfgan_suite.errors import UserError
from tfgan_suite.metrics import modes

MEANS = np.array([[0.0, 2.0], [2.0, 0.0], [0.0, -2.0], [-2.0, 0.0]])
STDS = np.full(4, 0.1)
WEIGHTS = np.array([0.125, 0.125, 0.375, 0.375])


def mixture(n, seed=0, means=MEANS, weights=WEIGHTS):
    rng = np.random.default_rng(seed)
    ids = rng.choice(len(means), size=n, p=weights)
    return means[ids] + rng.normal(scale=0.1, size=(n, 2)), ids


def test_real_samples_score_as_perfect():
    result = modes.mode_quality(mixture(200_000)[0], MEANS, STDS, WEIGHTS)
    # 2-D isotropic: P(r <= 3 sigma) = 1 - exp(-9/2).
    assert result["high_quality"] == pytest.approx(1 - np.exp(-4.5), abs=2e-3)
    assert result["modes_covered"] == 4
    assert result["reverse_kl"] == pytest.approx(0.0, abs=1e-3)
    # Spread of the points kept within 3 sigma: sqrt(E[r^2 | r <= 3] / 2) per coordinate.
    truncated = np.sqrt((2 - 11 * np.exp(-4.5)) / (1 - np.exp(-4.5)) / 2)
    assert modes.REAL_STD_RATIO == pytest.approx(truncated) and truncated == pytest.approx(0.974, abs=1e-3)
    assert modes.REAL_HIGH_QUALITY == pytest.approx(1 - np.exp(-4.5))
    assert np.allclose(result["std_ratio"], truncated, atol=0.01)
    assert np.all(np.asarray(result["mean_offset"]) < 0.03)


def test_collapse_to_one_mode_is_measured():
    samples = np.repeat(MEANS[2:3], 1000, axis=0)
    result = modes.mode_quality(samples, MEANS, STDS, WEIGHTS)
    assert result["high_quality"] == 1.0 and result["modes_covered"] == 1
    assert result["reverse_kl"] == pytest.approx(np.log(1 / 0.375))
    assert result["std_ratio"][2] == 0.0 and np.isnan(result["std_ratio"][0])


def test_tight_and_offset_modes():
    rng = np.random.default_rng(1)
    shifted = MEANS + np.array([0.1, 0.0])            # 1 standard deviation to the right
    ids = rng.choice(4, size=40_000, p=WEIGHTS)
    samples = shifted[ids] + rng.normal(scale=0.05, size=(len(ids), 2))
    result = modes.mode_quality(samples, MEANS, STDS, WEIGHTS)
    assert np.allclose(result["mean_offset"], 1.0, atol=0.01)
    assert np.allclose(result["std_ratio"], 0.5, atol=0.02)
    assert result["modes_covered"] == 4


def test_uncovered_mode_below_a_fifth_of_its_share():
    weights = np.array([0.02, 0.98 / 3, 0.98 / 3, 0.98 / 3])
    samples, _ = mixture(30_000, means=MEANS, weights=weights)
    result = modes.mode_quality(samples, MEANS, STDS, np.full(4, 0.25))
    # Mode 0 holds 2% of the points against 25% expected: under 1/5 of its share.
    assert result["modes_covered"] == 3
    far = modes.mode_quality(np.full((10, 2), 50.0), MEANS, STDS, WEIGHTS)
    assert far["high_quality"] == 0.0 and far["modes_covered"] == 0 and np.isnan(far["reverse_kl"])


def test_reference_modes_from_labelled_points():
    points, ids = mixture(100_000, seed=3)
    means, stds, weights = modes.reference_modes(points, ids)
    assert np.allclose(means, MEANS, atol=0.01) and np.allclose(stds, 0.1, atol=0.002)
    assert np.allclose(weights, WEIGHTS, atol=0.01)


def test_mode_quality_is_refused_for_images():
    evaluate.check_applicable(["mode_quality"], "slogan", data.describe("gaussians8"))
    with pytest.raises(UserError, match="mixture of Gaussians"):
        evaluate.check_applicable(["mode_quality"], "slogan", data.describe("mnist2"))
