"""generate's figure modes: which models each applies to, and SLOGAN's component figures
(checked on a stand-in generator, so no network is trained)."""

import numpy as np
import pytest

from tfgan_suite import generate
from tfgan_suite.errors import UserError


def slogan_sampler(k=3, d=4):
    """A SLOGAN-like sampler whose 'images' [N, 1, d, 1] are z itself, so figures show z."""
    means = (10.0 * np.arange(k)[:, None] * np.ones((k, d))).astype(np.float32)
    covariances = np.stack([np.eye(d) * 0.01 * (c + 1) for c in range(k)]).astype(np.float32)
    return generate.Sampler(lambda z, y: z.reshape(len(z), 1, d, 1), d, 0.0, (), "none",
                            "slogan", means, covariances)


def test_every_model_has_modes_and_the_first_is_the_default():
    assert generate.modes_for("cwgan")[0] == "swap"
    assert generate.modes_for("slogan") == ["components", "interpolate"]
    assert all(models for models in generate.MODES.values())


@pytest.mark.parametrize("mode,model,allowed", [
    ("classes", "slogan", "--mode=components or --mode=interpolate"),
    ("swap", "slogan", "--mode=components or --mode=interpolate"),
    ("components", "cwgan", "--mode=swap or --mode=classes or --mode=interpolate")])
def test_a_mode_for_another_model_is_refused_listing_the_valid_ones(mode, model, allowed):
    with pytest.raises(UserError, match=f"--mode={mode} does not apply to a {model} model; "
                                        f"use {allowed}"):
        generate.check_mode(mode, model)


def test_components_figure_draws_each_column_from_its_component():
    sampler = slogan_sampler()
    out = generate.figure(sampler, "components", rows=400, frames=2, seed=0)
    assert out.shape == (400, 3, 1, 4, 1)
    z = out[..., 0, :, 0]                                    # [rows, K, d]
    np.testing.assert_allclose(z.mean(0), sampler.means, atol=0.05)
    np.testing.assert_allclose(z.var(0), np.diagonal(sampler.covariances, axis1=1, axis2=2),
                               rtol=0.25)


def test_interpolate_goes_from_one_component_to_another():
    sampler = slogan_sampler()
    out = generate.figure(sampler, "interpolate", rows=2, frames=5, seed=0, base="0", end="2")
    z = out[..., 0, :, 0]                                    # [rows, frames, d]
    assert out.shape == (2, 5, 1, 4, 1)
    np.testing.assert_allclose(z[:, 0], 0.0, atol=1.0)
    np.testing.assert_allclose(z[:, -1], 20.0, atol=1.0)
    np.testing.assert_allclose(z[:, 2], (z[:, 0] + z[:, -1]) / 2, atol=1e-5)  # linear steps
    with pytest.raises(UserError, match="--end=3: for a SLOGAN model, a component number 0..2"):
        generate.figure(sampler, "interpolate", rows=1, frames=3, seed=0, end="3")


def test_cwgan_modes_are_refused_on_a_slogan_sampler_before_generating():
    def must_not_run(z, y):
        raise AssertionError("generated although the mode does not apply")
    sampler = slogan_sampler()
    sampler.generate = must_not_run
    with pytest.raises(UserError, match="--mode=classes"):
        generate.figure(sampler, "classes", rows=1, frames=2, seed=0)
