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
                      (components sorted by share: the most favourable matching)
  pi_error_matched    the same with each class matched to the component pi_matched_l1,
                      its real examples fall in (Hungarian on p(c|x))  pi_matched_max_abs,
                                                                       pi_majority_class
  digit_accuracy      ICGAN: classifier accuracy on generated digits,  digit_accuracy(_sem)
                      codes matched to digits (Hungarian; Table 2)
  hue_mse             ICGAN: background-hue error of a colour-code     hue_mse(_sem),
                      ring sweep, best rotation / flip (Eq. 6)         hue_mse_eq6_deg2
  mode_quality        Gaussian-mixture data: VEEGAN/PacGAN sample     high_quality, modes_covered,
                      quality (3-sd rule)                              reverse_kl, std_ratio_mean,
                                                                       mean_offset_max
  mig                 betavae / idgan on a factor grid (dSprites):    mig
                      Mutual Information Gap, disentanglement_lib
  fvm                 the FactorVAE metric (majority-vote accuracy),  fvm, fvm_train
                      disentanglement_lib definition
  gilbo               betavae / idgan: GILBO lower bound on I(c; x)   gilbo (nats)
                      (fresh encoder, --gilbo_steps batches)

Results: one JSON line per evaluation (step, time, metric values, settings) appended to
<run_dir>/metrics.jsonl, or for a SavedModel to metrics.jsonl next to its version directory
(<export_dir>/<name>/metrics.jsonl), or to --output; run directories also get TensorBoard
scalars "Metrics/<name>" at the checkpoint's step in <run_dir>/tensorboard.

The real split's features are computed once per invocation and stored under
--real_features_cache, so later evaluations against the same images, feature network and
settings read them instead of recomputing (the record's "real_features" says which happened).

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
import sys
import time
from typing import Optional

import numpy as np
from absl import app, flags

from tfgan_suite import cli, quiet

quiet.import_tensorflow()   # this module loads TensorFlow (through data) when imported

from tfgan_suite import data, eval_targets, images  # noqa: E402
from tfgan_suite.errors import UserError  # noqa: E402
from tfgan_suite.metrics import definitions, registry  # noqa: E402
from tfgan_suite.metrics import icgan_metrics  # noqa: E402,F401 (registers ICGAN's metrics)
from tfgan_suite.metrics import disentanglement_metrics  # noqa: E402,F401 (registers mig, fvm)
from tfgan_suite.metrics import infoscc_metrics  # noqa: E402,F401 (registers)
from tfgan_suite.metrics.frechet import GaussianStats, StreamingStats  # noqa: E402
from tfgan_suite.metrics.inception import DEFAULT_RESIZE, RESIZE_MODES  # noqa: E402
from tfgan_suite.metrics.real_features import (  # noqa: E402
    RealFeatures, default_directory as default_real_features_directory, file_digest)

FEATURE_CHOICES = ("inception", "classifier")
METRICS = registry.REGISTRY          # name -> MetricSpec (tfgan_suite/metrics/definitions.py)


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
    mig_samples: int = 10_000        # mig points; also fvm's global-variance points
    fvm_votes: int = 10_000          # fvm training votes (evaluation: half as many)
    gilbo_steps: int = 2_000         # gilbo: training batches of its encoder
    real_features_cache: Optional[str] = None   # directory of stored real-split features


def parse_metrics(names) -> tuple:
    """Metric names (a list or "a,b") -> validated tuple in the given order, duplicates dropped."""
    if isinstance(names, str):
        names = names.split(",")
    names = [n.strip() for n in names if n and n.strip()]
    if not names:
        raise UserError(f"--metrics is required; choose from: {', '.join(METRICS)}")
    for name in names:
        if name in registry.REFUSED:
            raise UserError(f"--metrics={name}: {registry.REFUSED[name]}")
        if name not in METRICS:
            raise UserError(f"unknown metric {name!r}; valid metrics: {', '.join(METRICS)}")
    return tuple(dict.fromkeys(names))


def check_request(request: Request) -> None:
    """Flag values that are wrong whatever the model (metric names are checked by parse_metrics)."""
    for name in ("num_samples", "samples_per_class", "batch_size", "mig_samples", "fvm_votes",
                 "gilbo_steps"):
        if getattr(request, name) <= 0:
            raise UserError(f"--{name} must be positive, got {getattr(request, name)}")
    if request.split not in data.SPLITS:
        raise UserError(f"--split must be one of {', '.join(data.SPLITS)}, got {request.split!r}")
    if request.features not in FEATURE_CHOICES:
        raise UserError(f"--features must be one of {', '.join(FEATURE_CHOICES)}")
    splits = definitions.CLASSIFIER_SCORE_SPLITS
    if "classifier_score" in request.metrics and request.num_samples < splits:
        raise UserError(f"classifier_score averages over {splits} splits: "
                        f"--num_samples must be at least {splits}")


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
        if metric.points and info.is_image:
            raise UserError(f"metric {name!r} measures samples of a mixture of Gaussians (e.g. "
                            f"gaussians8); dataset {info.name!r} holds images")
        if metric.classes and info.num_classes == 0:
            raise UserError(f"metric {name!r} needs ground-truth classes; dataset {info.name!r} "
                            "has none")
        if metric.onehot and info.label_kind != "onehot":
            raise UserError(f"metric {name!r} needs one-hot class labels; dataset {info.name!r} "
                            f"has {info.label_kind!r} labels")


def load_extractors(request: Request, info: data.DatasetInfo, fid_extractor=None) -> dict:
    """{"inception": ..., "classifier": ...} for the requested metrics, loaded now so that a
    missing weights file or classifier fails before any generation. fid_extractor replaces the
    FID Inception (tests inject a small fake one)."""
    keys = registry.extractors_needed(request.metrics, request.features)
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


def extractor_ids(request: Request, extractors: dict, fid_external: bool) -> dict:
    """{extractor key: its weights' digest and preprocessing}, naming what the real split's
    stored features depend on (an injected FID extractor has no known identity)."""
    ids = {}
    if "inception" in extractors and not fid_external:
        from tfgan_suite.metrics.inception import default_weights_path
        weights = request.fid_weights or default_weights_path()
        ids["inception"] = f"fid_inception_v3 sha256={file_digest(weights)} {request.fid_resize}"
    if "classifier" in extractors:
        ids["classifier"] = f"classifier sha256={file_digest(request.classifier)}"
    return ids


def feature_tag(extractor) -> str:
    """Short extractor name for reported metric names: "fid_inception_uint8_tf1_bilinear" ->
    "inception_uint8_tf1_bilinear", "frechet_classifier_distance" -> "classifier"."""
    name = extractor.distance_name
    if name.startswith("fid_"):
        return name[len("fid_"):]
    return name.removeprefix("frechet_").removesuffix("_distance")


@dataclasses.dataclass
class FeaturePass:
    """One extractor's view of a set of images, reduced while streaming: mean/covariance always,
    the feature vectors and classifier logits only when a requested metric needs them, and per-
    class statistics of the real split when a per-class metric needs them."""

    stats: GaussianStats
    features: Optional[np.ndarray] = None
    logits: Optional[np.ndarray] = None
    class_stats: Optional[list] = None


class _Accumulator:
    def __init__(self, keep_features, keep_logits, num_classes=0):
        self.stats = StreamingStats()
        self.features = [] if keep_features else None
        self.logits = [] if keep_logits else None
        self.class_stats = [StreamingStats() for _ in range(num_classes)]

    def update(self, features, logits=None, class_ids=None):
        self.stats.update(features)
        if self.features is not None:
            self.features.append(np.asarray(features, np.float32))
        if self.logits is not None and logits is not None:
            self.logits.append(np.asarray(logits, np.float32))
        for y, stats in enumerate(self.class_stats):
            stats.update(np.asarray(features)[class_ids == y])

    def result(self) -> FeaturePass:
        join = lambda parts: None if parts is None else np.concatenate(parts)  # noqa: E731
        return FeaturePass(self.stats.result(), join(self.features), join(self.logits),
                           [s.result() for s in self.class_stats] or None)


class Inputs:
    """What the registered metrics read, each computed once and shared between them.

    Images are generated and fed to every needed extractor batch by batch, so memory does not
    grow with --num_samples: only mean/covariance accumulators (float64, Chan's merge) are kept,
    plus feature vectors for KID and logits for the classifier metrics when those are requested.
    Generated images are quantised to uint8 first, like saved PNGs, as FID's definition requires.
    """

    def __init__(self, target, source: data.ArraySource, extractors: dict, request: Request,
                 specs, real_features: Optional[RealFeatures] = None):
        self.target, self.source, self.extractors, self.request = target, source, extractors, request
        resolve = lambda key: request.features if key == "features" else key  # noqa: E731
        self._keep_features = {resolve(s.extractor) for s in specs if s.keeps_features}
        self._keep_logits = any(s.logits for s in specs)
        self._real_classes = any(s.classes and s.extractor for s in specs)
        self._cache = {}
        # The real split's features depend on the request alone, not on the model: a Session
        # passes one RealFeatures to every checkpoint it measures, so they are computed once.
        self._real = RealFeatures() if real_features is None else real_features
        self.warnings = []

    # ---- facts ----
    features_key = property(lambda self: self.request.features)
    seed = property(lambda self: self.request.seed)
    class_ids = property(lambda self: self.source.class_ids)
    num_classes = property(lambda self: self.source.info.num_classes)
    label_dim = property(lambda self: self.source.info.label_dim)
    num_components = property(lambda self: self.target.num_components)

    def mixing_coefficients(self):
        return self.target.mixing_coefficients()

    def distance_name(self, key) -> str:
        return self.extractors[key].distance_name

    def tag(self, key) -> str:
        return feature_tag(self.extractors[key])

    def warn(self, message: str) -> None:
        """One line on stderr and in the record's "warnings", once per message."""
        if message not in self.warnings:
            self.warnings.append(message)
            print(f"warning: {message}", file=sys.stderr)

    def shared(self, key, compute):
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]

    # ---- streamed features ----

    def _stream(self, batches, class_ids=None) -> dict:
        """{extractor key: FeaturePass} of one pass over uint8 image batches."""
        accumulators = {key: _Accumulator(key in self._keep_features,
                                          key == "classifier" and self._keep_logits,
                                          self.num_classes if class_ids is not None else 0)
                        for key in self.extractors}
        start = 0
        for batch in batches:
            ids = None if class_ids is None else class_ids[start:start + len(batch)]
            start += len(batch)
            for key, extractor in self.extractors.items():
                if key == "classifier":
                    features, logits = extractor.features_and_logits(batch)
                else:
                    features, logits = extractor(batch), None
                accumulators[key].update(features, logits, ids)
        return {key: acc.result() for key, acc in accumulators.items()}

    def real(self, key) -> FeaturePass:
        """Features of the real split (with per-class statistics when a metric needs them)."""
        from tfgan_suite.metrics.features import array_batches

        def passes():
            ids = np.asarray(self.class_ids) if self._real_classes else None
            kept = dict(features=sorted(self._keep_features & set(self.extractors)),
                        logits=self._keep_logits, batch_size=self.request.batch_size)
            return self._real.get(self.source.examples, ids, self.extractors, kept, lambda: (
                self._stream(array_batches(self.source.examples, self.request.batch_size), ids)))
        return self.shared(("real",), passes)[key]

    def fake(self, key, which="all") -> FeaturePass:
        """Features of generated images: which = "all" (--num_samples from the model as a whole)
        or a class / component index (--samples_per_class of it)."""
        from tfgan_suite.metrics.features import generated_batches

        def compute():
            if which == "all":
                generate, n = self.target.generate, self.request.num_samples
            else:
                n = self.request.samples_per_class
                generate = lambda k: self.target.generate_for(which, k)  # noqa: E731
            batches = (images.to_uint8(b) for b in
                       generated_batches(generate, n, self.request.batch_size))
            return self._stream(batches)
        return self.shared(("fake", which), compute)[key]

    def cluster_probabilities(self) -> np.ndarray:
        """p(c | x) [N, K] of the real split (SLOGAN, Eq. 67)."""
        from tfgan_suite.data.base import to_model_units

        def compute():
            x, size = self.source.examples, self.request.batch_size
            return np.concatenate([
                self.target.cluster_probabilities(to_model_units(np.asarray(x[i:i + size])))
                for i in range(0, len(x), size)])
        return self.shared(("cluster_probabilities",), compute)


def compute_metrics(target, source, extractors: dict, request: Request,
                    real_features: Optional[RealFeatures] = None):
    """(values, details, warnings) of request.metrics: each registered metric function is
    called on one shared `Inputs`, so features and generated images are computed once (the real
    split's once per `real_features`, when one is given)."""
    inputs = Inputs(target, source, extractors, request, [METRICS[n] for n in request.metrics],
                    real_features)
    values, details = {}, {}
    for name in request.metrics:
        v, d = METRICS[name].compute(inputs)
        values.update(v)
        details.update(d)
    return values, details, inputs.warnings


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
                        f"of the {info.num_classes} classes of {info.name!r}: they must match "
                        f"(pi_error_matched allows more components than classes)")
    if "pi_error_matched" in metrics and k < info.num_classes:
        raise UserError(f"pi_error_matched matches each of the {info.num_classes} classes of "
                        f"{info.name!r} to its own component, but the model has {k} components")


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


@dataclasses.dataclass
class Session:
    """What every evaluation of one request shares: the model's description, the feature
    networks, the real split and its features (loaded and computed once; tfgan_suite.reproduce
    measures many checkpoints of a run with one session)."""

    request: Request
    target_info: eval_targets.TargetInfo
    extractors: dict
    source: data.ArraySource
    fid_external: bool = False
    real_features: RealFeatures = dataclasses.field(default_factory=RealFeatures)

    @classmethod
    def open(cls, request: Request, fid_extractor=None) -> "Session":
        """Checks in the order of the module docstring; loads the feature networks and data."""
        request = dataclasses.replace(request, metrics=parse_metrics(request.metrics))
        check_request(request)
        target_info = eval_targets.describe_target(request.run_dir, request.saved_model)
        info = target_info.dataset_info()
        check_applicable(request.metrics, target_info.model, info)
        extractors = load_extractors(request, info, fid_extractor)
        source = data.load_dataset(target_info.dataset, request.data_dir or target_info.data_dir,
                                   request.split, **target_info.dataset_options)
        real = RealFeatures(request.real_features_cache,
                            extractor_ids(request, extractors, fid_extractor is not None))
        return cls(request, target_info, extractors, source, fid_extractor is not None, real)

    def settings(self) -> dict:
        request, extractors = self.request, self.extractors
        specs = [METRICS[name] for name in request.metrics]
        settings = dict(split=request.split, num_real=len(self.source),
                        num_samples=request.num_samples,
                        batch_size=request.batch_size, seed=request.seed,
                        feature_extractors={k: e.distance_name for k, e in extractors.items()})
        # Only the settings some requested metric reads, so records and reports do not list
        # options that had no effect.
        if any(spec.per_class for spec in specs):
            settings["samples_per_class"] = request.samples_per_class
        if any(spec.extractor == "features" for spec in specs):
            settings["features"] = request.features
        if "inception" in extractors:
            settings["fid_resize"] = getattr(extractors["inception"], "resize", None)
            if not self.fid_external:
                from tfgan_suite.metrics.inception import default_weights_path
                settings["fid_weights"] = os.path.abspath(request.fid_weights or
                                                          default_weights_path())
        if "classifier" in extractors:
            settings["classifier"] = os.path.abspath(request.classifier)
        for name, setting in (("mig", "mig_samples"), ("fvm", "fvm_votes"), ("fvm", "mig_samples"),
                              ("gilbo", "gilbo_steps")):
            if name in request.metrics:
                settings[setting] = getattr(request, setting)
        if any(n in request.metrics for n in ("nmi", "ari", "purity")):
            from tfgan_suite.metrics import clustering
            settings.update(kmeans_n_init=clustering.KMEANS_N_INIT,
                            kmeans_random_state=clustering.KMEANS_RANDOM_STATE,
                            nmi_average_method=clustering.NMI_AVERAGE_METHOD)
        return settings

    def measure(self, target, source_tag: dict) -> dict:
        """The record of one target: step, metric values, details, settings."""
        started = time.time()
        check_data(self.request.metrics, self.source, target)
        self.real_features.last_source = None
        values, details, warnings = compute_metrics(target, self.source, self.extractors,
                                                    self.request, self.real_features)
        info = self.target_info
        return dict(timestamp=datetime.datetime.now(datetime.timezone.utc).isoformat(
                        timespec="seconds"),
                    step=target.step, model=info.model, dataset=info.dataset, source=source_tag,
                    requested=list(self.request.metrics), metrics=values, details=details,
                    settings=self.settings(), warnings=warnings,
                    **({"real_features": self.real_features.last_source}
                       if self.real_features.last_source else {}),
                    elapsed_s=round(time.time() - started, 2))

    def write(self, record: dict) -> str:
        """Append the record to metrics.jsonl (and TensorBoard for run directories)."""
        path = output_path(self.target_info, self.request)
        append_jsonl(path, record)
        if self.request.tensorboard and self.target_info.source == "run_dir":
            write_tensorboard(os.path.join(self.target_info.path, "tensorboard"), record["step"],
                              record["metrics"])
        return path


def evaluate(request: Request, fid_extractor=None) -> dict:
    """Run the evaluation, append its record (returned) to metrics.jsonl and TensorBoard."""
    started = time.time()
    session = Session.open(request, fid_extractor)
    info = session.target_info
    target = eval_targets.load_target(info, session.source.labels, session.request.seed)
    record = session.measure(target, {info.source: info.path})
    record["elapsed_s"] = round(time.time() - started, 2)
    record["written_to"] = session.write(record)
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
    flags.DEFINE_integer("mig_samples", 10_000, "mig: random factor-grid points (also fvm's "
                         "global-variance estimate). disentanglement_lib: 10,000.")
    flags.DEFINE_integer("fvm_votes", 10_000, "fvm: training votes of 64 images each; the "
                         "evaluation uses half as many. disentanglement_lib: 10,000 / 5,000.")
    flags.DEFINE_integer("gilbo_steps", 2_000, "gilbo: batches of 64 generated samples its fresh "
                         "encoder trains on (more: a tighter bound).")
    flags.DEFINE_string("real_features_cache", None, "Directory storing the real split's "
                        "features between evaluations (keyed by a hash of the images, the feature "
                        "network's weights and the settings); default $TFGAN_SUITE_CACHE/"
                        "real_features, else ~/.cache/tfgan_suite/real_features; 'none' turns "
                        "it off.")


def request_from_flags(f) -> Request:
    return Request(metrics=tuple(f.metrics or ()), run_dir=f.run_dir, saved_model=f.saved_model,
                   data_dir=f.data_dir, split=f.split, num_samples=f.num_samples,
                   samples_per_class=f.samples_per_class, batch_size=f.batch_size,
                   fid_weights=f.fid_weights, fid_resize=f.fid_resize, classifier=f.classifier,
                   features=f.features, seed=f.seed, output=f.output, tensorboard=f.tensorboard,
                   mig_samples=f.mig_samples, fvm_votes=f.fvm_votes,
                   gilbo_steps=f.gilbo_steps,
                   real_features_cache=cache_directory(f.real_features_cache))


def cache_directory(flag_value: Optional[str]) -> Optional[str]:
    """--real_features_cache: unset -> the default directory, "none" -> no disk cache."""
    if flag_value is None:
        return default_real_features_directory()
    return None if flag_value.strip().lower() in ("", "none") else flag_value


@cli.user_errors_exit
def main(argv):
    del argv
    record = evaluate(request_from_flags(flags.FLAGS))
    print(f"step {record['step']} ({record['elapsed_s']} s), appended to {record['written_to']}:")
    for name, value in record["metrics"].items():
        print(f"  {name:36s} {value:.6g}")


if __name__ == "__main__":
    define_flags()
    app.run(main, flags_parser=cli.parse_flags)
