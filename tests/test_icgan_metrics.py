"""ICGAN's metrics on constructed cases with known answers (Hue MSE of rotated / flipped /
offset rings, code-to-digit matching), and end to end: a tiny trained ICGAN evaluated from its
run directory and from its SavedModel, whose signatures also run under `saved_model_cli run`."""

import os
import subprocess
import sys

import numpy as np
import pytest
from absl import flags

from tfgan_suite import config as config_lib, data, evaluate
from tfgan_suite.data import colormnist
from tfgan_suite.export import read_metadata
from tfgan_suite.hue import hue_to_rgb
from tfgan_suite.metrics import disentanglement as dis
from tfgan_suite.train import train

config_lib.define_flags()


def test_eq6_is_the_squared_circular_hue_difference_in_degrees():
    assert dis.eq6_degrees([350.0], [10.0]) == pytest.approx(400.0)
    assert dis.eq6_degrees([10.0, 0.0], [40.0, 180.0]) == pytest.approx((900 + 32400) / 2)


@pytest.mark.parametrize("n", [100, 900])
def test_a_rotated_or_flipped_ring_has_zero_error(n):
    standard = np.arange(n) / n
    rotated = np.roll(standard, 37)
    result = dis.hue_ring_mse(rotated)
    assert result["hue_mse"] == pytest.approx(0.0, abs=1e-20) and not result["flipped"]
    flipped = (-standard + 0.25) % 1.0          # reversed order, starting at hue 0.25
    result = dis.hue_ring_mse(flipped)
    assert result["hue_mse"] == pytest.approx(0.0, abs=1e-20) and result["flipped"]


def test_half_step_offset_gives_the_known_error_in_both_units():
    n = 100
    shifted = (np.arange(n) + 0.5) / n          # no rotation can remove a half step
    result = dis.hue_ring_mse(shifted)
    assert result["hue_mse"] == pytest.approx(0.005 ** 2)
    assert result["hue_mse_eq6_deg2"] == pytest.approx((0.005 * 360) ** 2)
    scrambled = np.random.default_rng(0).permutation(np.arange(n) / n)
    assert dis.hue_ring_mse(scrambled)["hue_mse"] > 0.03   # random order: far from a ring


def test_background_hue_is_read_from_the_corners_of_colormnist_images():
    source = data.load_dataset("colormnist", split="test")
    truth = colormnist.hue_ids(colormnist.Options(), None, "test") / 100
    measured = dis.background_hues(source.examples)
    gap = np.abs(measured - truth)
    assert np.max(np.minimum(gap, 1 - gap)) < 0.003           # uint8 rounding only
    as_model_units = source.examples.astype(np.float32) / 127.5 - 1
    np.testing.assert_allclose(dis.background_hues(as_model_units), measured, atol=1e-6)


def test_codes_are_matched_to_digits_and_solid_or_noise_predictions_count_as_wrong():
    rng = np.random.default_rng(0)
    codes = rng.integers(10, size=3000)
    permutation = rng.permutation(10)
    predicted = permutation[codes]
    logits = np.eye(12)[predicted]
    result = dis.digit_accuracy(codes, logits, round_size=1000)
    assert result["accuracy"] == 1.0 and result["sem"] == 0.0 and result["rounds"] == 3
    assert result["assignment"] == permutation.tolist()
    predicted[:300] = 11                                       # 10% predicted as noise
    result = dis.digit_accuracy(codes, np.eye(12)[predicted], round_size=1000)
    assert result["accuracy"] == pytest.approx(0.9)
    assert result["sem"] == pytest.approx(np.std([0.7, 1, 1], ddof=1) / np.sqrt(3))


# ---- end to end ------------------------------------------------------------------------------

TINY = ["--model=icgan", "--dataset=colormnist", "--width=0.125", "--batch_size=8",
        "--steps=2", "--steps_per_execution=1", "--grid_rows=1", "--sample_every=100"]


def resolve(*args):
    flags.FLAGS.unparse_flags()
    flags.FLAGS(["train", *args])
    return config_lib.resolve(flags.FLAGS)


class FakeInceptionRGB:
    """7x7 average-pooled RGB pixels: a cheap stand-in for the FID Inception (same interface)."""

    distance_name = "fid_fake_rgb"
    resize = "none"

    def __call__(self, images):
        x = np.asarray(images, np.float32) / 127.5 - 1.0
        return x.reshape(len(x), 4, 7, 4, 7, 3).mean(axis=(2, 4)).reshape(len(x), 48)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from tfgan_suite.metrics import domain_classifier
    root = tmp_path_factory.mktemp("icgan")
    result = train(resolve(*TINY, f"--run_dir={root}/run", f"--export_dir={root}/exports"))
    test = data.load_dataset("colormnist", split="test", classifier_set=True)
    classifier = domain_classifier.train_domain_classifier(test.examples, test.labels, 5)
    classifier.save(str(root / "classifier.keras"))
    return dict(root=root, **result)


def test_run_and_export_evaluate_alike(trained):
    root = trained["root"]
    requests = [dict(run_dir=trained["run_dir"]), dict(saved_model=trained["export"])]
    records = [evaluate.evaluate(evaluate.Request(
        metrics=("digit_accuracy", "hue_mse", "classifier_fd", "fid"), num_samples=200,
        classifier=str(root / "classifier.keras"), output=str(root / f"m{i}.jsonl"), **r),
        fid_extractor=FakeInceptionRGB())
        for i, r in enumerate(requests)]
    for record in records:
        values = record["metrics"]
        assert np.isfinite(values["fid_fake_rgb"]) and values["fid_fake_rgb"] > 0
        assert 0.0 <= values["digit_accuracy"] <= 1.0 and values["hue_mse"] >= 0
        assert values["hue_mse_eq6_deg2"] == pytest.approx(values["hue_mse"] * 360 ** 2)
        assert np.isfinite(values["frechet_classifier_distance"])
        assert sorted(record["details"]["digit_accuracy"]["assignment"]) == list(range(10))
    # Same seed, same weights: the SavedModel gives the run's numbers.
    for name in ("digit_accuracy", "hue_mse"):
        assert records[0]["metrics"][name] == pytest.approx(records[1]["metrics"][name], rel=1e-4,
                                                            abs=1e-6)


def test_icgan_metrics_are_refused_for_other_models():
    from tfgan_suite.errors import UserError
    with pytest.raises(UserError, match="does not apply to --model=cwgan"):
        evaluate.check_applicable(("hue_mse",), "cwgan", data.describe("mnist5k"))


def test_export_serves_code_and_noise_and_runs_under_saved_model_cli(trained, tmp_path):
    export = trained["export"]
    meta = read_metadata(export)
    assert (meta["model"], meta["code_dim"], meta["noise_dim"]) == ("icgan", 13, 87)
    assert meta["endpoints"] == ["serving_default", "generate_digit_hue"]
    from tfgan_suite import serve_request
    inputs = serve_request.build_inputs(meta, 2, y="3", seed=0)
    by_hue_inputs = serve_request.build_inputs(meta, 2, y="3", seed=0,
                                               signature="generate_digit_hue")
    code, noise = inputs["code"], inputs["noise"]
    assert code.shape == (2, 13) and np.all(code[:, 3] == 1) and code[:, :10].sum() == 2
    np.testing.assert_allclose(code[:, 10:], hue_to_rgb(by_hue_inputs["hue"]), atol=1e-6)
    serve_request.write(inputs, "serving_default", None, str(tmp_path))
    saved_model_cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    run = subprocess.run([saved_model_cli, "run", "--dir", export, "--tag_set", "serve",
                          "--signature_def", "serving_default", "--inputs",
                          f"code={tmp_path}/code.npy;noise={tmp_path}/noise.npy",
                          "--outdir", str(tmp_path / "out")], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    served = np.load(tmp_path / "out" / "images.npy")
    assert served.shape == (2, 28, 28, 3) and np.abs(served).max() <= 1.0
    import tensorflow as tf
    loaded = tf.saved_model.load(export)
    by_hue = loaded.signatures["generate_digit_hue"](
        **{k: tf.constant(v) for k, v in by_hue_inputs.items()})
    np.testing.assert_allclose(by_hue["images"].numpy(), served, atol=1e-5)
    with pytest.raises(Exception, match="noise must be"):
        loaded.signatures["serving_default"](code=tf.constant(code),
                                             noise=tf.constant(noise[:, :10]))


# ---- figures and the Eq. 7 ablation -------------------------------------------------------------

def test_figures_from_a_run_and_an_export(trained, tmp_path):
    from PIL import Image

    from tfgan_suite import icgan_figures
    for source in (dict(run_dir=trained["run_dir"], saved_model=None),
                   dict(run_dir=None, saved_model=trained["export"])):
        target = icgan_figures._target(seed=0, **source)
        grid = icgan_figures.digit_hue_grid(target, 4, seed=0)
        assert grid.shape == (10, 4, 28, 28, 3)
        result = icgan_figures.ring_figure(target, 0, 40, 0, str(tmp_path / "ring.png"))
        assert 0 <= result["hue_mse"] <= 0.25
    assert Image.open(tmp_path / "ring.png").size == (20 * 30 + 2, 2 * 30 + 2)
    assert (tmp_path / "ring_hue.png").exists()
    path = icgan_figures.ablation_figure(trained["run_dir"], 0, 0.1, str(tmp_path / "abl.png"))
    assert Image.open(path).size == ((2 * 8 + 1) * 30 + 2, 10 * 30 + 2)


def test_eq7_scores_are_the_mean_gradient_of_each_channel(monkeypatch):
    import tensorflow as tf

    from tfgan_suite import icgan_ablation
    from tfgan_suite.nets import icgan_nets
    monkeypatch.setattr(icgan_ablation, "digit_mask", lambda x: tf.ones_like(x[..., :1]))
    generator = icgan_nets.build_icgan_generator(20, width=0.125)
    z = np.random.default_rng(0).uniform(size=(3, 20)).astype(np.float32)
    scores = icgan_ablation.grad_scores(generator, z, layers=("C31",))["C31"]

    def loss(delta):   # a constant delta added to channel 2 of C31's output map
        probe = np.zeros((1, 28, 28, len(scores)), np.float32)
        probe[..., 2] = delta
        images = icgan_ablation._run(generator, z, probes={"C31": tf.constant(probe)})
        return float(tf.reduce_sum(tf.square((images + 1) / 2)))
    # d loss / d delta = sum_{m,n} grad_{2,m,n} = score * (w h) up to the sign.
    slope = (loss(1e-2) - loss(-1e-2)) / 2e-2
    assert abs(slope) / (28 * 28) == pytest.approx(scores[2], rel=2e-2)
    masks = icgan_ablation.suppression_masks({"C31": scores}, 0.1)
    assert masks["C31"].sum() == len(scores) - 1 and masks["C31"][np.argmax(scores)] == 0


def test_icgan_resume_is_exact(tmp_path, monkeypatch):
    from tests.test_exact_resume import assert_resume_is_exact
    straight = assert_resume_is_exact(
        tmp_path, monkeypatch, ["--model=icgan", "--dataset=colormnist", "--width=0.125",
                                "--batch_size=4"])
    assert straight["step/.ATTRIBUTES/VARIABLE_VALUE"] == 4
    assert any("d_optimizer" in name for name in straight)
