"""The evaluation CLI: a tiny trained cWGAN evaluated from its run directory and its SavedModel
(fake FID extractor, tiny real domain classifier: no weights download), the metrics' plumbing on
fake cWGAN / SLOGAN targets whose right answers are known, and the user-facing errors."""

import dataclasses
import glob
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from absl import flags

from tests import fixtures
from tfgan_suite import config as config_lib, data, eval_targets, evaluate
from tfgan_suite.data.base import ArraySource, DatasetInfo, to_model_units
from tfgan_suite.errors import UserError
from tfgan_suite.metrics import domain_classifier
from tfgan_suite.metrics.real_features import RealFeatures
from tfgan_suite.train import train

FLAGS = flags.FLAGS
SMALL = dict(num_samples=40, samples_per_class=12, batch_size=32)


class FakeInception:
    """4x4 average-pooled pixels: a cheap stand-in for the FID Inception (same interface)."""

    distance_name = "fid_fake"
    resize = "none"

    def __call__(self, images):
        x = to_model_units(np.asarray(images))
        return x.reshape(len(x), 4, 7, 4, 7).mean(axis=(2, 4)).reshape(len(x), 16)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A one-step cWGAN run on mnist5k with its export, and a briefly trained domain classifier."""
    root = tmp_path_factory.mktemp("evaluate")
    FLAGS.unparse_flags()
    FLAGS(["train", "--dataset=mnist5k", f"--run_dir={root}/run", f"--export_dir={root}/exports",
           "--steps=1", "--n_critic=1", "--batch_size=2", "--checkpoint_every=1", "--grid_rows=2"])
    result = train(config_lib.resolve(FLAGS))
    source = data.load_dataset("mnist5k", split="train")
    model = domain_classifier.train_domain_classifier(source.examples[::5], source.labels[::5],
                                                      steps=30, batch_size=32)
    model.save(str(root / "classifier.keras"))
    return dict(run_dir=str(root / "run"), export=result["export"],
                classifier=str(root / "classifier.keras"))


def request(metrics, **kwargs):
    return evaluate.Request(metrics=tuple(metrics.split(",")), **{**SMALL, **kwargs})


def read_jsonl(path):
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def metric_scalars(logdir):
    """{(tag, step): value} of the Metrics/ scalars in the event files under logdir."""
    found = {}
    for path in glob.glob(os.path.join(logdir, "events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                if value.tag.startswith("Metrics/"):
                    found[(value.tag, event.step)] = float(tf.make_ndarray(value.tensor))
    return found


def file_size(path):
    return os.path.getsize(path) if os.path.exists(path) else None


def test_run_dir_evaluation_writes_jsonl_and_tensorboard(trained):
    record = evaluate.evaluate(request(
        "fid,classifier_fd,kid,classifier_score,intra_fid,attribute_accuracy",
        run_dir=trained["run_dir"], classifier=trained["classifier"]), fid_extractor=FakeInception())
    values = record["metrics"]
    # 40 samples: KID reports one estimate without a std, and says why (as does the FID guard).
    assert set(values) == {"fid_fake", "frechet_classifier_distance", "kid_fake",
                           "classifier_score", "classifier_score_std", "intra_fid_fake",
                           "attribute_accuracy"}
    assert any("KID subset" in w for w in record["warnings"])
    assert any("covariance is singular" in w for w in record["warnings"])
    assert all(np.isfinite(v) for v in values.values())
    assert values["fid_fake"] > 0 and values["frechet_classifier_distance"] > 0
    assert 1.0 <= values["classifier_score"] <= 10.0
    assert 0.0 <= values["attribute_accuracy"] <= 1.0
    assert len(record["details"]["intra_fid_fake"]["per_class"]) == 10
    assert record["step"] == 1 and record["model"] == "cwgan" and record["dataset"] == "mnist5k"
    settings = record["settings"]
    assert settings["num_real"] == 500 and settings["num_samples"] == 40
    assert settings["fid_resize"] == "none" and settings["classifier"] == trained["classifier"]
    assert settings["feature_extractors"] == {"inception": "fid_fake",
                                              "classifier": "frechet_classifier_distance"}
    assert settings["samples_per_class"] == 12 and settings["features"] == "inception"

    path = os.path.join(trained["run_dir"], "metrics.jsonl")
    assert record["written_to"] == path
    last = read_jsonl(path)[-1]
    assert last["metrics"] == values and last["timestamp"] == record["timestamp"]
    scalars = metric_scalars(os.path.join(trained["run_dir"], "tensorboard"))
    for name, value in values.items():
        assert scalars[(f"Metrics/{name}", 1)] == pytest.approx(value, rel=1e-6)


def test_same_seed_same_numbers_from_run_and_saved_model(trained, tmp_path):
    output = str(tmp_path / "metrics.jsonl")
    first = evaluate.evaluate(request("fid", run_dir=trained["run_dir"], output=output,
                                      tensorboard=False), fid_extractor=FakeInception())
    again = evaluate.evaluate(request("fid", run_dir=trained["run_dir"], output=output,
                                      tensorboard=False), fid_extractor=FakeInception())
    assert again["metrics"] == first["metrics"]
    assert len(read_jsonl(output)) == 2
    other_seed = evaluate.evaluate(request("fid", run_dir=trained["run_dir"], output=output,
                                           seed=1), fid_extractor=FakeInception())
    assert other_seed["metrics"] != first["metrics"]

    served = evaluate.evaluate(request("fid", saved_model=trained["export"]),
                               fid_extractor=FakeInception())
    assert served["metrics"]["fid_fake"] == pytest.approx(first["metrics"]["fid_fake"], rel=1e-4)
    assert served["step"] == 1 and served["source"] == {"saved_model": trained["export"]}
    # Next to the version directory, where TF Serving ignores it.
    assert served["written_to"] == os.path.join(os.path.dirname(trained["export"]), "metrics.jsonl")
    assert read_jsonl(served["written_to"])[-1]["metrics"] == served["metrics"]
    assert not glob.glob(os.path.join(trained["export"], "**", "events.*"), recursive=True)


# ---- SLOGAN runs: the synthetic Gaussians and MNIST-2 ----------------------------------------

def train_slogan(root, *args):
    FLAGS.unparse_flags()
    FLAGS(["train", "--model=slogan", f"--run_dir={root}/run", f"--export_dir={root}/exports",
           "--steps=1", "--checkpoint_every=1", "--grid_rows=2", *args])
    return train(config_lib.resolve(FLAGS))


def test_slogan_gaussians8_from_run_and_saved_model(tmp_path):
    result = train_slogan(tmp_path, "--dataset=gaussians8", "--batch_size=16")
    metrics = "nmi,ari,purity,pi_error,pi_error_matched,mode_quality"
    from_run = evaluate.evaluate(request(metrics, run_dir=result["run_dir"], batch_size=4096))
    values = from_run["metrics"]
    assert set(values) == {"nmi", "ari", "purity", "pi_l1", "pi_max_abs", "pi_matched_l1",
                           "pi_matched_max_abs", "pi_majority_class", "high_quality",
                           "modes_covered", "reverse_kl", "std_ratio_mean", "mean_offset_max"}
    # pi is still ~1/8 everywhere, so any matching gives the same error.
    assert values["pi_matched_l1"] == pytest.approx(0.5, abs=0.01)
    assert sorted(from_run["details"]["pi_matched"]["assignment"]) == list(range(8))
    assert 0.0 <= values["high_quality"] <= 1.0 and 0 <= values["modes_covered"] <= 8
    assert len(from_run["details"]["mode_quality"]["std_ratio"]) == 8
    assert all(0.0 <= values[k] <= 1.0 for k in ("nmi", "ari", "purity"))
    pi = from_run["details"]["pi"]
    assert pi["class_shares"] == pytest.approx([1 / 16] * 4 + [3 / 16] * 4)
    # One step barely moves pi from 1/8: |1/8 - 1/16| * 4 + |1/8 - 3/16| * 4 = 0.5.
    assert values["pi_l1"] == pytest.approx(0.5, abs=0.01)
    assert from_run["settings"]["kmeans_n_init"] == 10
    assert from_run["settings"]["nmi_average_method"] == "arithmetic"
    assert not {"samples_per_class", "features"} & set(from_run["settings"])   # unread here

    served = evaluate.evaluate(request(metrics, saved_model=result["export"], batch_size=4096))
    assert served["details"]["pi"]["learned"] == pytest.approx(pi["learned"], abs=1e-6)
    # Clustering and pi read the same networks and prior; mode_quality's samples come from the
    # export's own sampler (stateful noise), so only its presence is compared.
    clustering = {k: v for k, v in values.items() if k in ("nmi", "ari", "purity", "pi_l1",
                                                            "pi_max_abs", "pi_matched_l1")}
    assert {k: served["metrics"][k] for k in clustering} == pytest.approx(clustering, abs=1e-6)
    assert set(served["metrics"]) == set(values)
    with pytest.raises(UserError, match="'fid' needs images"):
        evaluate.evaluate(request("fid", run_dir=result["run_dir"]), fid_extractor=FakeInception())


def test_slogan_mnist2_icfid_is_seeded_and_matches_every_class(tmp_path):
    fixtures.write_mnist_idx(str(tmp_path / "mnist"), n_train=60, n_test=200)
    result = train_slogan(tmp_path, "--dataset=mnist2", f"--data_dir={tmp_path}/mnist",
                          "--batch_size=4", "--export=false")
    req = request("icfid,icfid_hungarian,nmi,pi_error", run_dir=result["run_dir"])
    first = evaluate.evaluate(req, fid_extractor=FakeInception())
    again = evaluate.evaluate(req, fid_extractor=FakeInception())
    assert again["metrics"] == first["metrics"]
    values, details = first["metrics"], first["details"]
    assert values["icfid_hungarian_fake"] <= values["icfid_fake"] + 1e-9
    assert sorted(details["icfid_fake"]["assignment"]) == [0, 1]
    assert details["pi"]["class_shares"] == pytest.approx([20 / 28, 8 / 28])
    with pytest.raises(UserError, match="'intra_fid' does not apply to --model=slogan"):
        evaluate.evaluate(request("intra_fid", run_dir=result["run_dir"]),
                          fid_extractor=FakeInception())


# ---- the metrics' plumbing on fake targets with known answers --------------------------------

NOISE = 25


def noisy_digits(class_ids, seed):
    """Class-dependent stripe images plus pixel noise, uint8 [N, 28, 28, 1]."""
    base = fixtures.digit_images(np.asarray(class_ids)).astype(np.float32)
    noise = np.random.default_rng(seed).normal(0, NOISE, base.shape)
    return np.clip(base + noise, 0, 255).astype(np.uint8)[..., None]


def toy_source(counts):
    ids = np.repeat(np.arange(len(counts)), counts).astype(np.int32)
    names = tuple(str(c) for c in range(len(counts)))
    info = DatasetInfo("toy", (28, 28, 1), names, "onehot", len(counts))
    return ArraySource(info, noisy_digits(ids, seed=0), np.eye(len(counts), dtype=np.float32)[ids],
                       ids)


def toy_info(model):
    return eval_targets.TargetInfo(model, "run_dir", "/toy", "toy", {}, None, 4, 0.0)


class DigitClassifier:
    """Reads the class back from the stripe period (a perfect classifier for noisy_digits)."""

    distance_name = "frechet_classifier_distance"

    def __init__(self, num_classes):
        self.templates = fixtures.digit_images(np.arange(num_classes)).astype(np.float32)

    def features_and_logits(self, images):
        x = np.asarray(images, np.float32)[..., 0]
        gaps = ((x[:, None] - self.templates[None]) ** 2).mean(axis=(2, 3))
        return -gaps, -gaps


def fake_cwgan(swap_classes=False):
    def generate_zy(z, y):
        ids = np.argmax(y, axis=1)
        if swap_classes:
            ids = (ids + 1) % y.shape[1]
        return to_model_units(noisy_digits(ids, seed=int(abs(z[0, 0]) * 1e6)))
    return generate_zy


def test_cwgan_metrics_reward_the_right_classes():
    source = toy_source([30, 30, 30])
    req = request("intra_fid,attribute_accuracy", run_dir="/toy")
    extractors = {"inception": FakeInception(), "classifier": DigitClassifier(3)}
    results = {}
    for swap in (False, True):
        target = eval_targets.CWGANTarget(toy_info("cwgan"), 5, fake_cwgan(swap), source.labels, 0)
        results[swap] = evaluate.compute_metrics(target, source, extractors, req)[0]
    assert results[False]["attribute_accuracy"] == 1.0 and results[True]["attribute_accuracy"] == 0.0
    assert results[False]["intra_fid_fake"] < 0.1 * results[True]["intra_fid_fake"]


class CountingInception(FakeInception):
    """FakeInception that counts the images it has seen."""

    def __init__(self):
        self.images_seen = 0

    def __call__(self, images):
        self.images_seen += len(images)
        return super().__call__(images)


def cwgan_values(source, extractor, req, real_features=None, swap=False, step=5):
    target = eval_targets.CWGANTarget(toy_info("cwgan"), step, fake_cwgan(swap), source.labels, 0)
    return evaluate.compute_metrics(target, source, {"inception": extractor}, req,
                                    real_features)[0]


def test_real_features_are_computed_once_per_session():
    source = toy_source([30, 30, 30])
    req = request("fid,intra_fid", run_dir="/toy", num_samples=60, samples_per_class=20)
    counting, shared = CountingInception(), RealFeatures()
    first = cwgan_values(source, counting, req, shared)
    second = cwgan_values(source, counting, req, shared, swap=True, step=6)
    generated = req.num_samples + 3 * req.samples_per_class
    assert counting.images_seen == len(source) + 2 * generated
    assert shared.last_source == "memory"
    assert first == cwgan_values(source, FakeInception(), req)
    assert second == cwgan_values(source, FakeInception(), req, swap=True, step=6)


def test_real_features_are_stored_and_reused_across_sessions(tmp_path, capsys):
    source = toy_source([30, 30, 30])
    req = request("fid,intra_fid,kid", run_dir="/toy", num_samples=60, samples_per_class=20)
    ids = {"inception": "fake 4x4 pooling"}
    expected = cwgan_values(source, FakeInception(), req)

    first = RealFeatures(str(tmp_path), ids)
    assert cwgan_values(source, FakeInception(), req, first) == expected
    assert first.last_source == "computed"
    [entry] = tmp_path.glob("*.npz")

    counting, later = CountingInception(), RealFeatures(str(tmp_path), ids)
    assert cwgan_values(source, counting, req, later) == expected
    assert later.last_source == str(entry)
    assert counting.images_seen == req.num_samples + 3 * req.samples_per_class  # no real images

    # Other images, another network or another setting miss; they never read this entry.
    changed = toy_source([30, 30, 30])
    changed.examples[0, 0, 0, 0] ^= 1
    for source_, ids_, req_ in ((changed, ids, req), (source, {"inception": "other"}, req),
                                (source, ids, dataclasses.replace(req, batch_size=16))):
        store = RealFeatures(str(tmp_path), ids_)
        cwgan_values(source_, FakeInception(), req_, store)
        assert store.last_source == "computed"
    assert len(list(tmp_path.glob("*.npz"))) == 4

    # A damaged entry is recomputed (same values) and rewritten.
    entry.write_bytes(entry.read_bytes()[:100])
    damaged = RealFeatures(str(tmp_path), ids)
    assert cwgan_values(source, FakeInception(), req, damaged) == expected
    assert damaged.last_source == "computed" and "unreadable" in capsys.readouterr().err
    assert RealFeatures(str(tmp_path), ids).get(
        source.examples, np.asarray(source.class_ids), {"inception": None},
        {"features": ["inception"], "logits": False, "batch_size": req.batch_size},
        compute=None) is not None   # the rewritten entry is read back (compute is not called)


def test_real_features_of_an_unnamed_extractor_stay_in_memory(tmp_path):
    source = toy_source([30, 30, 30])
    req = request("fid", run_dir="/toy", num_samples=60)
    store = RealFeatures(str(tmp_path), extractor_ids={})
    cwgan_values(source, FakeInception(), req, store)
    assert store.last_source == "computed" and not list(tmp_path.iterdir())


def fake_slogan(source, pi):
    """Component 0 generates class 1 and component 1 class 0; p(c|x) is exact."""
    swap = np.array([1, 0])

    def generate_component(ids, seed):
        return to_model_units(noisy_digits(swap[ids], seed=int(seed[0])))

    def cluster_probabilities(x):
        logits = DigitClassifier(2).features_and_logits((x + 1) * 127.5)[1]
        return np.eye(2)[swap[np.argmax(logits, axis=1)]]

    return eval_targets.SLOGANTarget(toy_info("slogan"), 7, generate_component,
                                     cluster_probabilities, pi, seed=0)


def test_slogan_metrics_recover_the_class_cluster_match():
    source = toy_source([42, 18])  # 7:3
    target = fake_slogan(source, pi=[0.25, 0.75])
    req = request("icfid,icfid_hungarian,nmi,ari,purity,pi_error", run_dir="/toy")
    evaluate.check_data(req.metrics, source, target)
    values, details, _ = evaluate.compute_metrics(target, source,
                                                  {"inception": FakeInception()}, req)
    assert values["nmi"] == pytest.approx(1.0) and values["ari"] == pytest.approx(1.0)
    assert values["purity"] == 1.0
    assert details["icfid_fake"]["assignment"] == [1, 0]
    assert details["icfid_hungarian_fake"]["assignment"] == [1, 0]
    # learned (0.75, 0.25) vs shares (0.7, 0.3) after matching by size
    assert values["pi_l1"] == pytest.approx(0.1) and values["pi_max_abs"] == pytest.approx(0.05)
    assert details["pi"]["class_shares"] == pytest.approx([0.7, 0.3])


def test_icfid_and_pi_error_need_enough_components():
    source = toy_source([10, 10])
    one = eval_targets.SLOGANTarget(toy_info("slogan"), 1, None, None, [1.0], seed=0)
    for metric in ("icfid", "pi_error"):
        with pytest.raises(UserError, match="1 (learned|components)"):
            evaluate.check_data((metric,), source, one)


@pytest.mark.parametrize("metric,info,message", [
    ("icfid", DatasetInfo("unlabelled", (28, 28, 1)), "needs ground-truth classes"),
    ("nmi", DatasetInfo("unlabelled", (28, 28, 1)), "needs ground-truth classes"),
    ("fid", DatasetInfo("points", (2,), ("a", "b"), "onehot", 2), "needs images"),
])
def test_metrics_refused_for_datasets_without_what_they_need(metric, info, message):
    with pytest.raises(UserError, match=message):
        evaluate.check_applicable((metric,), "slogan", info)


# ---- user errors: reported before any data, model or generation work --------------------------

@pytest.fixture
def no_heavy_work(monkeypatch):
    def boom(*args, **kwargs):
        raise AssertionError("heavy work started before the error was found")
    monkeypatch.setattr(data, "load_dataset", boom)
    monkeypatch.setattr(eval_targets, "load_target", boom)


@pytest.mark.parametrize("metrics,kwargs,message", [
    ("fidd", {}, "unknown metric 'fidd'; valid metrics: fid, classifier_fd"),
    ("is", {}, "Inception Score needs the Inception network's class logits"),
    ("nmi", {}, "'nmi' does not apply to --model=cwgan"),
    ("icfid", {}, "'icfid' does not apply to --model=cwgan"),
    ("pi_error", {}, "does not apply"),
    ("classifier_fd", {}, "classifier_fd need\\(s\\) --classifier"),
    ("kid", {"features": "classifier"}, "kid need\\(s\\) --classifier"),
    ("attribute_accuracy", {"classifier": "/nonexistent/c.keras"}, "/nonexistent/c.keras not found"),
    ("fid", {"fid_weights": "/nonexistent/fid.weights.h5"}, "FID Inception weights not found"),
    ("fid", {"num_samples": 0}, "--num_samples must be positive"),
    ("fid", {"split": "valid"}, "--split must be one of"),
])
def test_user_errors_come_before_heavy_work(trained, no_heavy_work, metrics, kwargs, message):
    jsonl = os.path.join(trained["run_dir"], "metrics.jsonl")
    before = file_size(jsonl)
    with pytest.raises(UserError, match=message):
        evaluate.evaluate(request(metrics, run_dir=trained["run_dir"], **kwargs))
    assert file_size(jsonl) == before


@pytest.mark.parametrize("kwargs,message", [
    ({}, "exactly one of --run_dir"),
    ({"run_dir": "/nonexistent/run", "saved_model": "/nonexistent/1"}, "exactly one of --run_dir"),
    ({"run_dir": "/nonexistent/run"}, "not a run directory"),
    ({"saved_model": "/nonexistent/1"}, "is not a directory"),
])
def test_target_errors(no_heavy_work, kwargs, message):
    with pytest.raises(UserError, match=message):
        evaluate.evaluate(request("fid", **kwargs), fid_extractor=FakeInception())


def test_cli_success_and_error(trained, tmp_path):
    output = tmp_path / "cli.jsonl"
    ok = subprocess.run([sys.executable, "-m", "tfgan_suite.evaluate",
                         f"--run_dir={trained['run_dir']}", f"--classifier={trained['classifier']}",
                         "--metrics=classifier_fd,attribute_accuracy", "--num_samples=20",
                         "--samples_per_class=4", f"--output={output}", "--notensorboard"],
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr[-2000:]
    assert "frechet_classifier_distance" in ok.stdout and "attribute_accuracy" in ok.stdout
    settings = read_jsonl(output)[-1]["settings"]
    assert settings["num_samples"] == 20 and settings["samples_per_class"] == 4
    assert "features" not in settings   # no requested metric reads --features

    bad = subprocess.run([sys.executable, "-m", "tfgan_suite.evaluate",
                          f"--run_dir={trained['run_dir']}", "--metrics=nmi"],
                         capture_output=True, text=True)
    assert bad.returncode == 2
    assert "error: metric 'nmi' does not apply to --model=cwgan" in bad.stderr
    assert "Traceback" not in bad.stderr
