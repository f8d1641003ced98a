"""ID-GAN's dSprites FID network: a ConvNet predicting the true factors (loss, accuracies,
training split, the tool, and the Frechet distance of an ID-GAN run through evaluate)."""

import json
import os

import numpy as np
import pytest

from tfgan_suite.data import dsprites
from tfgan_suite.metrics import classifier_training, domain_classifier, factor_classifier

SIZES = (3, 6, 40, 32, 32)


def log_softmax(x):
    x = x - x.max(axis=1, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=1, keepdims=True))


def test_factor_loss_is_the_sum_of_each_factors_cross_entropy():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(5, sum(SIZES))).astype(np.float32)
    classes = np.stack([rng.integers(0, n, 5) for n in SIZES], axis=1)
    bounds = np.cumsum((0,) + SIZES)
    expected = sum(-log_softmax(logits[:, a:b])[np.arange(5), classes[:, i]]
                   for i, (a, b) in enumerate(zip(bounds[:-1], bounds[1:])))
    got = factor_classifier.factor_loss(SIZES)(classes, logits).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_factor_accuracies_score_each_factor_on_its_own_slice():
    classes = np.array([[0, 1], [1, 0], [1, 1], [0, 0]])
    logits = np.zeros((4, 2 + 2))
    logits[np.arange(4), classes[:, 0]] = 1.0             # factor 0: all right
    logits[np.arange(4), 2 + (1 - classes[:, 1])] = 1.0   # factor 1: all wrong
    logits[0, 2 + classes[0, 1]] = 5.0                    # ... but the first
    np.testing.assert_allclose(factor_classifier.factor_accuracies(logits, classes, (2, 2)),
                               [1.0, 0.25])


def test_training_images_never_come_from_the_test_split():
    test = dsprites.test_indices()
    rows = factor_classifier.training_indices(dsprites.NUM_EXAMPLES, test, 5_000, seed=0)
    assert len(np.unique(rows)) == 5_000 and not np.intersect1d(rows, test).size
    np.testing.assert_array_equal(
        rows, factor_classifier.training_indices(dsprites.NUM_EXAMPLES, test, 5_000, seed=0))


@pytest.fixture(scope="module")
def dsprites_classifier(tmp_path_factory):
    """A factor classifier trained for a few steps on 256 images, saved like the tool does."""
    path = str(tmp_path_factory.mktemp("factors") / "dsprites.keras")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(factor_classifier, "TRAIN_IMAGES", 256)
        trained = classifier_training.train_for_dataset("dsprites", None, steps=3, batch_size=32)
    classifier_training.save(trained, path, "dsprites", 3)
    return path, trained


def test_dsprites_gets_a_factor_classifier_saved_with_its_facts(dsprites_classifier):
    path, trained = dsprites_classifier
    assert trained.model.output_shape[-1] == sum(SIZES) == 113
    assert all(name in trained.summary for name in dsprites.FACTOR_NAMES)
    facts = json.load(open(path + ".json"))
    assert facts["dataset"] == "dsprites" and facts["steps"] == 3
    assert facts["summary"] == trained.summary and 0.0 <= facts["test_accuracy"] <= 1.0
    loaded = domain_classifier.DomainClassifier.load(path)     # no custom loss needed to load
    features = loaded(dsprites.load("dsprites", None, "test", dsprites.Options()).examples[:4])
    assert features.shape == (4, domain_classifier.FEATURE_DIM)
    assert not [n for n in os.listdir(os.path.dirname(path)) if ".tmp-" in n]


def test_evaluate_measures_an_idgan_run_on_the_factor_features(dsprites_classifier, tmp_path,
                                                               monkeypatch):
    from tests.test_idgan import TINY, resolve
    from tfgan_suite import evaluate, train as train_module
    gan_dir, vae_dir = str(tmp_path / "gan"), str(tmp_path / "vae")
    train_module.train(resolve("--model=betavae", *TINY, "--steps=1", f"--run_dir={vae_dir}",
                               "--noexport"))
    train_module.train(resolve("--model=idgan", *TINY, "--steps=1", f"--run_dir={gan_dir}",
                               f"--vae_run_dir={vae_dir}", "--noexport"))
    monkeypatch.setattr(dsprites, "TEST_SIZE", 64)     # the real side: 64 test images
    result = evaluate.evaluate(evaluate.Request(
        run_dir=gan_dir, metrics=("classifier_fd",), features="classifier",
        classifier=dsprites_classifier[0], num_samples=64, split="test",
        output=str(tmp_path / "metrics.jsonl"), tensorboard=False))
    assert result["metrics"]["frechet_classifier_distance"] > 0
    assert result["settings"]["num_real"] == 64
