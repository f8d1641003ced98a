"""Assertions shared by the training tests: a run really trained (not only counted steps)."""

import numpy as np

from tfgan_suite import data, runs
from tfgan_suite.models import build_model


def assert_trained(run_dir, steps):
    """The run's checkpoint is at `steps`, every variable is finite, and the generator's weights
    (and SLOGAN's prior means) moved away from their seeded initial values."""
    model, config, info = runs.load_trained_model(str(run_dir))
    assert int(model.step.numpy()) == steps
    initial = build_model(config, data.describe(config.dataset, **config.dataset_options))
    for variable in model.trainable_variables + model.non_trainable_variables:
        assert np.all(np.isfinite(variable.numpy())), variable.path
    moved = [not np.array_equal(a.numpy(), b.numpy())
             for a, b in zip(model.generator.trainable_variables,
                             initial.generator.trainable_variables)]
    # Most, not all: a bias followed by batch normalisation has a zero gradient.
    assert moved and sum(moved) >= len(moved) / 2, f"{moved.count(False)} of {len(moved)} unchanged"
    if hasattr(model, "prior"):
        assert not np.array_equal(model.prior.mu.numpy(), initial.prior.mu.numpy())
    return model
