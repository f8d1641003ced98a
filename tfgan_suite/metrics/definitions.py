"""The papers' metrics, registered by name (tfgan_suite.metrics.registry).

Each function takes the evaluation's `inputs` (tfgan_suite.evaluate.Inputs: shared, computed
once, streamed where it can be) and returns ({reported name: value}, {reported name: details}).
Sample-size guards warn through `inputs.warn`, which prints one line and records it.
"""

from __future__ import annotations

import numpy as np

from tfgan_suite.metrics import attributes, clustering, icfid as icfid_lib, inception_score, modes
from tfgan_suite.metrics.fid import kernel_distance
from tfgan_suite.metrics.frechet import frechet_distance
from tfgan_suite.metrics.registry import metric

CLASSIFIER_SCORE_SPLITS = 10
KID_SUBSETS, KID_SUBSET_SIZE = 100, 1000


def _check_frechet_sample(inputs, what: str, counts, dim: int):
    """A Frechet distance from fewer vectors than feature dimensions uses a singular covariance
    and is biased upwards: say so, with the minimum."""
    small = min(counts)
    if small < dim:
        inputs.warn(f"{what}: {small} samples for {dim}-dimensional features: the covariance is "
                    f"singular and the value biased upwards; use at least {dim} per set "
                    f"(the papers use 10,000) before comparing with published numbers")


def _frechet(inputs, key):
    real, fake = inputs.real(key), inputs.fake(key)
    name = inputs.distance_name(key)
    _check_frechet_sample(inputs, name, (real.stats.count, fake.stats.count),
                          len(real.stats.mean))
    return {name: frechet_distance(real.stats, fake.stats)}, {}


@metric("fid", extractor="inception",
        summary="FID on the FID Inception-v3 pool_3 features (fid_inception_uint8_<resize>)")
def fid(inputs):
    return _frechet(inputs, "inception")


@metric("classifier_fd", extractor="classifier",
        summary="Frechet distance on the domain classifier's features")
def classifier_fd(inputs):
    return _frechet(inputs, "classifier")


@metric("kid", extractor="features", keeps_features=True,
        summary="kernel distance (Binkowski et al. 2018), mean and std over subsets")
def kid(inputs):
    key = inputs.features_key
    real, fake = inputs.real(key).features, inputs.fake(key).features
    name = f"kid_{inputs.tag(key)}"
    smaller = min(len(real), len(fake))
    if smaller < KID_SUBSET_SIZE:
        # Subsets as large as the sample are all the same set: a standard deviation over them
        # would be a meaningless ~0. One estimate on everything, no std.
        inputs.warn(f"{name}: {smaller} samples are fewer than the {KID_SUBSET_SIZE} of a KID "
                    f"subset: reporting one unbiased estimate on all of them and no standard "
                    f"deviation; use at least {KID_SUBSET_SIZE} per set for the usual "
                    f"{KID_SUBSETS}-subset mean and std")
        value, _ = kernel_distance(real, fake, 1, smaller, inputs.seed)
        return {name: value}, {}
    mean, std = kernel_distance(real, fake, KID_SUBSETS, KID_SUBSET_SIZE, inputs.seed)
    return {name: mean, f"{name}_std": std}, {}


@metric("classifier_score", extractor="classifier", logits=True,
        summary="the Inception-Score formula on the domain classifier's logits")
def classifier_score(inputs):
    mean, std = inception_score.inception_score(inputs.fake("classifier").logits,
                                                CLASSIFIER_SCORE_SPLITS)
    return {"classifier_score": mean, "classifier_score_std": std}, {}


def class_distances(inputs):
    """d[y, c] = Frechet distance(real class y, generated component c) (SLOGAN Algorithm 2),
    shared by icfid and icfid_hungarian."""
    def compute():
        key = inputs.features_key
        real = inputs.real(key).class_stats
        fake = [inputs.fake(key, c).stats for c in range(inputs.num_components)]
        _check_frechet_sample(inputs, f"ICFID ({key} features)",
                              [s.count for s in real + fake], len(real[0].mean))
        return icfid_lib.distance_matrix(real, fake)
    return inputs.shared("class_distances", compute)


def _icfid(inputs, matching, name):
    match = icfid_lib.icfid(class_distances(inputs), matching)
    name = f"{name}_{inputs.tag(inputs.features_key)}"
    return ({name: match.value}, {name: {"assignment": match.assignment.tolist(),
                                         "distances": match.distances.tolist()}})


@metric("icfid", models=("slogan",), classes=True, extractor="features", per_class=True,
        summary="SLOGAN's intra-cluster FID, greedy matching in class order (Algorithm 2)")
def icfid(inputs):
    return _icfid(inputs, "greedy", "icfid")


@metric("icfid_hungarian", models=("slogan",), classes=True, extractor="features",
        per_class=True,
        summary="intra-cluster FID with the optimal (Hungarian) class-cluster matching")
def icfid_hungarian(inputs):
    return _icfid(inputs, "hungarian", "icfid_hungarian")


@metric("intra_fid", models=("cwgan",), classes=True, onehot=True, extractor="features",
        per_class=True,
        summary="mean over classes of FID(real class y, G(z, y))")
def intra_fid(inputs):
    key = inputs.features_key
    real = inputs.real(key).class_stats
    fake = [inputs.fake(key, y).stats for y in range(len(real))]
    _check_frechet_sample(inputs, f"intra-FID ({key} features)",
                          [s.count for s in real + fake], len(real[0].mean))
    distances = np.array([frechet_distance(r, f) for r, f in zip(real, fake)])
    name = f"intra_fid_{inputs.tag(key)}"
    return {name: float(distances.mean())}, {name: {"per_class": distances.tolist()}}


def _clustering(inputs):
    return inputs.shared("clustering", lambda: clustering.clustering_scores(
        inputs.cluster_probabilities(), inputs.class_ids, inputs.num_components))


def _register_clustering(name):
    @metric(name, models=("slogan",), images=False, classes=True,
            summary=f"{name.upper()} of KMeans(K) on p(c|x) of the real split")
    def score(inputs):
        return {name: _clustering(inputs)[name]}, {}
    return score


nmi, ari, purity = (_register_clustering(n) for n in ("nmi", "ari", "purity"))


@metric("attribute_accuracy", models=("cwgan", "infoscc"), classes=True, onehot=True,
        extractor="classifier", logits=True, per_class=True,
        summary="the domain classifier's accuracy on images generated for each class")
def attribute_accuracy(inputs):
    classes = inputs.label_dim
    per_class = [attributes.attribute_accuracy(
        inputs.fake("classifier", c).logits,
        np.eye(classes)[np.full(len(inputs.fake("classifier", c).logits), c)], "onehot")
        for c in range(classes)]
    # Equal samples per class, so the mean of the per-class accuracies is the overall one.
    return ({"attribute_accuracy": float(np.mean(per_class))},
            {"attribute_accuracy": {"per_class": per_class}})


@metric("pi_error", models=("slogan",), images=False, classes=True,
        summary="learned pi against the split's class shares (L1 and max-abs)")
def pi_error(inputs):
    counts = np.bincount(inputs.class_ids, minlength=inputs.num_classes)
    truth = counts / counts.sum()
    learned = inputs.mixing_coefficients()
    return attributes.pi_error(learned, truth), {"pi": {"learned": learned.tolist(),
                                                        "class_shares": truth.tolist()}}


@metric("pi_error_matched", models=("slogan",), images=False, classes=True,
        summary="learned pi against the class shares, each class matched to the component its "
                "real examples fall in (Hungarian on p(c|x)); pi of the majority class's component")
def pi_error_matched(inputs):
    counts = np.bincount(inputs.class_ids, minlength=inputs.num_classes)
    truth = counts / counts.sum()
    learned = inputs.mixing_coefficients()
    assignment = attributes.match_components(inputs.cluster_probabilities(), inputs.class_ids,
                                             inputs.num_classes)
    errors = attributes.pi_error(learned, truth, assignment)
    majority = int(np.argmax(truth))
    values = {"pi_matched_l1": errors["pi_l1"], "pi_matched_max_abs": errors["pi_max_abs"],
              "pi_majority_class": float(learned[assignment[majority]] / learned.sum())}
    return values, {"pi_matched": {"assignment": assignment.tolist(), "learned": learned.tolist(),
                                   "class_shares": truth.tolist(), "majority_class": majority}}


@metric("mode_quality", models=("slogan",), images=False, points=True, classes=True,
        summary="VEEGAN/PacGAN sample quality on a Gaussian mixture: high-quality share, modes "
                "covered, reverse KL, per-mode std ratio and mean offset (--num_samples points)")
def mode_quality(inputs):
    means, stds, weights = modes.reference_modes(inputs.source.examples, inputs.class_ids)
    samples = inputs.shared("points", lambda: inputs.target.generate(inputs.request.num_samples))
    result = modes.mode_quality(samples, means, stds, weights)
    summary = ("high_quality", "modes_covered", "reverse_kl", "std_ratio_mean", "mean_offset_max")
    per_mode = ("std_ratio", "mean_offset", "mode_shares")
    return ({k: result[k] for k in summary},
            {"mode_quality": {k: result[k] for k in per_mode}})
