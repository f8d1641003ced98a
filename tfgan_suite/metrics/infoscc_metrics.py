"""InfoSCC-GAN's metrics (Kinakh et al., Sec. 4), registered for `tfgan_suite.evaluate`.

- attribute_control_accuracy: the frozen encoder + attribute classifier of the run read the
  images generated for conditions y. One-hot classes: argmax == the class (images generated
  for each class in turn). Binary attributes: y drawn from the real split's attribute vectors;
  an image counts as correct when every attribute set in y has sigmoid(logit) > 0.2 (the
  original checks the positives only, with threshold 0.2).
- chamfer_tsne: encoder features of real and generated images embedded together by a 3-D t-SNE
  (sklearn), then the Chamfer distance (Ravi et al. 2020, PyTorch3D's default: mean squared
  nearest-neighbour distance from each set to the other, summed).
"""

from __future__ import annotations

import numpy as np

from tfgan_suite.data.base import to_model_units
from tfgan_suite.metrics.registry import metric

BINARY_THRESHOLD = 0.2
TSNE_POINTS = 1000   # per set: t-SNE is quadratic-ish; the paper does not state its sample


def attribute_control_accuracy(logits, y, label_kind) -> float:
    logits, y = np.asarray(logits, np.float64), np.asarray(y)
    if label_kind == "onehot":
        return float(np.mean(logits.argmax(1) == y.argmax(1)))
    predicted = 1.0 / (1.0 + np.exp(-logits)) > BINARY_THRESHOLD
    positives = y > 0.5
    return float(np.mean(np.all(predicted | ~positives, axis=1)))


def chamfer_distance(a, b) -> float:
    """mean_i min_j ||a_i - b_j||^2 + mean_j min_i ||a_i - b_j||^2."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    d = ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)
    return float(d.min(1).mean() + d.min(0).mean())


def tsne_chamfer(real_features, fake_features, seed=0) -> float:
    """Chamfer distance of the two sets after one joint 3-D t-SNE."""
    from sklearn.manifold import TSNE
    joint = np.concatenate([real_features, fake_features]).astype(np.float32)
    perplexity = min(30.0, (len(joint) - 1) / 3.0)
    # Exact gradients: at these sizes (<= 2 x TSNE_POINTS) they are fast and deterministic,
    # where Barnes-Hut in 3-D was 25x slower on a 2-core CPU.
    embedded = TSNE(n_components=3, perplexity=perplexity, init="pca", method="exact",
                    random_state=seed).fit_transform(joint)
    return chamfer_distance(embedded[:len(real_features)], embedded[len(real_features):])


def _batches(fn, x, size):
    return np.concatenate([fn(x[i:i + size]) for i in range(0, len(x), size)])


@metric("attribute_control_accuracy", models=("infoscc",),
        summary="the run's own encoder + classifier agree with the conditions of its images")
def _attribute_control(inputs):
    target, n = inputs.target, inputs.request.num_samples
    kind = target.label_kind
    rng = np.random.default_rng(inputs.seed)
    if kind == "onehot":
        classes = target.y_dim
        y = np.eye(classes, dtype=np.float32)[np.repeat(np.arange(classes),
                                                        max(1, n // classes))]
    else:
        labels = inputs.source.labels
        y = labels[rng.integers(len(labels), size=n)].astype(np.float32)
    size = inputs.request.batch_size
    images = _batches(target.generate_y, y, size)
    logits = _batches(target.classify, images, size)
    value = attribute_control_accuracy(logits, y, kind)
    return {"attribute_control_accuracy": value}, {
        "attribute_control_accuracy": {"samples": int(len(y)), "label_kind": kind}}


@metric("chamfer_tsne", models=("infoscc",),
        summary="Chamfer distance of real and generated encoder features on a joint 3-D t-SNE")
def _chamfer(inputs):
    target, size = inputs.target, inputs.request.batch_size
    n = min(TSNE_POINTS, inputs.request.num_samples, len(inputs.source))
    rng = np.random.default_rng(inputs.seed)
    pick = np.sort(rng.choice(len(inputs.source), n, replace=False))
    real = to_model_units(np.asarray(inputs.source.examples[pick]))
    fake = _batches(lambda k: target.generate(len(k)), np.zeros(n), size)
    value = tsne_chamfer(_batches(target.encode, real, size), _batches(target.encode, fake, size),
                         inputs.seed)
    return {"chamfer_tsne": value}, {"chamfer_tsne": {"points_per_set": int(n)}}
