"""ICGAN's metrics in the registry (Wang et al., Tables 1-3): digit_accuracy and hue_mse, and
the image-quality metrics that apply to any generator (fid, classifier_fd, kid,
classifier_score) opened to --model=icgan. Imported by tfgan_suite.evaluate."""

from __future__ import annotations

import dataclasses

import numpy as np

from tfgan_suite import images
from tfgan_suite.metrics import definitions, disentanglement, registry  # noqa: F401 (first)
from tfgan_suite.metrics.registry import metric

MODEL = "icgan"
DIGIT_ROUND = 1000       # Sec. 4.2: 1,000 generated images per round
RING_STEPS = 900         # Table 3: 900-step colour-ring sweep
RING_ROUNDS = 10         # one ring per digit code, each with its own fixed noise

for _name in ("fid", "classifier_fd", "kid", "classifier_score"):
    _spec = registry.REGISTRY[_name]
    if MODEL not in _spec.models:
        registry.REGISTRY[_name] = dataclasses.replace(_spec, models=_spec.models + (MODEL,))


@metric("digit_accuracy", models=(MODEL,), classes=True, onehot=True, extractor="classifier",
        summary="ICGAN Table 2: classifier accuracy on generated digits, each latent code matched "
                "to a digit (Hungarian); --num_samples images in rounds of 1,000")
def digit_accuracy(inputs):
    n, batch = inputs.request.num_samples, inputs.request.batch_size
    classifier = inputs.extractors["classifier"]
    codes, logits = [], []
    for start in range(0, n, batch):
        pictures, digits = inputs.target.generate_with_codes(min(batch, n - start))
        codes.append(digits)
        logits.append(classifier.logits(images.to_uint8(pictures)))
    result = disentanglement.digit_accuracy(np.concatenate(codes), np.concatenate(logits),
                                            DIGIT_ROUND)
    if result["rounds"] < 2:
        inputs.warn(f"digit_accuracy: {n} samples make one round of {DIGIT_ROUND}: no standard "
                    f"error; use --num_samples of several thousand")
    return ({"digit_accuracy": result["accuracy"], "digit_accuracy_sem": result["sem"]},
            {"digit_accuracy": {"assignment": result["assignment"], "rounds": result["rounds"]}})


@metric("hue_mse", models=(MODEL,),
        summary="ICGAN Table 3 / Eq. 6: background-hue error of a 900-step colour-code sweep "
                "under the best ring rotation / flip, mean and SEM over 10 rings")
def hue_mse(inputs):
    rng = np.random.default_rng(inputs.seed)
    results = []
    for ring in range(RING_ROUNDS):
        noise = rng.uniform(size=inputs.target.noise_dim).astype(np.float32)
        pictures = inputs.target.color_ring(ring % 10, RING_STEPS, noise,
                                            inputs.request.batch_size)
        results.append(disentanglement.hue_ring_mse(
            disentanglement.background_hues(images.to_uint8(pictures))))
    values = np.array([r["hue_mse"] for r in results])
    eq6 = np.array([r["hue_mse_eq6_deg2"] for r in results])
    sem = lambda v: float(np.std(v, ddof=1) / np.sqrt(len(v)))  # noqa: E731
    return ({"hue_mse": float(values.mean()), "hue_mse_sem": sem(values),
             "hue_mse_eq6_deg2": float(eq6.mean())},
            {"hue_mse": {"per_ring": values.tolist(), "steps": RING_STEPS,
                         "rotation": [r["rotation"] for r in results],
                         "flipped": [r["flipped"] for r in results]}})
