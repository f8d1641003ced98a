"""Evaluate a trained generator with the papers' metrics, from a run directory or a SavedModel.

    python -m tfgan_suite.evaluate --run_dir=runs/cwgan_mnist --classifier=classifiers/mnist.keras \
        --metrics=classifier_fd,attribute_accuracy,intra_fid --features=classifier
    python -m tfgan_suite.evaluate --saved_model=exports/slogan_mnist2/20000 --data_dir=/data/mnist \
        --metrics=fid,icfid,icfid_hungarian,nmi,ari,purity,pi_error

Metrics (--metrics) and the names they are reported under; <f> is the feature extractor chosen
by --features ("inception_<resize>" or "classifier"):
  fid                 FID on the FID Inception-v3 pool_3 features    fid_inception_uint8_<resize>
  classifier_fd       Frechet distance on the domain classifier's    frechet_classifier_distance
                      features (MNIST-like data; never called FID)
  kid                 kernel inception distance, mean and std        kid_<f>, kid_<f>_std
  classifier_score    the Inception-Score formula on the domain      classifier_score(_std)
                      classifier's logits ("is" is refused: the FID weights have no logits)
  icfid               SLOGAN intra-cluster FID, greedy (Algorithm 2)  icfid_<f>
  icfid_hungarian     the same with the optimal class-cluster match  icfid_hungarian_<f>
  intra_fid           cWGAN: mean over classes of FID(class y, G(z, y))  intra_fid_<f>
  nmi, ari, purity    SLOGAN: KMeans(K) on p(c|x) of the REAL split   nmi, ari, purity
  attribute_accuracy  cWGAN: domain-classifier accuracy on images     attribute_accuracy
                      generated for each class
  pi_error            SLOGAN: learned pi vs the split's class shares  pi_l1, pi_max_abs

Results: one JSON line per evaluation (step, time, metric values, settings) appended to
<run_dir>/metrics.jsonl, or for a SavedModel to metrics.jsonl next to its version directory
(<export_dir>/<name>/metrics.jsonl), or to --output; run directories also get TensorBoard
scalars "Metrics/<name>" at the checkpoint's step in <run_dir>/tensorboard.

Order of work (user errors surface before anything heavy): flags and the model's config or
export metadata, then which metrics fit this model and dataset, then the feature networks
(missing FID weights or classifier fail here), then the real data and the model; only then
are images generated.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import time
from typing import Optional

import numpy as np
from absl import app, flags

from tfgan_suite import cli
from tfgan_suite import data, eval_targets, images
from tfgan_suite.errors import UserError
from tfgan_suite.metrics.inception import DEFAULT_RESIZE, RESIZE_MODES

FEATURE_CHOICES = ("inception", "classifier")


@dataclasses.dataclass(frozen=True)
class Metric:
    """What a metric needs. extractor: "inception", "classifier", "features" (--features) or ""."""

    models: tuple = ("cwgan", "slogan")
    images: bool = True
    classes: bool = False
    onehot: bool = False
    extractor: str = ""


METRICS = {
    "fid": Metric(extractor="inception"),
    "classifier_fd": Metric(extractor="classifier"),
    "kid": Metric(extractor="features"),
    "classifier_score": Metric(extractor="classifier"),
    "icfid": Metric(models=("slogan",), classes=True, extractor="features"),
    "icfid_hungarian": Metric(models=("slogan",), classes=True, extractor="features"),
    "intra_fid": Metric(models=("cwgan",), classes=True, onehot=True, extractor="features"),
    "nmi": Metric(models=("slogan",), images=False, classes=True),
    "ari": Metric(models=("slogan",), images=False, classes=True),
    "purity": Metric(models=("slogan",), images=False, classes=True),
    "attribute_accuracy": Metric(models=("cwgan",), classes=True, onehot=True,
                                 extractor="classifier"),
    "pi_error": Metric(models=("slogan",), images=False, classes=True),
}
REFUSED = {
    "is": "the Inception Score needs the Inception network's class logits, which the FID weights "
          "(pool_3 features only) do not have; for MNIST-like data use --metrics=classifier_score "
          "with --classifier (the same formula on a domain classifier's logits)",
}
CLASSIFIER_SCORE_SPLITS = 10
KID_SUBSETS, KID_SUBSET_SIZE = 100, 1000


@dataclasses.dataclass(frozen=True)
class Request:
    """One evaluation: what to evaluate, which metrics, and the sampling settings."""

    metrics: tuple
    run_dir: Optional[str] = None
    saved_model: Optional[str] = None
    data_dir: Optional[str] = None
    split: str = "test"
    num_samples: int = 10_000        # generated images for fid / kid / classifier_* (papers: 10k)
    samples_per_class: int = 5_000   # per class or component for icfid / intra_fid (SLOGAN: 5k)
    batch_size: int = 100
    fid_weights: Optional[str] = None
    fid_resize: str = DEFAULT_RESIZE
    classifier: Optional[str] = None
    features: str = "inception"
    seed: int = 0
    output: Optional[str] = None
    tensorboard: bool = True


def parse_metrics(names) -> tuple:
    """Metric names (a list or "a,b") -> validated tuple in the given order, duplicates dropped."""
    if isinstance(names, str):
        names = names.split(",")
    names = [n.strip() for n in names if n and n.strip()]
    if not names:
        raise UserError(f"--metrics is required; choose from: {', '.join(METRICS)}")
    for name in names:
        if name in REFUSED:
            raise UserError(f"--metrics={name}: {REFUSED[name]}")
        if name not in METRICS:
            raise UserError(f"unknown metric {name!r}; valid metrics: {', '.join(METRICS)}")
    return tuple(dict.fromkeys(names))


def check_request(request: Request) -> None:
    """Flag values that are wrong whatever the model (metric names are checked by parse_metrics)."""
    for name in ("num_samples", "samples_per_class", "batch_size"):
        if getattr(request, name) <= 0:
            raise UserError(f"--{name} must be positive, got {getattr(request, name)}")
    if request.split not in data.SPLITS:
        raise UserError(f"--split must be one of {', '.join(data.SPLITS)}, got {request.split!r}")
    if request.features not in FEATURE_CHOICES:
        raise UserError(f"--features must be one of {', '.join(FEATURE_CHOICES)}")
    if "classifier_score" in request.metrics and request.num_samples < CLASSIFIER_SCORE_SPLITS:
        raise UserError(f"classifier_score averages over {CLASSIFIER_SCORE_SPLITS} splits: "
                        f"--num_samples must be at least {CLASSIFIER_SCORE_SPLITS}")


def check_applicable(metrics, model: str, info: data.DatasetInfo) -> None:
    """Refuse metrics this model or dataset cannot have (e.g. nmi for cwgan, icfid for cwgan)."""
    for name in metrics:
        metric = METRICS[name]
        if model not in metric.models:
            others = [n for n, m in METRICS.items() if model in m.models]
            raise UserError(f"metric {name!r} does not apply to --model={model} (it is for "
                            f"{', '.join(metric.models)}); metrics for {model}: {', '.join(others)}")
        if metric.images and not info.is_image:
            raise UserError(f"metric {name!r} needs images; dataset {info.name!r} holds vectors of "
                            f"shape {info.example_shape}")
        if metric.classes and info.num_classes == 0:
            raise UserError(f"metric {name!r} needs ground-truth classes; dataset {info.name!r} "
                            "has none")
        if metric.onehot and info.label_kind != "onehot":
            raise UserError(f"metric {name!r} needs one-hot class labels; dataset {info.name!r} "
                            f"has {info.label_kind!r} labels")


def _extractor_keys(metrics, features: str) -> set:
    keys = {METRICS[n].extractor for n in metrics} - {""}
    if "features" in keys:
        keys = (keys - {"features"}) | {features}
    return keys


def load_extractors(request: Request, info: data.DatasetInfo, fid_extractor=None) -> dict:
    """{"inception": ..., "classifier": ...} for the requested metrics, loaded now so that a
    missing weights file or classifier fails before any generation. fid_extractor replaces the
    FID Inception (tests inject a small fake one)."""
    keys = _extractor_keys(request.metrics, request.features)
    extractors = {}
    if "classifier" in keys:
        if not request.classifier:
            users = [n for n in request.metrics if METRICS[n].extractor == "classifier"
                     or (METRICS[n].extractor == "features" and request.features == "classifier")]
            raise UserError(f"{', '.join(users)} need(s) --classifier=PATH.keras, a domain "
                            "classifier: train one with `python tools/train_domain_classifier.py "
                            f"--dataset={info.name} --output=PATH.keras`")
        from tfgan_suite.metrics.domain_classifier import DomainClassifier
        classifier = DomainClassifier.load(request.classifier, request.batch_size)
        shape = tuple(classifier.model.input_shape[1:])
        if shape != tuple(info.example_shape):
            raise UserError(f"--classifier={request.classifier} takes images {shape} but dataset "
                            f"{info.name!r} has {tuple(info.example_shape)}: train one for it")
        classes = classifier.model.output_shape[-1]
        if "attribute_accuracy" in request.metrics and classes != info.label_dim:
            raise UserError(f"--classifier={request.classifier} has {classes} classes but dataset "
                            f"{info.name!r} has {info.label_dim}: train one for it")
        extractors["classifier"] = classifier
    if "inception" in keys:
        if fid_extractor is None:
            from tfgan_suite.metrics.inception import FIDInceptionV3
            fid_extractor = FIDInceptionV3(request.fid_weights, request.fid_resize,
                                           request.batch_size)
        extractors["inception"] = fid_extractor
    return extractors


def feature_tag(extractor) -> str:
    """Short extractor name for reported metric names: "fid_inception_uint8_tf1_bilinear" ->
    "inception_uint8_tf1_bilinear", "frechet_classifier_distance" -> "classifier"."""
    name = extractor.distance_name
    if name.startswith("fid_"):
        return name[len("fid_"):]
    return name.removeprefix("frechet_").removesuffix("_distance")


class Evaluation:
    """Computes metrics for one target on one real split, sharing generated images and features
    between metrics (FID and KID reuse the same features, ICFID greedy and Hungarian the same
    distance matrix)."""

    def __init__(self, target, source: data.ArraySource, extractors: dict, request: Request):
        self.target, self.source, self.extractors, self.request = target, source, extractors, request
        self._cache = {}

    def _cached(self, key, compute):
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]

    def fake(self, which):
        """uint8 generated images: which = "all" (num_samples) or a class / component index
        (samples_per_class). Quantised like saved PNGs, as FID's definition requires."""
        from tfgan_suite.metrics.features import generated_batches

        def compute():
            if which == "all":
                generate, n = self.target.generate, self.request.num_samples
            else:
                n = self.request.samples_per_class
                generate = lambda k: self.target.generate_for(which, k)  # noqa: E731
            return images.to_uint8(np.concatenate(list(
                generated_batches(generate, n, self.request.batch_size))))
        return self._cached(("fake", which), compute)

    def outputs(self, key: str, which):
        """(features [N, D], logits [N, classes] or None) of extractor `key` on the real split
        (which = "real") or on generated images (see `fake`)."""
        def compute():
            x = self.source.examples if which == "real" else self.fake(which)
            extractor, size = self.extractors[key], self.request.batch_size
            parts = [extractor.features_and_logits(x[i:i + size]) if key == "classifier"
                     else (extractor(x[i:i + size]), None) for i in range(0, len(x), size)]
            logits = None if key != "classifier" else np.concatenate([p[1] for p in parts])
            return np.concatenate([p[0] for p in parts]), logits
        return self._cached(("outputs", key, which), compute)

    def features(self, key, which):
        return self.outputs(key, which)[0]

    @property
    def chosen(self) -> str:
        return self.request.features

    def tag(self, key=None) -> str:
        return feature_tag(self.extractors[key or self.chosen])

    # ---- metrics: each returns (values, details) ----

    def frechet(self, key):
        from tfgan_suite.metrics.frechet import frechet_distance_from_features
        value = frechet_distance_from_features(self.features(key, "real"), self.features(key, "all"))
        return {self.extractors[key].distance_name: value}, {}

    def kid(self):
        from tfgan_suite.metrics.fid import kernel_distance
        mean, std = kernel_distance(self.features(self.chosen, "real"),
                                    self.features(self.chosen, "all"), KID_SUBSETS,
                                    KID_SUBSET_SIZE, self.request.seed)
        return {f"kid_{self.tag()}": mean, f"kid_{self.tag()}_std": std}, {}

    def classifier_score(self):
        from tfgan_suite.metrics.inception_score import inception_score
        mean, std = inception_score(self.outputs("classifier", "all")[1], CLASSIFIER_SCORE_SPLITS)
        return {"classifier_score": mean, "classifier_score_std": std}, {}

    def _real_class_stats(self):
        from tfgan_suite.metrics.features import per_class_indices
        from tfgan_suite.metrics.frechet import gaussian_stats
        real = self.features(self.chosen, "real")
        groups = per_class_indices(self.source.class_ids, self.source.info.num_classes)
        return [gaussian_stats(real[idx]) for idx in groups]

    def _fake_stats(self, which):
        from tfgan_suite.metrics.frechet import gaussian_stats
        return gaussian_stats(self.features(self.chosen, which))

    def class_distances(self):
        """d[y, c] = Frechet distance(real class y, generated component c) (SLOGAN Algorithm 2)."""
        from tfgan_suite.metrics.icfid import distance_matrix
        return self._cached(("class_distances",), lambda: distance_matrix(
            self._real_class_stats(),
            [self._fake_stats(c) for c in range(self.target.num_components)]))

    def icfid(self, matching):
        from tfgan_suite.metrics import icfid
        match = icfid.icfid(self.class_distances(), matching)
        name = "icfid" if matching == "greedy" else f"icfid_{matching}"
        return ({f"{name}_{self.tag()}": match.value},
                {f"{name}_{self.tag()}": {"assignment": match.assignment.tolist(),
                                          "distances": match.distances.tolist()}})

    def intra_fid(self):
        """Only the diagonal d(y, y) is needed: class y real vs G(z, one-hot y)."""
        from tfgan_suite.metrics.frechet import frechet_distance
        distances = np.array([frechet_distance(real, self._fake_stats(y))
                              for y, real in enumerate(self._real_class_stats())])
        name = f"intra_fid_{self.tag()}"
        return {name: float(distances.mean())}, {name: {"per_class": distances.tolist()}}

    def clustering(self):
        from tfgan_suite.data.base import to_model_units
        from tfgan_suite.metrics.clustering import clustering_scores

        def compute():
            x, size = self.source.examples, self.request.batch_size
            probabilities = np.concatenate([
                self.target.cluster_probabilities(to_model_units(np.asarray(x[i:i + size])))
                for i in range(0, len(x), size)])
            return clustering_scores(probabilities, self.source.class_ids,
                                     self.target.num_components)
        return self._cached(("clustering",), compute)

    def attribute_accuracy(self):
        from tfgan_suite.metrics.attributes import onehot_accuracy
        classes = self.source.info.label_dim
        per_class = [onehot_accuracy(self.outputs("classifier", c)[1],
                                     np.eye(classes)[np.full(self.request.samples_per_class, c)])
                     for c in range(classes)]
        # Equal samples per class, so the mean of the per-class accuracies is the overall one.
        return ({"attribute_accuracy": float(np.mean(per_class))},
                {"attribute_accuracy": {"per_class": per_class}})

    def pi_error(self):
        from tfgan_suite.metrics.attributes import pi_error
        counts = np.bincount(self.source.class_ids, minlength=self.source.info.num_classes)
        truth = counts / counts.sum()
        learned = self.target.mixing_coefficients()
        return pi_error(learned, truth), {"pi": {"learned": learned.tolist(),
                                                 "class_shares": truth.tolist()}}

    def compute(self, name):
        """(values, details) of metric `name` (a key of METRICS)."""
        if name in ("nmi", "ari", "purity"):
            return {name: self.clustering()[name]}, {}
        return {
            "fid": lambda: self.frechet("inception"),
            "classifier_fd": lambda: self.frechet("classifier"),
            "kid": self.kid,
            "classifier_score": self.classifier_score,
            "icfid": lambda: self.icfid("greedy"),
            "icfid_hungarian": lambda: self.icfid("hungarian"),
            "intra_fid": self.intra_fid,
            "attribute_accuracy": self.attribute_accuracy,
            "pi_error": self.pi_error,
        }[name]()


def check_data(metrics, source: data.ArraySource, target) -> None:
    """Checks that need the real split or the restored model, still before any generation."""
    from tfgan_suite.metrics.features import per_class_indices
    info = source.info
    if any(METRICS[n].classes for n in metrics):
        per_class_indices(source.class_ids, info.num_classes)
    k = target.num_components
    if any(n in metrics for n in ("icfid", "icfid_hungarian")) and k < info.num_classes:
        raise UserError(f"ICFID matches each of the {info.num_classes} classes of {info.name!r} "
                        f"to its own mixture component, but the model has {k} components")
    if "pi_error" in metrics and k != info.num_classes:
        raise UserError(f"pi_error compares the {k} learned mixing coefficients with the shares "
                        f"of the {info.num_classes} classes of {info.name!r}: they must match")


def output_path(target_info: eval_targets.TargetInfo, request: Request) -> str:
    if request.output:
        return request.output
    if target_info.source == "run_dir":
        return os.path.join(target_info.path, "metrics.jsonl")
    return os.path.join(os.path.dirname(target_info.path.rstrip(os.sep)), "metrics.jsonl")


def append_jsonl(path: str, record: dict) -> None:
    """One line per record, flushed to disk (appends never rewrite earlier evaluations)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(record, sort_keys=True) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def write_tensorboard(logdir: str, step: int, values: dict) -> None:
    import tensorflow as tf
    writer = tf.summary.create_file_writer(logdir)
    with writer.as_default(step=step):
        for name, value in values.items():
            tf.summary.scalar(f"Metrics/{name}", value)
    writer.close()


def evaluate(request: Request, fid_extractor=None) -> dict:
    """Run the evaluation, append its record (returned) to metrics.jsonl and TensorBoard."""
    started = time.time()
    request = dataclasses.replace(request, metrics=parse_metrics(request.metrics))
    check_request(request)
    target_info = eval_targets.describe_target(request.run_dir, request.saved_model)
    info = target_info.dataset_info()
    check_applicable(request.metrics, target_info.model, info)
    extractors = load_extractors(request, info, fid_extractor)

    source = data.load_dataset(target_info.dataset, request.data_dir or target_info.data_dir,
                               request.split, **target_info.dataset_options)
    target = eval_targets.load_target(target_info, source.labels, request.seed)
    check_data(request.metrics, source, target)

    evaluation = Evaluation(target, source, extractors, request)
    values, details = {}, {}
    for name in request.metrics:
        v, d = evaluation.compute(name)
        values.update(v)
        details.update(d)

    settings = dict(split=request.split, num_real=len(source), num_samples=request.num_samples,
                    samples_per_class=request.samples_per_class, batch_size=request.batch_size,
                    seed=request.seed, features=request.features,
                    feature_extractors={k: e.distance_name for k, e in extractors.items()})
    if "inception" in extractors:
        settings["fid_resize"] = getattr(extractors["inception"], "resize", None)
        if fid_extractor is None:
            from tfgan_suite.metrics.inception import default_weights_path
            settings["fid_weights"] = os.path.abspath(request.fid_weights or default_weights_path())
    if "classifier" in extractors:
        settings["classifier"] = os.path.abspath(request.classifier)
    if any(n in request.metrics for n in ("nmi", "ari", "purity")):
        from tfgan_suite.metrics import clustering
        settings.update(kmeans_n_init=clustering.KMEANS_N_INIT,
                        kmeans_random_state=clustering.KMEANS_RANDOM_STATE,
                        nmi_average_method=clustering.NMI_AVERAGE_METHOD)
    record = dict(timestamp=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                  step=target.step, model=target_info.model, dataset=target_info.dataset,
                  source={target_info.source: target_info.path}, requested=list(request.metrics),
                  metrics=values, details=details, settings=settings,
                  elapsed_s=round(time.time() - started, 2))
    path = output_path(target_info, request)
    append_jsonl(path, record)
    record["written_to"] = path
    if request.tensorboard and target_info.source == "run_dir":
        write_tensorboard(os.path.join(target_info.path, "tensorboard"), target.step, values)
    return record


def define_flags():
    flags.DEFINE_string("run_dir", None, "Training run directory (its latest checkpoint).")
    flags.DEFINE_string("saved_model", None, "Or: an exported SavedModel version directory.")
    flags.DEFINE_list("metrics", None, "Metrics to compute: " + ", ".join(METRICS) + ".")
    flags.DEFINE_string("data_dir", None, "Dataset directory; default: the run's --data_dir "
                        "(SavedModels do not record one).")
    flags.DEFINE_string("split", "test", "Real split to compare with: test or train.")
    flags.DEFINE_integer("num_samples", 10_000, "Generated images for fid, kid, classifier_fd and "
                         "classifier_score (papers: 10,000).")
    flags.DEFINE_integer("samples_per_class", 5_000, "Generated images per class or mixture "
                         "component for icfid, intra_fid, attribute_accuracy (SLOGAN: 5,000).")
    flags.DEFINE_integer("batch_size", 100, "Batch size for generation and feature extraction.")
    flags.DEFINE_string("fid_weights", None, "FID Inception weights file; default "
                        "$TFGAN_SUITE_FID_WEIGHTS or ~/.cache/tfgan_suite/fid_inception_v3.weights.h5.")
    flags.DEFINE_enum("fid_resize", DEFAULT_RESIZE, sorted(RESIZE_MODES),
                      "Resize to 299x299 for FID (part of the reported name). tf1_bilinear is the "
                      "2015 graph's, as the papers' FIDs.")
    flags.DEFINE_string("classifier", None, "Domain classifier (.keras) for classifier_fd, "
                        "classifier_score, attribute_accuracy and --features=classifier.")
    flags.DEFINE_enum("features", "inception", list(FEATURE_CHOICES),
                      "Features for kid, icfid, icfid_hungarian and intra_fid.")
    flags.DEFINE_integer("seed", 0, "Seed for z, conditions and mixture components.")
    flags.DEFINE_string("output", None, "metrics.jsonl to append to (default: see module doc).")
    flags.DEFINE_boolean("tensorboard", True, "Also write Metrics/<name> scalars (run dirs).")


def request_from_flags(f) -> Request:
    return Request(metrics=tuple(f.metrics or ()), run_dir=f.run_dir, saved_model=f.saved_model,
                   data_dir=f.data_dir, split=f.split, num_samples=f.num_samples,
                   samples_per_class=f.samples_per_class, batch_size=f.batch_size,
                   fid_weights=f.fid_weights, fid_resize=f.fid_resize, classifier=f.classifier,
                   features=f.features, seed=f.seed, output=f.output, tensorboard=f.tensorboard)


@cli.user_errors_exit
def main(argv):
    del argv
    record = evaluate(request_from_flags(flags.FLAGS))
    print(f"step {record['step']} ({record['elapsed_s']} s), appended to {record['written_to']}:")
    for name, value in record["metrics"].items():
        print(f"  {name:36s} {value:.6g}")


if __name__ == "__main__":
    define_flags()
    app.run(main)
