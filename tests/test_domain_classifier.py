"""The MNIST-like domain classifier: learns, saves/loads, feeds the Frechet classifier distance."""

import importlib.util
import json
import os

import numpy as np
import pytest

from tfgan_suite.errors import UserError
from tfgan_suite.metrics import attributes, domain_classifier
from tfgan_suite.metrics.frechet import frechet_distance_from_features

TOOL = os.path.join(os.path.dirname(__file__), os.pardir, "tools", "train_domain_classifier.py")


def bar_images(n, seed):
    """Class 0: a bright horizontal bar, class 1: a vertical bar, at random positions; uint8."""
    rng = np.random.default_rng(seed)
    classes = rng.integers(0, 2, n)
    images = rng.integers(0, 40, (n, 12, 12, 1)).astype(np.uint8)
    for i, (c, pos) in enumerate(zip(classes, rng.integers(1, 11, n))):
        if c == 0:
            images[i, pos, 2:10] = 255
        else:
            images[i, 2:10, pos] = 255
    return images, np.eye(2, dtype=np.float32)[classes]


@pytest.fixture(scope="module")
def trained():
    x, y = bar_images(256, seed=0)
    return domain_classifier.train_domain_classifier(x, y, steps=40, batch_size=32, seed=0)


def test_classifier_learns_and_exposes_features_and_logits(trained):
    classifier = domain_classifier.DomainClassifier(trained, batch_size=50)
    x, y = bar_images(120, seed=1)
    features, logits = classifier.features_and_logits(x)
    assert features.shape == (120, domain_classifier.FEATURE_DIM) and logits.shape == (120, 2)
    assert attributes.onehot_accuracy(logits, y) > 0.9
    # Floats in [-1, 1] and uint8 give the same features.
    np.testing.assert_allclose(classifier(x.astype(np.float32) / 127.5 - 1), features,
                               rtol=1e-5, atol=1e-6)


def test_frechet_classifier_distance_is_named_apart_from_fid(trained):
    classifier = domain_classifier.DomainClassifier(trained)
    real, _ = bar_images(200, seed=2)
    same = lambda n: bar_images(n, seed=3)[0]  # noqa: E731
    def noise(n):
        return np.random.default_rng(n).integers(0, 256, (n, 12, 12, 1)).astype(np.uint8)
    near = frechet_distance_from_features(classifier(real), classifier(same(200)))
    far = frechet_distance_from_features(classifier(real), classifier(noise(200)))
    assert classifier.distance_name == "frechet_classifier_distance"
    assert near < 0.2 * far


def test_save_load_round_trip_and_errors(trained, tmp_path):
    path = str(tmp_path / "classifier.keras")
    trained.save(path)
    loaded = domain_classifier.DomainClassifier.load(path)
    x, _ = bar_images(10, seed=4)
    np.testing.assert_allclose(loaded.logits(x), domain_classifier.DomainClassifier(trained).logits(x),
                               rtol=1e-6, atol=1e-6)
    with pytest.raises(UserError, match="train_domain_classifier.py"):
        domain_classifier.DomainClassifier.load(str(tmp_path / "missing.keras"))
    with pytest.raises(UserError, match=r"trained on images \(12, 12, 1\)"):
        loaded(np.zeros((2, 28, 28, 1), np.uint8))


def load_tool():
    spec = importlib.util.spec_from_file_location("train_domain_classifier", TOOL)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


def test_tool_trains_on_embedded_mnist(tmp_path):
    tool = load_tool()
    with pytest.raises(UserError, match=r"\.keras"):
        tool.run("mnist5k", None, str(tmp_path / "model.h5"), 10, 32, 1e-3, 0, "train", "test")
    output = str(tmp_path / "mnist.keras")
    trained = tool.run("mnist5k", None, output, 60, 64, 1e-3, 0, "train", "test")
    assert os.path.isfile(output) and trained.test_accuracy > 0.7
    assert json.load(open(output + ".json"))["summary"] == trained.summary
