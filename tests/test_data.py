"""Dataset registry and loaders on tiny official-format fixtures (CelebA: test_data_celeba)."""

import os

import numpy as np
import pytest
from PIL import Image

from tests import fixtures
from tfgan_suite import data
from tfgan_suite.data import batch_pipeline, efigi, embedded, subsets, synthetic
from tfgan_suite.errors import UserError


def markers(examples):
    """(label marker, index marker) that fixtures.digit_images writes into pixel [0, 0/1]."""
    x = np.asarray(examples)
    return (x[:, 0, 0, 0].astype(int) - 5) // 10, x[:, 0, 1, 0].astype(int)


# ---------------------------------------------------------------- registry


def test_unknown_dataset_names_the_valid_ones():
    with pytest.raises(UserError, match="unknown dataset 'mnsit'.*mnist5k.*celeba.*gaussians8"):
        data.load_dataset("mnsit")
    with pytest.raises(UserError, match="unknown dataset"):
        data.describe("imagenet")


def test_unknown_option_and_split_are_user_errors():
    with pytest.raises(UserError, match="'mnist' has no option.*colour.*classes, ratio"):
        data.describe("mnist", colour=True)
    with pytest.raises(UserError, match="'mnist5k' has no option.*options are: none"):
        data.load_dataset("mnist5k", classes=(0, 1))
    with pytest.raises(UserError, match="unknown split 'val'"):
        data.load_dataset("mnist5k", split="val")


def test_describe_needs_no_data_and_follows_options():
    info = data.describe("celeba")
    assert info.example_shape == (64, 64, 3) and info.label_kind == "binary"
    assert info.label_names == ("Bald", "Bangs", "Black_Hair", "Blond_Hair", "Eyeglasses",
                                "Heavy_Makeup", "Male", "Pale_Skin", "Smiling")
    assert data.describe("celeba", attributes="Male,Eyeglasses").label_dim == 2
    assert data.describe("mnist2").label_names == ("0", "4")
    assert data.describe("mnist", classes="3,8").num_classes == 2
    assert data.describe("cifar2").label_names == ("frog", "airplane")
    assert data.describe("fmnist5").num_classes == 5
    assert data.describe("efigi").label_kind == "continuous"
    assert data.describe("gaussians8").example_shape == (2,)
    with pytest.raises(UserError, match="unknown CelebA attribute.*Wings.*valid names.*Young"):
        data.describe("celeba", attributes=("Male", "Wings"))
    with pytest.raises(UserError, match="ratio.*2 entries.*3 classes"):
        data.describe("mnist", classes=(0, 1, 2), ratio=(7, 3))
    with pytest.raises(UserError, match="classes \\[12\\] do not exist"):
        data.describe("mnist", classes=(0, 12))
    with pytest.raises(UserError, match="normalization='zscore'"):
        data.describe("efigi", normalization="zscore")
    with pytest.raises(UserError, match="original_columns='maybe'"):
        data.describe("efigi", original_columns="maybe")


def test_data_dir_missing_or_empty(tmp_path):
    with pytest.raises(UserError, match="pass data_dir"):
        data.load_dataset("mnist")
    with pytest.raises(UserError, match="does not exist"):
        data.load_dataset("cifar10", data_dir=str(tmp_path / "nowhere"))
    with pytest.raises(UserError, match="is empty"):
        data.load_dataset("fmnist", data_dir=str(tmp_path))


# ---------------------------------------------------------------- subsets


def test_imbalanced_counts_keep_the_limiting_class_whole():
    assert subsets.imbalanced_counts([6000, 6000], (7, 3)) == [6000, 2571]   # original CIFAR-2
    assert subsets.imbalanced_counts([5923, 5842], (7, 3)) == [5923, 2538]   # MNIST-2 train
    assert subsets.imbalanced_counts([100, 10], (1, 1)) == [10, 10]
    assert subsets.imbalanced_counts([6000, 6000, 12000, 18000, 18000],
                                     (1, 1, 2, 3, 3)) == [6000, 6000, 12000, 18000, 18000]
    assert subsets.imbalanced_counts([50, 50], (0.7, 0.3)) == [50, 21]


def test_option_strings_parse_like_tuples():
    assert subsets.parse_groups("1,8,0+3", "classes") == ((1,), (8,), (0, 3))
    assert subsets.parse_groups((0, (2, 4)), "classes") == ((0,), (2, 4))
    assert subsets.parse_numbers("7:3", "ratio", float) == (7.0, 3.0)
    with pytest.raises(UserError, match="at most once"):
        subsets.parse_groups("1,1", "classes")
    with pytest.raises(UserError, match="expected numbers"):
        subsets.parse_numbers("7:x", "ratio")


# ---------------------------------------------------------------- MNIST


@pytest.mark.parametrize("gz", [True, False])
def test_mnist_idx(tmp_path, gz):
    written = fixtures.write_mnist_idx(str(tmp_path), n_train=30, n_test=20, gz=gz)
    for split in ("train", "test"):
        source = data.load_dataset("mnist", str(tmp_path), split)
        images, labels = written[split]
        assert source.examples.dtype == np.uint8
        assert source.examples.shape == (len(labels), 28, 28, 1)
        np.testing.assert_array_equal(source.examples[..., 0], images)
        np.testing.assert_array_equal(source.class_ids, labels)
        np.testing.assert_array_equal(source.labels, np.eye(10)[labels])
        assert source.labels.dtype == np.float32


def test_mnist_pickle_train_includes_valid_and_is_pixel_exact(tmp_path):
    written = fixtures.write_mnist_pkl(str(tmp_path / "mnist.pkl.gz"), 20, 10, 10)
    train = data.load_dataset("mnist", str(tmp_path), "train")
    test = data.load_dataset("mnist", str(tmp_path), "test")
    assert len(train) == 30 and len(test) == 10
    np.testing.assert_array_equal(train.examples[:20, ..., 0], written["train"][0])
    np.testing.assert_array_equal(train.examples[20:, ..., 0], written["valid"][0])
    np.testing.assert_array_equal(test.class_ids, written["test"][1])


def test_mnist_bad_files_are_named(tmp_path):
    fixtures.write_mnist_idx(str(tmp_path), 10, 10, gz=False)
    path = tmp_path / "train-images-idx3-ubyte"
    payload = path.read_bytes()
    path.write_bytes(payload[:-5])
    with pytest.raises(UserError, match="train-images-idx3-ubyte: header announces.*truncated"):
        data.load_dataset("mnist", str(tmp_path))
    path.write_bytes(b"\x00\x00\x08\x01" + payload[4:])
    with pytest.raises(UserError, match="train-images-idx3-ubyte: not an IDX file"):
        data.load_dataset("mnist", str(tmp_path))
    os.remove(tmp_path / "t10k-labels-idx1-ubyte")
    with pytest.raises(UserError, match="t10k-labels-idx1-ubyte.*missing"):
        data.load_dataset("mnist", str(tmp_path), "test")
    (tmp_path / "other.txt").write_text("x")
    for name in os.listdir(tmp_path):
        if "idx" in name:
            os.remove(tmp_path / name)
    with pytest.raises(UserError, match="holds neither.*mnist.pkl.gz"):
        data.load_dataset("mnist", str(tmp_path))


def test_mnist2_is_zero_vs_four_at_seven_to_three(tmp_path):
    fixtures.write_mnist_idx(str(tmp_path), n_train=200, n_test=100)  # 20 / 10 of each digit
    source = data.load_dataset("mnist2", str(tmp_path))
    digits, index = markers(source.examples)
    assert np.bincount(source.class_ids).tolist() == [20, int(20 * 3 / 7)]
    np.testing.assert_array_equal(digits, np.array([0, 4])[source.class_ids])
    np.testing.assert_array_equal(source.labels, np.eye(2)[source.class_ids])
    assert np.all(np.diff(index) > 0)  # dataset order is kept
    again = data.load_dataset("mnist2", str(tmp_path))
    np.testing.assert_array_equal(again.examples, source.examples)
    other_seed = data.load_dataset("mnist2", str(tmp_path), subset_seed=1)
    assert not np.array_equal(markers(other_seed.examples)[1], index)
    test = data.load_dataset("mnist2", str(tmp_path), "test")
    assert np.bincount(test.class_ids).tolist() == [10, 4]
    # the paper's "highly imbalanced" MNIST: digit 8 at a tenth of the others
    rare = data.load_dataset("mnist", str(tmp_path), ratio=(10,) * 8 + (1, 10))
    assert np.bincount(rare.class_ids).tolist() == [20] * 8 + [2, 20]


# ---------------------------------------------------------------- Fashion-MNIST


def test_fashion_mnist_and_fmnist5_groups(tmp_path):
    written = fixtures.write_fashion_mnist(str(tmp_path), n_train=100, n_test=50)
    full = data.load_dataset("fmnist", str(tmp_path))
    np.testing.assert_array_equal(full.class_ids, written["train"][1])
    five = data.load_dataset("fmnist5", str(tmp_path))
    assert np.bincount(five.class_ids).tolist() == [10, 10, 20, 30, 30]  # 1:1:2:3:3
    original, _ = markers(five.examples)
    group_of = {1: 0, 8: 1, 0: 2, 3: 2, 2: 3, 4: 3, 6: 3, 7: 4, 5: 4, 9: 4}
    np.testing.assert_array_equal(five.class_ids, [group_of[c] for c in original])
    assert len(data.load_dataset("fmnist5", str(tmp_path), "test")) == 50
    os.remove(tmp_path / "t10k-images-idx3-ubyte.gz")
    os.remove(tmp_path / "t10k-labels-idx1-ubyte.gz")
    with pytest.raises(UserError, match="fmnist: data_dir .* holds no t10k-images"):
        data.load_dataset("fmnist", str(tmp_path), "test")


# ---------------------------------------------------------------- CIFAR


def test_cifar10_rows_become_hwc_images(tmp_path):
    written = fixtures.write_cifar10(str(tmp_path), n_per_batch=20, n_test=20)
    for data_dir in (str(tmp_path), str(tmp_path / "cifar-10-batches-py")):
        train = data.load_dataset("cifar10", data_dir)
        assert train.examples.shape == (100, 32, 32, 3)
        np.testing.assert_array_equal(train.examples, written["train"][0])
        np.testing.assert_array_equal(train.class_ids, written["train"][1])
    test = data.load_dataset("cifar10", str(tmp_path), "test")
    np.testing.assert_array_equal(test.examples, written["test"][0])
    os.remove(tmp_path / "cifar-10-batches-py" / "data_batch_3")
    with pytest.raises(UserError, match="missing .*data_batch_3"):
        data.load_dataset("cifar10", str(tmp_path))


def test_cifar2_frogs_first_at_seven_to_three_from_official_splits(tmp_path):
    fixtures.write_cifar10(str(tmp_path), n_per_batch=20, n_test=40)
    train = data.load_dataset("cifar2", str(tmp_path))
    test = data.load_dataset("cifar2", str(tmp_path), "test")
    assert np.bincount(train.class_ids).tolist() == [10, int(10 * 3 / 7)]
    assert np.bincount(test.class_ids).tolist() == [4, int(4 * 3 / 7)]
    classes, _ = markers(train.examples)
    np.testing.assert_array_equal(classes, np.array([6, 0])[train.class_ids])
    ninety_ten = data.load_dataset("cifar2", str(tmp_path), ratio="9:1")
    assert np.bincount(ninety_ten.class_ids).tolist() == [10, 1]


def test_cifar_corrupt_batch_is_named(tmp_path):
    fixtures.write_cifar10(str(tmp_path), n_per_batch=4, n_test=4)
    (tmp_path / "cifar-10-batches-py" / "test_batch").write_bytes(b"not a pickle")
    with pytest.raises(UserError, match="test_batch: not a CIFAR-10 python batch"):
        data.load_dataset("cifar10", str(tmp_path), "test")


# ---------------------------------------------------------------- EFIGI


def test_efigi_splits_labels_and_images(tmp_path):
    written = fixtures.write_efigi(str(tmp_path), n=20)
    names, fields = written["names"], written["fields"]
    by_name = sorted(range(20), key=lambda i: names[i])  # the loader orders galaxies by PGC name
    test_rows = [by_name[k] for k in efigi.split_indices(20, "test", 0.1)]
    train_rows = [by_name[k] for k in efigi.split_indices(20, "train", 0.1)]
    assert sorted(test_rows + train_rows) == list(range(20)) and len(test_rows) == 2

    train = data.load_dataset("efigi", str(tmp_path))
    test = data.load_dataset("efigi", str(tmp_path), "test")
    assert (len(train), len(test)) == (18, 2)
    assert train.examples.shape == (18, 64, 64, 3) and train.examples.dtype == np.uint8
    # Value columns of Arm_Strength, Arm_Curvature, Visible_Dust, Multiplicity (fields start
    # after PGCname, so whole-line fields 7, 10, 31, 49 are columns 6, 9, 30, 48).
    values = fields[:, [6, 9, 30, 48]]
    scaled = (values - values.min(0)) / np.ptp(values, axis=0)
    np.testing.assert_allclose(test.labels, scaled[test_rows], atol=1e-6)
    np.testing.assert_allclose(train.labels, scaled[train_rows], atol=1e-6)
    raw = data.load_dataset("efigi", str(tmp_path), "test", normalization="none")
    np.testing.assert_allclose(raw.labels, values[test_rows], atol=1e-6)
    original = data.load_dataset("efigi", str(tmp_path), "test", normalization="none",
                                 original_columns=True)
    np.testing.assert_allclose(original.labels, fields[test_rows][:, [7, 10, 31, 49]], atol=1e-6)
    assert not np.allclose(original.labels, raw.labels)
    # pixels: PIL's bilinear resize of the same PNG, within one grey level
    png = tmp_path / "efigi-1.6" / "png" / f"{names[test_rows[0]]}.png"
    expected = np.asarray(Image.open(png).convert("RGB").resize((64, 64), Image.BILINEAR))
    assert np.abs(test.examples[0].astype(int) - expected).max() <= 1
    other = tmp_path / "efigi-1.6" / "png" / f"{names[test_rows[1]]}.png"
    wrong = np.asarray(Image.open(other).convert("RGB").resize((64, 64), Image.BILINEAR))
    assert np.abs(test.examples[0].astype(int) - wrong).max() > 10


def test_efigi_errors(tmp_path):
    written = fixtures.write_efigi(str(tmp_path), n=6)
    table = tmp_path / "efigi-1.6" / "EFIGI_attributes.txt"
    lines = table.read_text().splitlines()
    header = sum(line.startswith("#") for line in lines)
    lines[header + 2] = lines[header + 2].rsplit(" ", 3)[0]
    table.write_text("\n".join(lines) + "\n")
    with pytest.raises(UserError, match=f"EFIGI_attributes.txt:{header + 3}: expected a PGC name "
                                        "and 51 numbers"):
        data.load_dataset("efigi", str(tmp_path))
    fixtures.write_efigi(str(tmp_path), n=6)
    os.remove(tmp_path / "efigi-1.6" / "png" / f"{written['names'][0]}.png")
    os.remove(tmp_path / "efigi-1.6" / "png" / f"{written['names'][1]}.png")
    with pytest.raises(UserError, match="png lacks the images of .*PGC"):
        data.load_dataset("efigi", str(tmp_path))  # 5 of the 6 galaxies are in train
    os.rename(tmp_path / "efigi-1.6" / "png", tmp_path / "efigi-1.6" / "pngs")
    with pytest.raises(UserError, match="folder .*png' is missing"):
        data.load_dataset("efigi", str(tmp_path))


# ---------------------------------------------------------------- embedded and synthetic


def test_mnist5k_is_offline_stratified_and_real():
    train = data.load_dataset("mnist5k")
    test = data.load_dataset("mnist5k", split="test")
    assert (len(train), len(test)) == (4500, 500)
    assert np.bincount(train.class_ids).tolist() == [450] * 10
    assert np.bincount(test.class_ids).tolist() == [50] * 10
    np.testing.assert_array_equal(train.labels.argmax(1), train.class_ids)
    assert train.examples.dtype == np.uint8 and train.examples.max() == 255
    everything = np.concatenate([train.examples, test.examples]).reshape(5000, -1)
    assert len(np.unique(everything, axis=0)) == 5000  # disjoint splits of distinct digits
    # real digits: the mean "1" has far less ink than the mean "0"
    ink = [train.examples[train.class_ids == d].mean() for d in range(10)]
    assert ink[1] < 0.6 * ink[0]
    assert embedded.csv_path().name == "mnist_5k.csv.gz"


def test_gaussians8_counts_scaling_and_components():
    source = data.load_dataset("gaussians8")
    assert source.examples.dtype == np.float32 and source.examples.shape == (80000, 2)
    assert np.bincount(source.class_ids).tolist() == [5000] * 4 + [15000] * 4
    np.testing.assert_allclose(source.examples.min(0), -1, atol=1e-6)
    np.testing.assert_allclose(source.examples.max(0), 1, atol=1e-6)
    centres = np.stack([source.examples[source.class_ids == c].mean(0) for c in range(8)])
    angles = np.degrees(np.arctan2(centres[:, 0], centres[:, 1])) % 360  # clockwise from top
    np.testing.assert_allclose(angles, np.arange(0, 360, 45), atol=2)
    spread = source.examples[source.class_ids == 0].std(0)
    wider = data.load_dataset("gaussians8", variance=0.1, num_points=1600)
    assert np.all(wider.examples[wider.class_ids == 0].std(0) > 2 * spread)
    test = data.load_dataset("gaussians8", split="test", num_points=1600)
    small = data.load_dataset("gaussians8", num_points=1600)
    assert not np.allclose(test.examples, small.examples)
    np.testing.assert_array_equal(test.class_ids, small.class_ids)
    assert synthetic.component_counts(1600) == [100] * 4 + [300] * 4


# ---------------------------------------------------------------- batch pipeline


def test_batch_pipeline_over_a_loader(tmp_path):
    fixtures.write_mnist_idx(str(tmp_path), n_train=30, n_test=10)
    source = data.load_dataset("mnist", str(tmp_path))
    x, y = next(iter(batch_pipeline(source, batch_size=8, seed=3)))
    assert x.shape == (8, 28, 28, 1) and y.shape == (8, 10)
    assert -1.0 <= float(np.min(x)) and float(np.max(x)) <= 1.0
    # each batch row's label matches the digit drawn into its image
    digit = np.round((np.asarray(x)[:, 0, 0, 0] + 1) * 127.5).astype(int)
    np.testing.assert_array_equal((digit - 5) // 10, np.argmax(y, axis=1))


def test_efigi_crlf_table_loads_identically(tmp_path):
    fixtures.write_efigi(str(tmp_path), n=8, size=16)
    lf = data.load_dataset("efigi", str(tmp_path), normalization="none")
    table = tmp_path / "efigi-1.6" / "EFIGI_attributes.txt"
    table.write_bytes(table.read_bytes().replace(b"\n", b"\r\n"))
    crlf = data.load_dataset("efigi", str(tmp_path), normalization="none")
    np.testing.assert_array_equal(crlf.labels, lf.labels)
    np.testing.assert_array_equal(crlf.examples, lf.examples)
