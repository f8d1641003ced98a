"""CelebA loader: partitions, crop, .npy cache (reuse, atomic write, rebuild), errors, the tool."""

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from tests import fixtures
from tfgan_suite import data
from tfgan_suite.data import celeba, images
from tfgan_suite.errors import UserError

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

def cache_path(celeba_dir, partitions="01"):
    """Where the default cache of `partitions` of this data directory lives."""
    return os.path.join(celeba_dir, "tfgan_cache",
                        celeba._cache_name(celeba_dir, tuple(map(int, partitions)), 64))


PAPER_COLUMNS = [4, 5, 8, 9, 15, 18, 20, 26, 31]  # the original code's attribute columns


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    folder = tmp_path_factory.mktemp("celeba_pristine")
    return str(folder), fixtures.write_celeba(str(folder), n=12)


@pytest.fixture
def celeba_dir(pristine, tmp_path):
    """A fresh copy of the fixture that a test may break."""
    folder = str(tmp_path / "celeba")
    shutil.copytree(pristine[0], folder)
    return folder


def test_partitions_labels_and_shapes(celeba_dir, pristine):
    written = pristine[1]
    partitions = np.array(written["partitions"])
    for split, options, chosen in (("train", {}, (0, 1)), ("test", {}, (2,)),
                                   ("train", {"train_partitions": "0,2"}, (0, 2))):
        source = data.load_dataset("celeba", celeba_dir, split, **options)
        rows = np.flatnonzero(np.isin(partitions, chosen))
        assert source.examples.shape == (len(rows), 64, 64, 3)
        assert source.examples.dtype == np.uint8
        assert isinstance(source.examples, np.memmap)
        expected = (written["attributes"][rows][:, PAPER_COLUMNS] == 1).astype(np.float32)
        np.testing.assert_array_equal(source.labels, expected)
        assert source.class_ids is None
    two = data.load_dataset("celeba", celeba_dir, attributes=("Young", "Male"))
    rows = np.flatnonzero(np.isin(partitions, (0, 1)))
    np.testing.assert_array_equal(two.labels, written["attributes"][rows][:, [39, 20]] == 1)


def test_crop_and_resize_match_pil(celeba_dir):
    source = data.load_dataset("celeba", celeba_dir, "test")  # images 4, 8, 12 (partition 2)
    path = os.path.join(celeba_dir, "img_align_celeba", "000004.jpg")
    decoded = np.asarray(Image.open(path).convert("RGB"))
    assert decoded.shape == (218, 178, 3)

    def pil_crop(top, left):
        crop = decoded[top:top + 138, left:left + 138]
        return np.asarray(Image.fromarray(crop).resize((64, 64), Image.BILINEAR)).astype(int)

    assert np.abs(source.examples[0].astype(int) - pil_crop(40, 30)).max() <= 2
    assert np.abs(source.examples[0].astype(int) - pil_crop(30, 40)).max() > 20  # crop matters


def test_second_load_reads_the_cache(celeba_dir, monkeypatch):
    first = data.load_dataset("celeba", celeba_dir)
    assert os.path.isfile(cache_path(celeba_dir))
    assert os.path.isfile(cache_path(celeba_dir) + ".key.json")

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded again despite a valid cache")

    monkeypatch.setattr(images, "decode_images", no_decoding)
    second = data.load_dataset("celeba", celeba_dir)
    np.testing.assert_array_equal(second.examples, first.examples)
    report = celeba.prepare_cache(celeba_dir, (0, 1))
    assert not report.built and report.num_images == 9


def test_interrupted_preparation_leaves_no_cache(celeba_dir, monkeypatch):
    real = images.decode_images

    def interrupted(paths, out, *args, **kwargs):
        out[:2] = 7
        raise KeyboardInterrupt

    monkeypatch.setattr(images, "decode_images", interrupted)
    with pytest.raises(KeyboardInterrupt):
        data.load_dataset("celeba", celeba_dir)
    assert os.listdir(os.path.join(celeba_dir, "tfgan_cache")) == []  # no file, no temp, no key
    monkeypatch.setattr(images, "decode_images", real)
    source = data.load_dataset("celeba", celeba_dir)
    assert len(source) == 9 and source.examples[0].std() > 10


@pytest.mark.parametrize("damage", ["wrong_count", "truncated"])
def test_bad_cache_is_rebuilt(celeba_dir, damage):
    good = np.array(data.load_dataset("celeba", celeba_dir).examples)
    path = cache_path(celeba_dir)
    if damage == "wrong_count":
        np.save(path, np.zeros((5, 64, 64, 3), np.uint8))
    else:
        with open(path, "r+b") as f:
            f.truncate(os.path.getsize(path) // 2)
    again = data.load_dataset("celeba", celeba_dir)
    np.testing.assert_array_equal(again.examples, good)


def _other_images(folder, shift):
    """Replace every image of a CelebA fixture with different pixels (same names and size)."""
    for i, name in enumerate(sorted(os.listdir(os.path.join(folder, "img_align_celeba")))):
        image = np.roll(fixtures.celeba_image(i), shift, axis=1)[..., ::-1].copy()
        Image.fromarray(image).save(os.path.join(folder, "img_align_celeba", name), quality=95)


def test_two_data_dirs_sharing_a_cache_dir_get_their_own_pixels(celeba_dir, tmp_path, capsys):
    other = str(tmp_path / "other_celeba")
    shutil.copytree(celeba_dir, other)
    _other_images(other, shift=50)
    shared = str(tmp_path / "shared_cache")
    first = np.array(data.load_dataset("celeba", celeba_dir, cache_dir=shared).examples)
    second = np.array(data.load_dataset("celeba", other, cache_dir=shared).examples)
    own = np.array(data.load_dataset("celeba", other, cache_dir=str(tmp_path / "own")).examples)
    np.testing.assert_array_equal(second, own)  # the other directory's pixels, not the first's
    assert np.abs(first.astype(int) - second.astype(int)).mean() > 20
    again = data.load_dataset("celeba", celeba_dir, cache_dir=shared)  # both caches kept
    np.testing.assert_array_equal(again.examples, first)
    assert "stale" not in capsys.readouterr().err


def test_a_cache_of_an_older_version_is_replaced(celeba_dir, capsys):
    legacy = os.path.join(celeba_dir, "tfgan_cache", "celeba_p01_64px.npy")
    os.makedirs(os.path.dirname(legacy))
    np.save(legacy, np.zeros((9, 64, 64, 3), np.uint8))  # right shape, no key: not trusted
    source = data.load_dataset("celeba", celeba_dir)
    assert source.examples[0].std() > 10
    assert not os.path.exists(legacy) and "removed " + legacy in capsys.readouterr().err


@pytest.mark.parametrize("change", ["images_replaced", "image_list", "key_lost", "version"])
def test_stale_cache_is_rebuilt_with_a_message(celeba_dir, tmp_path, capsys, monkeypatch, change):
    before = np.array(data.load_dataset("celeba", celeba_dir).examples)
    path = cache_path(celeba_dir)
    if change == "images_replaced":   # same names, same count, other pixels
        _other_images(celeba_dir, shift=70)
    elif change == "image_list":      # same count, another image in the split
        part = os.path.join(celeba_dir, "list_eval_partition.txt")
        _rewrite(part, lambda lines: [lines[0].replace(" 0", " 2"), lines[3].replace(" 2", " 0")]
                 + lines[1:3] + lines[4:])
    elif change == "key_lost":
        os.remove(path + ".key.json")
    else:
        monkeypatch.setattr(celeba.cache_key, "CACHE_FORMAT", celeba.cache_key.CACHE_FORMAT + 1)
    capsys.readouterr()
    after = data.load_dataset("celeba", celeba_dir)
    message = capsys.readouterr().err.strip().splitlines()
    assert len(message) == 1 and message[0].startswith(f"CelebA cache {path} is stale (")
    fresh = data.load_dataset("celeba", celeba_dir, cache_dir=str(tmp_path / "fresh"))
    np.testing.assert_array_equal(after.examples, fresh.examples)
    if change != "key_lost" and change != "version":
        assert np.abs(after.examples.astype(int) - before.astype(int)).max() > 20
    assert sorted(os.listdir(os.path.dirname(path))) == [os.path.basename(path),
                                                         os.path.basename(path) + ".key.json"]


def test_cache_falls_back_to_home_or_goes_where_asked(celeba_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    with open(os.path.join(celeba_dir, "tfgan_cache"), "w") as f:
        f.write("a file where the cache folder should go: the default place is unusable")
    report = celeba.prepare_cache(celeba_dir, "2")
    assert report.built
    assert report.path.startswith(str(tmp_path / "home" / ".cache" / "tfgan_suite"))
    assert len(data.load_dataset("celeba", celeba_dir, "test")) == 3
    chosen = tmp_path / "my_cache"
    data.load_dataset("celeba", celeba_dir, "test", cache_dir=str(chosen))
    name = celeba._cache_name(celeba_dir, (2,), 64)
    assert sorted(os.listdir(chosen)) == [name, name + ".key.json"]
    with pytest.raises(UserError, match="cache_dir"):
        data.load_dataset("celeba", celeba_dir, cache_dir=os.path.join(celeba_dir, "tfgan_cache"))


def _rewrite(path, edit):
    with open(path) as f:
        lines = f.read().splitlines()
    with open(path, "w") as f:
        f.write("\n".join(edit(lines)) + "\n")


def test_layout_errors_name_the_missing_piece(celeba_dir, tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        data.load_dataset("celeba", str(tmp_path / "absent"))
    os.makedirs(tmp_path / "empty")
    with pytest.raises(UserError, match="is empty"):
        data.load_dataset("celeba", str(tmp_path / "empty"))
    for name, message in (("list_eval_partition.txt", "partition"),
                          ("list_attr_celeba.txt", "attribute annotations"),
                          ("img_align_celeba", "aligned 178x218 JPEGs")):
        os.rename(os.path.join(celeba_dir, name), os.path.join(celeba_dir, name + ".moved"))
        with pytest.raises(UserError, match=f"{name}' is missing.*{message}"):
            data.load_dataset("celeba", celeba_dir)


def test_table_errors_come_before_decoding(celeba_dir, monkeypatch):
    monkeypatch.setattr(images, "decode_images", lambda *a, **k: pytest.fail("decoded"))
    attr = os.path.join(celeba_dir, "list_attr_celeba.txt")
    with open(attr) as f:
        good_table = f.read()
    _rewrite(attr, lambda lines: lines[:5] + [lines[5].rsplit(" ", 1)[0]] + lines[6:])
    with pytest.raises(UserError, match="list_attr_celeba.txt:6: expected an image name and 40 "
                                        "values of -1 or 1"):
        data.load_dataset("celeba", celeba_dir)
    for bad_value in (" 0", " x"):
        with open(attr, "w") as f:
            f.write(good_table)
        _rewrite(attr, lambda lines: lines[:6] + [lines[6][:-2] + bad_value] + lines[7:])
        with pytest.raises(UserError, match=":7: expected"):
            data.load_dataset("celeba", celeba_dir)
    with open(attr, "w") as f:
        f.write(good_table.replace("12\n", "13\n", 1))
    with pytest.raises(UserError, match="line 1 announces 13 images but 12 rows"):
        data.load_dataset("celeba", celeba_dir)
    with open(attr, "w") as f:
        f.write(good_table)
    with pytest.raises(UserError, match="unknown CelebA attribute.*Wings.*valid names"):
        data.load_dataset("celeba", celeba_dir, attributes="Male,Wings")
    os.remove(os.path.join(celeba_dir, "img_align_celeba", "000002.jpg"))
    with pytest.raises(UserError, match="list_eval_partition.txt lists 1 image.*missing from.*"
                                        "000002.jpg"):
        data.load_dataset("celeba", celeba_dir)
    part = os.path.join(celeba_dir, "list_eval_partition.txt")
    _rewrite(part, lambda lines: lines[:2] + ["000003.jpg 7"] + lines[3:])
    with pytest.raises(UserError, match="list_eval_partition.txt:3: expected 'image_name "
                                        "partition'"):
        data.load_dataset("celeba", celeba_dir)


def test_corrupt_or_wrong_size_image_is_named(celeba_dir):
    jpg = os.path.join(celeba_dir, "img_align_celeba", "000005.jpg")
    with open(jpg, "wb") as f:
        f.write(b"\xff\xd8\xff\xe0 not really a jpeg")
    with pytest.raises(UserError, match="cannot use image .*000005.jpg"):
        data.load_dataset("celeba", celeba_dir)
    assert not os.listdir(os.path.join(celeba_dir, "tfgan_cache"))
    Image.new("RGB", (64, 64)).save(jpg)
    with pytest.raises(UserError, match="000005.jpg.*not 218 high and 178 wide"):
        data.load_dataset("celeba", celeba_dir)


def test_prepare_tool_builds_the_cache(celeba_dir):
    env = dict(os.environ, PYTHONPATH=REPO, TF_CPP_MIN_LOG_LEVEL="3")
    run = subprocess.run([sys.executable, os.path.join(REPO, "tools", "prepare_celeba.py"),
                          f"--data_dir={celeba_dir}", "--partitions=0,2"],
                         capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 0, run.stderr
    path = cache_path(celeba_dir, "02")
    assert "wrote" in run.stdout and f"{path}: 9 images of 64x64 in" in run.stdout
    assert os.path.isfile(path)


def test_one_chosen_attribute_defines_two_classes(tmp_path):
    written = fixtures.write_celeba(str(tmp_path), n=8)
    source = data.load_dataset("celeba", str(tmp_path), "train", attributes=("Male",))
    assert source.info.num_classes == 2
    male = written["attributes"][:, fixtures.CELEBA_ATTRIBUTES.index("Male")]
    train_rows = [i for i, p in enumerate(written["partitions"]) if p in (0, 1)]
    np.testing.assert_array_equal(source.class_ids, (male[train_rows] == 1).astype(np.int32))
    assert data.load_dataset("celeba", str(tmp_path), "train").class_ids is None


def test_crlf_text_files_load_identically(celeba_dir):
    lf = data.load_dataset("celeba", celeba_dir)
    for name in ("list_attr_celeba.txt", "list_eval_partition.txt"):
        path = os.path.join(celeba_dir, name)
        with open(path, "rb") as f:
            text = f.read()
        with open(path, "wb") as f:
            f.write(text.replace(b"\n", b"\r\n"))
    crlf = data.load_dataset("celeba", celeba_dir)
    np.testing.assert_array_equal(crlf.labels, lf.labels)
    np.testing.assert_array_equal(crlf.examples, lf.examples)
