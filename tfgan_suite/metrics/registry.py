"""The metric registry: each metric is a function registered with what it needs.

    @metric("fid", extractor="inception")
    def fid(inputs): ...  -> ({reported name: value}, {reported name: details})

A metric function reads everything from `inputs` (tfgan_suite.evaluate.Inputs), which computes
each need once and shares it between metrics: feature statistics of real data and of generated
images (overall or per class / component), kept features (KID), classifier logits, cluster
probabilities of real data, the learned mixing coefficients. The declared fields let the CLI
refuse a metric that does not fit the model or dataset before anything heavy runs.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

EXTRACTORS = ("inception", "classifier", "features", "")   # "features": the --features choice


@dataclasses.dataclass(frozen=True)
class MetricSpec:
    name: str
    compute: Callable            # inputs -> (values dict, details dict)
    models: tuple = ("cwgan", "slogan", "betavae", "idgan", "infoscc")
    images: bool = True          # needs image data (not 2-D points)
    points: bool = False         # needs point data (mixtures of Gaussians), not images
    classes: bool = False        # needs ground-truth classes of the real split
    onehot: bool = False         # needs one-hot class labels (class-conditional generation)
    extractor: str = ""          # which feature network it reads
    keeps_features: bool = False  # needs the feature vectors themselves, not only mean/cov
    logits: bool = False         # needs classifier logits of generated images
    per_class: bool = False      # generates --samples_per_class images per class / component
    summary: str = ""

    def __post_init__(self):
        if self.extractor not in EXTRACTORS:
            raise ValueError(f"unknown extractor {self.extractor!r}")


REGISTRY: dict[str, MetricSpec] = {}

REFUSED = {
    "is": "the Inception Score needs the Inception network's class logits, which the FID weights "
          "(pool_3 features only) do not have; for MNIST-like data use --metrics=classifier_score "
          "with --classifier (the same formula on a domain classifier's logits)",
}


def metric(name: str, **fields):
    """Register the decorated function as metric `name` (MetricSpec fields as keywords)."""
    def register(compute):
        if name in REGISTRY:
            raise ValueError(f"metric {name!r} registered twice")
        REGISTRY[name] = MetricSpec(name, compute, **fields)
        return compute
    return register


def extractors_needed(names, features: str) -> set:
    """Feature networks the metrics `names` read ("features" resolved to --features)."""
    keys = {REGISTRY[n].extractor for n in names} - {""}
    if "features" in keys:
        keys = (keys - {"features"}) | {features}
    return keys
