"""Metric maths against independent computations; a fake feature extractor, no network weights."""

import types
import warnings

import numpy as np
import pytest
import scipy.linalg

from tfgan_suite import evaluate
from tfgan_suite.errors import UserError
from tfgan_suite.metrics import attributes, clustering, features, fid, icfid, inception_score
from tfgan_suite.metrics.frechet import (GaussianStats, StreamingStats, frechet_distance,
                                         frechet_distance_from_features, gaussian_stats,
                                         trace_sqrt_product)


def random_features(seed, n=400, d=6, shift=0.0):
    rng = np.random.default_rng(seed)
    mixing = rng.normal(size=(d, d))
    return rng.normal(size=(n, d)) @ mixing + shift


def frechet_by_eigh(x1, x2):
    """Independent route: Tr((S1 S2)^1/2) = Tr((A S2 A)^1/2) with A = S1^1/2 from eigh, and the
    square root of a symmetric PSD matrix via its eigenvalues."""
    mu1, mu2 = x1.mean(0), x2.mean(0)
    s1, s2 = np.cov(x1, rowvar=False), np.cov(x2, rowvar=False)
    w, v = np.linalg.eigh(s1)
    root1 = v @ np.diag(np.sqrt(np.clip(w, 0, None))) @ v.T
    inner = np.linalg.eigvalsh(root1 @ s2 @ root1)
    trace_sqrt = np.sum(np.sqrt(np.clip(inner, 0, None)))
    return np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * trace_sqrt


class FakeExtractor:
    """Features = mean of each channel plus the first pixels: cheap and distribution-sensitive."""

    distance_name = "frechet_fake_distance"

    def __call__(self, images):
        x = np.asarray(images)
        x = x / 127.5 - 1 if x.dtype == np.uint8 else x.astype(np.float32)
        flat = x.reshape(len(x), -1)
        return np.concatenate([flat.mean(1, keepdims=True), flat[:, :3]], axis=1)


def images_with_mean(mean, n, seed):
    return np.random.default_rng(seed).normal(mean, 0.3, size=(n, 4, 4, 1)).astype(np.float32)


# ---- Frechet distance -----------------------------------------------------------------------

def test_frechet_of_identical_sets_is_zero():
    x = random_features(0)
    assert abs(frechet_distance_from_features(x, x)) < 1e-8


def test_frechet_matches_eigendecomposition_route():
    x1, x2 = random_features(1), random_features(2, shift=0.5)
    expected = frechet_by_eigh(x1, x2)
    assert expected > 1.0
    assert frechet_distance_from_features(x1, x2) == pytest.approx(expected, rel=1e-9)


def test_frechet_of_shifted_gaussians_is_squared_shift():
    cov = np.diag([1.0, 2.0, 3.0])
    a = GaussianStats(np.zeros(3), cov, 10)
    b = GaussianStats(np.array([1.0, 2.0, 2.0]), cov, 10)
    assert frechet_distance(a, b) == pytest.approx(9.0, abs=1e-9)


def test_frechet_rejects_mismatched_sizes():
    with pytest.raises(ValueError, match="feature sizes"):
        frechet_distance(gaussian_stats(random_features(0, d=3)),
                         gaussian_stats(random_features(0, d=4)))


def test_streaming_stats_match_numpy_on_uneven_batches():
    # A large common offset: the naive E[xx^T] - mu mu^T would lose digits here.
    x = random_features(3, n=257) + 1e4
    stats = StreamingStats()
    for start, stop in [(0, 1), (1, 100), (100, 101), (101, 257)]:
        stats.update(x[start:stop])
    result = stats.result()
    assert result.count == 257
    np.testing.assert_allclose(result.mean, x.mean(0), rtol=1e-12)
    np.testing.assert_allclose(result.cov, np.cov(x, rowvar=False), rtol=1e-8, atol=1e-8)


def test_streaming_stats_need_two_vectors():
    stats = StreamingStats()
    stats.update(np.ones((1, 3)))
    with pytest.raises(ValueError, match="at least 2"):
        stats.result()


# ---- batches and FID-like distances with a fake extractor -------------------------------------

def test_generated_batches_produce_exact_count():
    calls = []
    batches = list(features.generated_batches(lambda n: calls.append(n) or np.zeros((n, 2)), 7, 3))
    assert calls == [3, 3, 1] and sum(len(b) for b in batches) == 7


def test_generated_batches_reject_wrong_count():
    with pytest.raises(ValueError, match="asked for 3"):
        list(features.generated_batches(lambda n: np.zeros((n + 1, 2)), 3, 3))


def test_array_batches_with_indices_read_those_rows():
    x = np.arange(10)[:, None]
    got = np.concatenate(list(features.array_batches(x, 3, indices=[7, 1, 4, 9])))
    assert got[:, 0].tolist() == [1, 4, 7, 9]


class FakeTarget:
    """A generator as the evaluation sees it (tfgan_suite.eval_targets)."""

    def __init__(self, generate, generate_for=None, num_components=0, pi=None):
        self.generate, self.generate_for = generate, generate_for
        self.num_components, self.pi = num_components, pi

    def mixing_coefficients(self):
        return self.pi


def pipeline(real, target, metrics, class_ids=None, num_classes=0, **request):
    """(values, details, inputs) of `metrics` computed by evaluate's pipeline on a fake extractor."""
    source = types.SimpleNamespace(examples=real, class_ids=class_ids, info=types.SimpleNamespace(
        num_classes=num_classes, label_dim=num_classes))
    request = evaluate.Request(metrics=tuple(metrics), **{"batch_size": 64, **request})
    specs = [evaluate.METRICS[m] for m in metrics]
    inputs = evaluate.Inputs(target, source, {"inception": FakeExtractor()}, request, specs)
    values, details = {}, {}
    for name in metrics:
        v, d = evaluate.METRICS[name].compute(inputs)
        values.update(v)
        details.update(d)
    return values, details, inputs


def test_fid_through_the_pipeline_names_metric_and_separates_distributions():
    real = images_with_mean(0.0, 400, seed=0)
    def target(mean):
        return FakeTarget(lambda n: images_with_mean(mean, n, seed=n))
    same = pipeline(real, target(0.0), ["fid"], num_samples=400)[0]
    far = pipeline(real, target(0.5), ["fid"], num_samples=400)[0]
    assert set(same) == {"frechet_fake_distance"}
    assert same["frechet_fake_distance"] < 0.05 < far["frechet_fake_distance"]


def test_streamed_statistics_equal_the_in_memory_computation():
    real = images_with_mean(0.3, 333, seed=1)
    generated = images_with_mean(-0.2, 250, seed=2)
    served = iter(np.array_split(generated, np.cumsum([64, 64, 64])))
    target = FakeTarget(lambda n: next(served))
    _, _, inputs = pipeline(real, target, ["fid", "kid"], num_samples=250)
    from tfgan_suite import images
    for streamed, x in ((inputs.real("inception"), real),
                        (inputs.fake("inception"), images.to_uint8(generated))):
        in_memory = gaussian_stats(FakeExtractor()(x))
        np.testing.assert_allclose(streamed.stats.mean, in_memory.mean, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(streamed.stats.cov, in_memory.cov, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(streamed.features, FakeExtractor()(x), rtol=1e-6)  # float32


def test_kid_on_a_small_sample_warns_and_reports_no_std(capsys):
    real = images_with_mean(0.0, 300, seed=3)
    values, _, inputs = pipeline(real, FakeTarget(lambda n: images_with_mean(0, n, seed=n)),
                                 ["kid"], num_samples=200)
    assert list(values) == ["kid_fake"]
    assert any("fewer than the 1000" in w for w in inputs.warnings)
    assert "warning:" in capsys.readouterr().err


def test_kid_with_enough_samples_reports_mean_and_std():
    real = images_with_mean(0.0, 1000, seed=3)
    values, _, inputs = pipeline(real, FakeTarget(lambda n: images_with_mean(0, n, seed=n + 7)),
                                 ["kid"], num_samples=1000)
    assert set(values) == {"kid_fake", "kid_fake_std"} and values["kid_fake_std"] > 0
    assert not inputs.warnings


def test_fid_with_fewer_samples_than_dimensions_warns():
    real = images_with_mean(0.0, 3, seed=4)
    _, _, inputs = pipeline(real, FakeTarget(lambda n: images_with_mean(0, n, seed=n)), ["fid"],
                            num_samples=3)
    assert any("covariance is singular" in w and "at least 4" in w for w in inputs.warnings)


def test_trace_sqrt_product_equals_scipy_sqrtm_and_stays_quiet_when_singular():
    s1, s2 = (np.cov(random_features(seed), rowvar=False) for seed in (7, 8))
    expected = np.trace(scipy.linalg.sqrtm(s1 @ s2)).real
    assert trace_sqrt_product(s1, s2) == pytest.approx(expected, rel=1e-9)
    few = random_features(9, n=5, d=40)       # rank 4 covariances in 40 dimensions
    singular1, singular2 = np.cov(few, rowvar=False), np.cov(few[::-1] + 1, rowvar=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value = frechet_distance(gaussian_stats(few), gaussian_stats(few + 0.5))
        trace_sqrt_product(singular1, singular2)
    # Exact answer 10 (same covariance, mean shift 0.5 in 40 dimensions); the square roots of
    # the ~1e-12 eigenvalues round-off leaves in the 36-dimensional null space cost ~1e-5.
    assert np.isfinite(value) and value == pytest.approx(40 * 0.25, rel=1e-4)


def kid_by_loops(x, y):
    m, d = len(x), x.shape[1]
    k = lambda a, b: (a @ b / d + 1) ** 3  # noqa: E731
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / (m * m)
    return xx + yy - 2 * xy


def test_kernel_distance_matches_definition_on_full_subset():
    x, y = random_features(4, n=20, d=3), random_features(5, n=20, d=3, shift=1.0)
    mean, std = fid.kernel_distance(x, y, num_subsets=1, subset_size=20)
    assert mean == pytest.approx(kid_by_loops(x, y), rel=1e-10) and std == 0.0


def test_kernel_distance_near_zero_for_same_distribution():
    rng = np.random.default_rng(6)
    x, y, shifted = rng.normal(size=(500, 4)), rng.normal(size=(500, 4)), rng.normal(1.0, 1.0, (500, 4))
    far = fid.kernel_distance(x, shifted, num_subsets=10, subset_size=200)[0]
    assert abs(fid.kernel_distance(x, y, num_subsets=10, subset_size=200)[0]) < 0.05 * far


# ---- ICFID and intra-class FID ----------------------------------------------------------------

def test_greedy_and_hungarian_icfid_differ_when_greedy_is_myopic():
    # Class 0 grabs cluster 0 (distance 1) and leaves class 1 with distance 100 (greedy: 50.5);
    # the optimum swaps them (2 + 3) / 2 = 2.5.
    d = np.array([[1.0, 2.0], [3.0, 100.0]])
    greedy, hungarian = icfid.icfid_greedy(d), icfid.icfid_hungarian(d)
    assert greedy.value == pytest.approx(50.5) and greedy.assignment.tolist() == [0, 1]
    assert hungarian.value == pytest.approx(2.5) and hungarian.assignment.tolist() == [1, 0]
    assert hungarian.distances.tolist() == [2.0, 3.0]


def test_greedy_follows_class_order():
    # Class 0 takes its best remaining cluster first even when class 1 wanted it more.
    d = np.array([[2.0, 3.0, 9.0], [1.0, 8.0, 9.0]])
    assert icfid.icfid_greedy(d).assignment.tolist() == [0, 1]
    assert icfid.icfid_hungarian(d).assignment.tolist() == [1, 0]


def test_matchings_agree_on_easy_case_with_extra_cluster():
    d = np.array([[9.0, 1.0, 8.0, 7.0], [2.0, 9.0, 9.0, 9.0], [9.0, 9.0, 9.0, 3.0]])
    for match in (icfid.icfid(d, "greedy"), icfid.icfid(d, "hungarian")):
        assert match.assignment.tolist() == [1, 0, 3] and match.value == pytest.approx(2.0)


def test_icfid_needs_enough_clusters_and_known_matching():
    with pytest.raises(UserError, match="at least as many clusters"):
        icfid.icfid_greedy(np.ones((3, 2)))
    with pytest.raises(UserError, match="hungarian"):
        icfid.icfid(np.ones((2, 2)), "optimal")


def test_intra_fid_is_the_mean_of_per_class_distances():
    means = np.array([-1.0, 0.5])
    class_ids = np.repeat([0, 1], 150)
    real = np.concatenate([images_with_mean(m, 150, seed=i) for i, m in enumerate(means)])
    generate_for = lambda c, n: images_with_mean(means[c] + 0.1 * c, n, seed=20 + c + n)  # noqa: E731
    values, details, inputs = pipeline(real, FakeTarget(None, generate_for), ["intra_fid"],
                                       class_ids, 2, samples_per_class=150)
    per_class = [frechet_distance(gaussian_stats(FakeExtractor()(real[class_ids == c])),
                                  inputs.fake("inception", c).stats) for c in (0, 1)]
    assert values["intra_fid_fake"] == pytest.approx(np.mean(per_class), rel=1e-9)
    assert details["intra_fid_fake"]["per_class"] == pytest.approx(per_class, rel=1e-9)


def test_icfid_recovers_the_cluster_permutation():
    means = np.array([-1.0, 0.0, 1.0])
    class_ids = np.repeat([0, 1, 2], 150)
    real = np.concatenate([images_with_mean(m, 150, seed=i) for i, m in enumerate(means)])
    permutation = [2, 0, 1]  # cluster c generates class permutation[c]
    generate_for = lambda c, n: images_with_mean(means[permutation[c]], n, seed=10 + c + n)  # noqa: E731
    values, details, _ = pipeline(real, FakeTarget(None, generate_for, num_components=3),
                                  ["icfid", "icfid_hungarian"], class_ids, 3,
                                  samples_per_class=150)
    assert [permutation[c] for c in details["icfid_fake"]["assignment"]] == [0, 1, 2]
    assert values["icfid_fake"] < 0.1 and values["icfid_hungarian_fake"] <= values["icfid_fake"]


def test_per_class_metrics_need_examples_of_every_class():
    with pytest.raises(UserError, match=r"classes \[2\]"):
        features.per_class_indices(np.array([0, 0, 1, 1]), 3)
    with pytest.raises(UserError, match="class labels"):
        features.per_class_indices(None, 3)


# ---- clustering -------------------------------------------------------------------------------

def test_nmi_ari_purity_of_perfect_and_permuted_clusterings():
    truth = np.repeat([0, 1, 2], 4)
    for clusters in (truth, (truth + 1) % 3):
        assert clustering.nmi(truth, clusters) == pytest.approx(1.0)
        assert clustering.ari(truth, clusters) == pytest.approx(1.0)
        assert clustering.purity(truth, clusters) == pytest.approx(1.0)


def test_purity_rewards_splitting_but_nmi_does_not():
    truth = np.array([0] * 8 + [1] * 2)
    everything_in_one = np.zeros(10, int)
    assert clustering.purity(truth, everything_in_one) == pytest.approx(0.8)
    assert clustering.nmi(truth, everything_in_one) == pytest.approx(0.0)


def test_nmi_uses_arithmetic_normalisation():
    truth, clusters = np.array([0, 0, 1, 1, 1, 1]), np.array([0, 1, 1, 1, 2, 2])
    from sklearn.metrics import mutual_info_score
    h = lambda labels: mutual_info_score(labels, labels)  # noqa: E731  (entropy)
    expected = mutual_info_score(truth, clusters) / ((h(truth) + h(clusters)) / 2)
    assert clustering.nmi(truth, clusters) == pytest.approx(expected)


def test_clustering_scores_on_separated_probability_vectors(monkeypatch):
    seen = {}
    original = clustering.sklearn.cluster.KMeans

    def recording_kmeans(**kwargs):
        seen.update(kwargs)
        return original(**kwargs)

    monkeypatch.setattr(clustering.sklearn.cluster, "KMeans", recording_kmeans)
    rng = np.random.default_rng(0)
    truth = np.repeat([0, 1, 2], 30)
    probs = np.eye(3)[(truth + 1) % 3] * 0.9 + 0.05 + rng.uniform(0, 0.02, (90, 3))
    scores = clustering.clustering_scores(probs, truth, 3)
    assert scores == pytest.approx({"nmi": 1.0, "ari": 1.0, "purity": 1.0})
    assert seen == {"n_clusters": 3, "n_init": 10, "random_state": 0}


# ---- Inception Score --------------------------------------------------------------------------

def test_inception_score_uniform_and_one_hot():
    assert inception_score.inception_score(np.zeros((20, 5)), splits=2) == pytest.approx((1.0, 0.0))
    one_hot = np.eye(5)[np.arange(20) % 5] * 50.0
    mean, std = inception_score.inception_score(one_hot, splits=2)
    assert mean == pytest.approx(5.0, rel=1e-6) and std == pytest.approx(0.0, abs=1e-6)
    # Confident but always the same class: no diversity, score 1.
    same_class = np.eye(5)[np.zeros(20, int)] * 50
    assert inception_score.inception_score(same_class, splits=2)[0] == pytest.approx(1.0)


def test_inception_score_needs_enough_samples():
    with pytest.raises(ValueError, match="10 splits"):
        inception_score.inception_score(np.zeros((5, 3)))


# ---- attribute control and pi -----------------------------------------------------------------

def test_attribute_accuracy_onehot_and_binary():
    targets = np.eye(3)[[0, 1, 2, 1]]
    logits = np.array([[5, 0, 0], [0, 1, 0], [0, 3, 1], [0, 2, 0]], float)
    assert attributes.attribute_accuracy(logits, targets, "onehot") == pytest.approx(0.75)
    probs = np.array([[0.9, 0.2], [0.4, 0.6], [0.5, 0.1]])
    requested = np.array([[1, 0], [1, 1], [0, 0]], float)
    np.testing.assert_allclose(attributes.binary_attribute_accuracy(probs, requested), [1 / 3, 1.0])
    assert attributes.attribute_accuracy(probs, requested, "binary") == pytest.approx(2 / 3)
    # Logits: threshold 0 instead of 0.5.
    np.testing.assert_allclose(attributes.binary_attribute_accuracy(probs - 0.5, requested, 0.0),
                               [1 / 3, 1.0])
    with pytest.raises(UserError, match="continuous"):
        attributes.attribute_accuracy(probs, requested, "continuous")


def test_pi_error_sorted_and_assigned():
    learned, truth = np.array([0.31, 0.69]), np.array([0.7, 0.3])
    assert attributes.pi_error(learned, truth) == pytest.approx({"pi_l1": 0.02, "pi_max_abs": 0.01})
    # An assignment that maps class 0 to the small cluster is charged for it.
    assert attributes.pi_error(learned, truth, assignment=[0, 1]) == pytest.approx(
        {"pi_l1": 0.78, "pi_max_abs": 0.39})
    # Unnormalised input is normalised first.
    assert attributes.pi_error([3, 1], [1, 3])["pi_l1"] == pytest.approx(0.0)
    with pytest.raises(UserError, match="true ratios"):
        attributes.pi_error([0.5, 0.5], [0.2, 0.3, 0.5])


def test_components_are_matched_to_the_classes_their_real_examples_fall_in():
    # Class 0 (3 examples) lies in component 2, class 1 (1 example) in component 0; component 1
    # is empty. A sorted matching would pair class 0 with the largest pi instead.
    p = np.array([[0.1, 0.0, 0.9], [0.0, 0.2, 0.8], [0.3, 0.0, 0.7], [0.9, 0.1, 0.0]])
    assignment = attributes.match_components(p, np.array([0, 0, 0, 1]), 2)
    assert assignment.tolist() == [2, 0]
    learned = np.array([0.6, 0.1, 0.3])            # component 0 has the largest share
    errors = attributes.pi_error(learned, [0.75, 0.25], assignment)
    assert errors == pytest.approx({"pi_l1": 0.45 + 0.35, "pi_max_abs": 0.45})
    with pytest.raises(UserError, match="one to one"):
        attributes.match_components(p[:, :1], np.array([0, 0, 0, 1]), 2)
