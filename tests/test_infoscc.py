"""InfoSCC-GAN: EigenGAN layers and regulariser against NumPy, NT-Xent against a NumPy reference,
the losses, the lazy cadences, one step per loss and discriminator, stage 1-2 end to end, resume,
and the export under saved_model_cli."""

import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from absl import flags

from tests import checks, fixtures
from tfgan_suite import augment, config as config_lib, infoscc_losses, runs, simclr
from tfgan_suite.errors import UserError
from tfgan_suite.models import build_model
from tfgan_suite.nets import eigengan
from tfgan_suite.train import train
from tfgan_suite.train_encoder import train_encoder

FLAGS = flags.FLAGS
TINY = ["--model=infoscc", "--batch_size=4", "--base_channels=4", "--max_channels=16",
        "--noise_dim=16", "--z_dim=8", "--log_every=1", "--sample_every=2",
        "--checkpoint_every=2", "--steps_per_execution=1", "--grid_rows=2", "--export=false"]


def resolve(*args):
    FLAGS.unparse_flags()
    FLAGS(["train", *args])
    return config_lib.resolve(FLAGS)


@pytest.fixture(scope="module")
def mnist(tmp_path_factory):
    root = tmp_path_factory.mktemp("infoscc")
    fixtures.write_mnist_idx(str(root / "mnist"), n_train=40, n_test=20)
    meta = train_encoder("mnist", str(root / "encoder"), data_dir=str(root / "mnist"),
                         backbone="small", width=4, batch_size=8, steps=2, classifier_steps=3,
                         clusters=3, flip=False, log_every=1)
    return root, meta


def test_subspace_layer_matches_numpy():
    layer = eigengan.SubspaceLayer(dim=10, n_basis=6)
    z = np.random.default_rng(0).normal(size=(3, 6)).astype(np.float32)
    phi = layer(z).numpy()
    u, l, mu = layer.U.numpy(), layer.L.numpy(), layer.mu.numpy()
    np.testing.assert_array_equal(l, [18, 15, 12, 9, 6, 3])
    np.testing.assert_allclose(u @ u.T, np.eye(6), atol=1e-5)        # orthogonal rows at init
    np.testing.assert_allclose(phi, (l * z) @ u + mu, rtol=1e-5, atol=1e-5)


def test_orthogonality_regulariser_matches_numpy():
    g = eigengan.EigenGenerator((28, 28, 1), y_dim=10, eps_dim=8, noise_dim=16, base_channels=4,
                                max_channels=16)
    assert (g.start, g.n_blocks) == (7, 2)
    assert float(g.orthogonal_regularizer()) < 1e-10
    rng = np.random.default_rng(1)
    us = []
    for layer in g.subspace_layers:
        u = rng.normal(size=layer.U.shape).astype(np.float32)
        layer.U.assign(u)
        us.append(u)
    expected = np.mean([np.mean((u @ u.T - np.eye(6)) ** 2) for u in us])
    np.testing.assert_allclose(float(g.orthogonal_regularizer()), expected, rtol=1e-5)
    y, eps, zs = tf.zeros([2, 10]), tf.zeros([2, 8]), tf.zeros([2, 2, 6])
    assert g(y, eps, zs).shape == (2, 28, 28, 1)
    assert eigengan.resolution_plan(64) == (4, 4) and eigengan.resolution_plan(256) == (4, 6)


def _nt_xent_numpy(zi, zj, tau):
    """The original's NTXentLoss, written with loops."""
    reps = np.concatenate([zj, zi])
    reps = reps / np.linalg.norm(reps, axis=1, keepdims=True)
    sim = reps @ reps.T / tau
    n = len(zi)
    total = 0.0
    for a in range(2 * n):
        positive = (a + n) % (2 * n)
        others = [k for k in range(2 * n) if k != a]
        total += -sim[a, positive] + np.log(np.sum(np.exp(sim[a, others])))
    return total / (2 * n)


def test_nt_xent_matches_numpy_reference():
    rng = np.random.default_rng(2)
    zi, zj = rng.normal(size=(5, 7)).astype(np.float32), rng.normal(size=(5, 7)).astype(np.float32)
    np.testing.assert_allclose(float(simclr.nt_xent(zi, zj, 0.5)), _nt_xent_numpy(zi, zj, 0.5),
                               rtol=1e-5)
    # Identical views give a lower loss than unrelated ones.
    assert float(simclr.nt_xent(zi, zi, 0.5)) < float(simclr.nt_xent(zi, zj, 0.5))


def test_losses_and_the_quartic_variant():
    real, fake = tf.constant([[0.5], [2.0]]), tf.constant([[-0.5], [0.3]])
    r, f = real.numpy(), fake.numpy()
    ls = infoscc_losses.lsgan(real, fake)
    quartic = infoscc_losses.lsgan_quartic(real, fake)
    np.testing.assert_allclose(ls.critic, np.mean((r - 1) ** 2) + np.mean(f ** 2), rtol=1e-6)
    np.testing.assert_allclose(quartic.critic, np.mean((1 - r) ** 4) + np.mean(f ** 4), rtol=1e-6)
    np.testing.assert_allclose(quartic.generator, np.mean((1 - f) ** 4), rtol=1e-6)
    assert abs(float(ls.critic) - float(quartic.critic)) > 0.1
    hinge = infoscc_losses.hinge(real, fake)
    np.testing.assert_allclose(hinge.generator, np.mean(np.maximum(0, 1 - f)), rtol=1e-6)
    ns = infoscc_losses.non_saturating(real, fake)
    np.testing.assert_allclose(ns.generator, np.mean(np.log1p(np.exp(-f))), rtol=1e-6)


def test_diffaugment_probability_keeps_the_default_and_skips_ops():
    x = tf.random.stateless_uniform([3, 8, 8, 3], [1, 2])
    seed = tf.constant([5, 6])
    default = augment.diff_augment(x, seed=seed)
    np.testing.assert_array_equal(default, augment.diff_augment(x, seed=seed, probability=1.0))
    np.testing.assert_array_equal(x, augment.diff_augment(x, seed=seed, probability=0.0))


def test_encoder_stage_writes_a_directory_the_gan_reads(mnist):
    root, meta = mnist
    assert meta["feature_dim"] == 16 and meta["label_kind"] == "onehot"
    assert len(meta["label_names"]) == 10 and 0.0 <= meta["test_accuracy"] <= 1.0
    assert os.path.isfile(root / "encoder" / "clusters.npz")
    with pytest.raises(UserError, match="train_encoder"):
        resolve(*TINY, "--dataset=mnist", f"--data_dir={root}/mnist",
                f"--encoder_dir={root}/missing")
    with pytest.raises(UserError, match="needs --encoder_dir"):
        resolve(*TINY, "--dataset=mnist", f"--data_dir={root}/mnist")
    with pytest.raises(UserError, match="classifier predicts"):
        resolve(*TINY, "--dataset=mnist2", f"--data_dir={root}/mnist",
                f"--encoder_dir={root}/encoder")
    with pytest.raises(UserError, match="R1"):
        resolve(*TINY, "--dataset=mnist", f"--encoder_dir={root}/encoder", "--penalty=gp")
    with pytest.raises(UserError, match="needs --model=infoscc"):
        resolve("--model=cwgan", "--cls_reg_every=3")


def _model(root, *extra):
    config = resolve(*TINY, "--dataset=mnist", f"--data_dir={root}/mnist",
                     f"--encoder_dir={root}/encoder", f"--run_dir={root}/unused", *extra)
    from tfgan_suite import data
    return build_model(config, data.describe("mnist"))


def _batch(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, size=(4, 28, 28, 1)).astype(np.float32)
    return tf.constant(x), tf.one_hot(rng.integers(0, 10, 4), 10)


def test_classification_and_r1_cadences(mnist):
    """G: one adversarial update per iteration plus one classification update every 2nd;
    D: one update plus one R1 update every 3rd (counted by the optimisers' iterations)."""
    model = _model(mnist[0], "--cls_reg_every=2", "--r1_every=3")
    g_counts, d_counts = [], []
    for i in range(7):
        logs = model.train_step(_batch(i))
        g_counts.append(int(model.g_optimizer.iterations.numpy()))
        d_counts.append(int(model.d_optimizer.iterations.numpy()))
    # iteration k (0-based) adds 1 + [k % 2 == 0] to G and 1 + [k % 3 == 0] to D
    assert g_counts == list(np.cumsum([1 + (k % 2 == 0) for k in range(7)]))
    assert d_counts == list(np.cumsum([1 + (k % 3 == 0) for k in range(7)]))
    assert int(model.step.numpy()) == 7 and float(logs["r1"]) > 0 and float(logs["cls_loss"]) > 0


@pytest.mark.parametrize("loss,disc", [("hinge", "global"), ("non_saturating", "patch"),
                                       ("lsgan", "global"), ("lsgan_quartic", "patch")])
def test_one_step_per_loss(mnist, loss, disc):
    from tfgan_suite.models.base import GANModel
    model = _model(mnist[0], f"--loss={loss}", f"--discriminator={disc}")
    assert isinstance(model, GANModel)
    before = [w.numpy() for w in model.generator.trainable_weights]
    ema_before = [w.numpy() for w in model.generator_ema.weights]
    logs = model.train_step(_batch())
    assert all(np.isfinite(float(v)) for v in logs.values())
    moved = [not np.array_equal(a, b.numpy()) for a, b in zip(before, model.generator.weights)]
    assert all(moved)
    # EMA moved by (1 - d) of the step: between the old and new weights.
    d = 0.5 ** (4 / 1e4)
    for old, ema, new in zip(ema_before, model.generator_ema.weights, model.generator.weights):
        np.testing.assert_allclose(ema.numpy(), d * old + (1 - d) * new.numpy(), atol=1e-6)


def test_resume_from_a_checkpoint_repeats_the_uninterrupted_run(mnist, tmp_path):
    """Two iterations, checkpoint, a fresh model restored, two more (the cadences, the noise
    stream, the EMA and both optimisers continue) == four iterations without a break."""
    root = mnist[0]

    def model():
        m = _model(root, "--r1_every=3")
        m.ema_decay = 0.5     # (batch 4: 0.99986) large EMA moves, so a lost EMA would show
        return m
    straight = model()
    for i in range(4):
        straight.train_step(_batch(i))
    first = model()
    for i in range(2):
        first.train_step(_batch(i))
    runs.checkpoint_manager(first, str(tmp_path)).save()
    resumed = model()
    manager = runs.checkpoint_manager(resumed, str(tmp_path))
    runs.restore_latest(resumed, manager, require=True)
    for i in range(2, 4):
        resumed.train_step(_batch(i))
    for net in ("generator", "generator_ema", "discriminator"):
        for a, b in zip(getattr(straight, net).weights, getattr(resumed, net).weights):
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)
    assert int(resumed.g_optimizer.iterations.numpy()) == int(
        straight.g_optimizer.iterations.numpy())


def test_train_and_export_under_saved_model_cli(mnist):
    root = mnist[0]
    args = [*TINY[:-1], "--dataset=mnist", f"--data_dir={root}/mnist",
            f"--encoder_dir={root}/encoder", f"--run_dir={root}/run", "--steps=2",
            f"--export_dir={root}/exports"]
    result = train(resolve(*args))
    checks.assert_trained(root / "run", 2)
    assert os.path.isfile(root / "run" / "samples" / "step_0000002.png")
    export = result["export"]
    cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    np.save(root / "y.npy", np.eye(10, dtype=np.float32)[[0, 3, 9]])
    np.save(root / "eps.npy", np.zeros((3, 8), np.float32))
    out = subprocess.run([cli, "run", "--dir", export, "--tag_set", "serve", "--signature_def",
                          "serving_default", "--inputs", f"y={root}/y.npy;eps={root}/eps.npy",
                          "--outdir", str(root / "out")], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    images = np.load(root / "out" / "images.npy")
    assert images.shape == (3, 28, 28, 1) and np.all(np.abs(images) <= 1)
    loaded = tf.saved_model.load(export)
    assert set(loaded.signatures) >= {"serving_default", "generate_with_zs", "classify"}
    from tfgan_suite import infoscc_figures
    generate, y_dim, kind, eps_dim, zs_shape = infoscc_figures._from_export(export)
    assert (y_dim, kind, eps_dim, zs_shape) == (10, "onehot", 8, (2, 6))
    figure = infoscc_figures.traverse(generate, np.eye(10)[4], eps_dim, zs_shape, frames=3)
    assert figure.shape == (12, 3, 28, 28, 1)
    assert infoscc_figures.sweep(generate, 10, kind, eps_dim, zs_shape, rows=2).shape == \
        (2, 10, 28, 28, 1)
    # The paper's metrics through tfgan_suite.evaluate, from the run and from the export.
    from tests.test_evaluate import FakeInception
    from tfgan_suite import evaluate
    for source in (dict(run_dir=str(root / "run")), dict(saved_model=export)):
        record = evaluate.evaluate(evaluate.Request(
            metrics=("attribute_control_accuracy", "chamfer_tsne", "fid"), num_samples=20,
            batch_size=10, tensorboard=False, output=str(root / "metrics.jsonl"),
            data_dir=str(root / "mnist"), **source),
            fid_extractor=FakeInception())
        values = record["metrics"]
        assert 0.0 <= values["attribute_control_accuracy"] <= 1.0
        assert values["chamfer_tsne"] > 0 and np.isfinite(values["fid_fake"])
    model, _, _ = runs.load_trained_model(str(root / "run"))
    y, eps = tf.eye(10)[:2], tf.ones([2, 8])
    zs = tf.zeros([2, 2, 6])
    np.testing.assert_allclose(
        loaded.signatures["generate_with_zs"](y=y, eps=eps, zs=zs)["images"].numpy(),
        model.generate(y, eps, zs).numpy(), atol=1e-5)


def test_attribute_control_accuracy_on_constructed_cases():
    from tfgan_suite.metrics import infoscc_metrics as m
    y = np.eye(3)[[0, 1, 2, 2]]
    logits = np.array([[5, 0, 0], [0, 5, 0], [0, 0, 5], [9, 0, 1]], np.float32)
    assert m.attribute_control_accuracy(logits, y, "onehot") == 0.75
    # Binary: positives must exceed sigmoid 0.2 (logit -1.386); negatives are not checked.
    y = np.array([[1, 0], [1, 1], [0, 0]], np.float32)
    logits = np.array([[-1.0, 9.0], [-1.0, -2.0], [-9.0, -9.0]], np.float32)
    assert m.attribute_control_accuracy(logits, y, "binary") == pytest.approx(2 / 3)


def test_chamfer_distance_on_constructed_sets():
    from tfgan_suite.metrics import infoscc_metrics as m
    a = np.array([[0.0, 0.0], [1.0, 0.0]])
    b = np.array([[0.0, 2.0]])
    # a -> b: (4 + 5) / 2; b -> a: 4
    assert m.chamfer_distance(a, b) == pytest.approx(8.5)
    assert m.chamfer_distance(a, a) == 0.0
    rng = np.random.default_rng(0)
    same = rng.normal(size=(40, 5))
    far = rng.normal(size=(40, 5)) + 20.0
    assert m.tsne_chamfer(same[:20], same[20:]) < m.tsne_chamfer(same[:20], far[:20])


def test_reproduce_trains_the_encoder_first_and_passes_it_on(tmp_path):
    from tfgan_suite import reproduce
    from tfgan_suite.experiments import EXPERIMENTS
    opts = reproduce.Options(
        experiment=EXPERIMENTS["infoscc_mnist"], variants=("original",), seeds=(0,), steps=10,
        budget_minutes=None, data_dir=str(tmp_path), runs_dir=str(tmp_path / "runs"),
        report_dir=str(tmp_path / "report"), eval_every=5, metrics=("attribute_control_accuracy",),
        num_samples=10, samples_per_class=10, classifier=None, classifier_steps=1,
        fid_weights=None, steps_per_execution=5, stage="train")
    command = reproduce.train_command(opts, "original", 0)
    assert f"--encoder_dir={tmp_path}/runs/encoders/infoscc_mnist" in command
    os.makedirs(reproduce.encoder_dir(opts))
    open(os.path.join(reproduce.encoder_dir(opts), "encoder.json"), "w").close()
    reproduce.ensure_encoder(opts)     # present: nothing runs (no data would fail it)


def test_traversal_codes_step_one_eigen_dimension_at_a_time():
    from tfgan_suite import infoscc_figures
    zs = np.arange(6, dtype=np.float32).reshape(2, 3)
    codes = infoscc_figures.traversal_codes(zs, frames=5, limit=2.0)
    assert codes.shape == (30, 2, 3)
    row = 1 * 3 + 2                                  # layer 1, dimension 2
    block = codes[row * 5:(row + 1) * 5]
    np.testing.assert_allclose(block[:, 1, 2], [-2, -1, 0, 1, 2])
    changed = (block != zs[None]).any(axis=0)
    assert changed.sum() == 1 and changed[1, 2]
    with pytest.raises(UserError, match="class number"):
        infoscc_figures.condition_vector(["12"], 10, "onehot")
    np.testing.assert_array_equal(infoscc_figures.condition_vector(["1", "0"], 2, "binary"),
                                  [1, 0])


def test_afhq_reads_class_folders(tmp_path):
    from PIL import Image

    from tfgan_suite import data
    rng = np.random.default_rng(0)
    for split, n in (("train", 2), ("val", 1)):
        for k, name in enumerate(("cat", "dog", "wild")):
            os.makedirs(tmp_path / split / name)
            for i in range(n):
                pixels = np.full((32, 32, 3), 40 * (k + 1), np.uint8)
                pixels[:2] = rng.integers(0, 255, (2, 32, 3))
                ext = "png" if (i + k) % 2 else "jpg"
                Image.fromarray(pixels).save(tmp_path / split / name / f"{i}.{ext}")
    train = data.load_dataset("afhq", str(tmp_path), "train", resolution=16)
    assert train.examples.shape == (6, 16, 16, 3)
    assert train.info.label_names == ("cat", "dog", "wild")
    np.testing.assert_array_equal(train.class_ids, [0, 0, 1, 1, 2, 2])
    np.testing.assert_array_equal(train.labels.argmax(1), train.class_ids)
    # The middle of each image keeps its class's grey level (JPEG within a few levels).
    assert abs(int(train.examples[2, 8, 8, 0]) - 80) <= 3
    assert len(data.load_dataset("afhq", str(tmp_path), "test", resolution=16)) == 3
    os.rename(tmp_path / "val" / "wild", tmp_path / "val" / "wolf")
    with pytest.raises(UserError, match="wild"):
        data.load_dataset("afhq", str(tmp_path), "test", resolution=16)


def test_inner_attributes_condition_on_the_nearest_cluster(mnist, tmp_path):
    """An encoder whose classifier predicts k-means clusters (--label_source=clusters) fits any
    dataset of its image shape; real conditions are the nearest centres of encoder(x)."""
    import json
    import shutil
    root = mnist[0]
    inner = tmp_path / "inner"
    shutil.copytree(root / "encoder", inner)
    meta = json.loads((inner / "encoder.json").read_text())
    meta.update(attribute_source="clusters", label_names=["cluster_0", "cluster_1", "cluster_2"],
                label_kind="onehot")
    (inner / "encoder.json").write_text(json.dumps(meta))
    # The classifier must predict 3 clusters: rebuild its weights at that size.
    classifier = simclr.build_classifier(meta["feature_dim"], 3)
    classifier.save_weights(str(inner / "classifier.weights.h5"))
    config = resolve(*TINY, "--dataset=mnist2", f"--data_dir={root}/mnist",
                     f"--encoder_dir={inner}", f"--run_dir={tmp_path}/run")
    from tfgan_suite import data
    model = build_model(config, data.describe("mnist2"))
    assert model.y_dim == 3 and model.centres is not None
    real, labels = _batch()
    features = model.encoder(real, training=False)[0].numpy()
    centres = model.centres.numpy()
    nearest = ((features[:, None] - centres[None]) ** 2).sum(-1).argmin(1)
    np.testing.assert_array_equal(model.conditions_of(real, labels[:, :2]).numpy(),
                                  np.eye(3)[nearest])
    logs = model.train_step((real, labels[:, :2]))
    assert np.isfinite(float(logs["cls_loss"]))


def test_paper_encoder_is_resnet50_with_a_2048_2048_128_head():
    encoder = simclr.build_encoder((28, 28, 1), "resnet50")
    h, z = encoder(tf.zeros([2, 28, 28, 1]))
    assert h.shape == (2, 2048) and z.shape == (2, 128)
    head = encoder.get_layer("projection_1").count_params() + \
        encoder.get_layer("projection_2").count_params()
    assert head == 2048 * 2048 + 2048 + 2048 * 128 + 128
    small = simclr.build_encoder((28, 28, 1), "small", width=8)
    assert small(tf.zeros([1, 28, 28, 1]))[0].shape == (1, 32)


@pytest.mark.parametrize("kwargs,message", [
    (dict(encoder_dir=""), "--encoder_dir is required"),
    (dict(clusters=1), "--clusters"),
    (dict(label_source="clusters"), "needs --clusters"),
    (dict(width=0), "--encoder_width"),
    (dict(temperature=0.0), "--temperature"),
    (dict(stop_at=0), "--stop_at"),
    (dict(checkpoint_every=0), "--checkpoint_every"),
])
def test_train_encoder_refuses_bad_settings_before_any_work(kwargs, message, tmp_path):
    args = {"dataset": "mnist5k", "encoder_dir": str(tmp_path / "e"), **kwargs}
    with pytest.raises(UserError, match=message):
        train_encoder(**args)


@pytest.mark.parametrize("disc", ["global", "patch"])
def test_checkpoint_holds_every_variable(mnist, tmp_path, disc):
    """Every variable of the networks (EMA copy and BatchNorm statistics included), optimisers,
    step and noise stream is written: none may hide in a structure a checkpoint skips."""
    model = _model(mnist[0], f"--discriminator={disc}")
    runs.checkpoint_manager(model, str(tmp_path)).save()
    saved = [n for n, _ in tf.train.list_variables(str(tmp_path / "checkpoints"))
             if n not in ("save_counter/.ATTRIBUTES/VARIABLE_VALUE", "_CHECKPOINTABLE_OBJECT_GRAPH")]
    variables = {id(v): v for v in model.generator.weights + model.generator_ema.weights +
                 model.discriminator.weights + model.g_optimizer.variables +
                 model.d_optimizer.variables + [model.step, model.noise_seed.state]}
    assert len(saved) == len(variables)


ENCODER = dict(dataset="mnist", backbone="small", width=4, batch_size=8, steps=4,
               classifier_steps=2, flip=True, log_every=1)


def _encoder_weights(directory):
    from tfgan_suite import encoder_store
    encoder = encoder_store.load(directory)[0]
    return {f"{i}:{w.name}": w.numpy() for i, w in enumerate(encoder.weights)}


def test_train_encoder_resumes_stage_one_exactly(mnist, tmp_path):
    """SimCLR stopped at step 2 and rerun ends where 4 straight steps end, bit for bit."""
    from tests.test_exact_resume import repeat_until_equal
    data_dir = str(mnist[0] / "mnist")

    def compare(attempt):
        straight, resumed = (str(tmp_path / f"{name}{attempt}") for name in ("a", "b"))
        train_encoder(encoder_dir=straight, data_dir=data_dir, **ENCODER)
        first = train_encoder(encoder_dir=resumed, data_dir=data_dir, stop_at=2, **ENCODER)
        assert first["simclr_steps"] == 2 and os.path.isdir(resumed + ".simclr")
        second = train_encoder(encoder_dir=resumed, data_dir=data_dir, **ENCODER)
        assert second["simclr_steps"] == 4
        assert not os.path.exists(resumed + ".simclr")       # finished: nothing to resume
        return _encoder_weights(straight), _encoder_weights(resumed)

    repeat_until_equal(compare)


def test_train_encoder_refuses_to_resume_with_other_settings(mnist, tmp_path):
    data_dir, encoder_dir = str(mnist[0] / "mnist"), str(tmp_path / "enc")
    train_encoder(encoder_dir=encoder_dir, data_dir=data_dir, stop_at=1, **ENCODER)
    with pytest.raises(UserError, match=r"temperature: 0\.5 -> 0\.2.*enc\.simclr"):
        train_encoder(encoder_dir=encoder_dir, data_dir=data_dir, temperature=0.2, **ENCODER)
