"""dSprites: the exact factor grid, factor decoding of known indices, the procedural rendering
(sizes, positions, the 0 / 2 pi orientation duplicate), the variants, the lazy array in the
training pipeline, and unpacking a file in the official .npz layout."""

import os

import numpy as np
import pytest

from tfgan_suite import data
from tfgan_suite.data import dsprites
from tfgan_suite.data.base import batch_pipeline
from tfgan_suite.errors import UserError


def test_grid_has_the_official_count_and_c_order():
    assert dsprites.NUM_EXAMPLES == 737_280 == 3 * 6 * 40 * 32 * 32
    known = {0: [0, 0, 0, 0, 0], 1: [0, 0, 0, 0, 1], 32: [0, 0, 0, 1, 0],
             1024: [0, 0, 1, 0, 0], 40960: [0, 1, 0, 0, 0], 245_760: [1, 0, 0, 0, 0],
             737_279: [2, 5, 39, 31, 31], 300_000: [1, 1, 12, 31, 0]}
    classes = dsprites.factor_classes(list(known))
    np.testing.assert_array_equal(classes, np.array(list(known.values())))
    indices = np.random.default_rng(0).integers(0, dsprites.NUM_EXAMPLES, 500)
    np.testing.assert_array_equal(dsprites.index_of(dsprites.factor_classes(indices)), indices)
    values = dsprites.factor_values([[2, 5, 39, 31, 31]])
    assert values["scale"][0] == 1.0 and values["orientation"][0] == pytest.approx(2 * np.pi)
    assert values["pos_x"][0] == 1.0 and dsprites.SCALES[0] == 0.5


def test_source_shapes_and_splits():
    train = data.load_dataset("dsprites")
    assert len(train) == dsprites.NUM_EXAMPLES and train.examples.shape[1:] == (64, 64, 1)
    assert train.labels.shape == (dsprites.NUM_EXAMPLES, 0)
    test = data.load_dataset("dsprites", split="test")
    assert len(test) == dsprites.TEST_SIZE
    np.testing.assert_array_equal(test.examples[[0, 5]], train.examples[test.grid_indices[[0, 5]]])
    assert data.describe("color_dsprites").example_shape == (64, 64, 3)


def centroid(image):
    rows, cols = np.nonzero(image[..., 0])
    return rows.mean(), cols.mean()


def test_rendering_follows_the_factors():
    images = data.load_dataset("dsprites").examples
    square_big = images[dsprites.index_of([[0, 5, 0, 16, 16]])[0]]
    square_small = images[dsprites.index_of([[0, 0, 0, 16, 16]])[0]]
    assert set(np.unique(square_big)) == {0, 255}
    side = 2 * dsprites.SPRITE_HALF_SIZE * 64
    assert (square_big > 0).sum() == pytest.approx(side ** 2, rel=0.1)
    assert (square_small > 0).sum() == pytest.approx((side / 2) ** 2, rel=0.15)
    left, right = (images[dsprites.index_of([[1, 3, 0, x, 10]])[0]] for x in (0, 31))
    top, bottom = (images[dsprites.index_of([[2, 3, 0, 10, y]])[0]] for y in (0, 31))
    assert centroid(right)[1] - centroid(left)[1] == pytest.approx(
        dsprites.POSITION_RANGE * 64, abs=1.5)
    assert centroid(bottom)[0] - centroid(top)[0] > 30
    # Orientation 0 and 2 pi are the same angle in the original's grid; 9 steps is not.
    first, last, other = (images[dsprites.index_of([[2, 4, o, 16, 16]])[0]] for o in (0, 39, 9))
    np.testing.assert_array_equal(first, last)
    assert (first != other).sum() > 20


def test_variants_are_deterministic_and_keep_the_sprite():
    index = [dsprites.index_of([[0, 5, 0, 16, 16]])[0], 1234]
    mask = data.load_dataset("dsprites").examples[index][..., 0] > 0
    colour = data.load_dataset("color_dsprites").examples[index]
    np.testing.assert_array_equal(colour, data.load_dataset("color_dsprites").examples[index])
    assert (colour[~mask] == 0).all()
    levels = np.round(dsprites.COLOR_LEVELS * 255).astype(np.uint8)
    assert np.isin(colour[mask], levels).all()
    noisy = data.load_dataset("noisy_dsprites").examples[index]
    assert (noisy[mask] == 255).all() and noisy[~mask].std() > 50


def test_lazy_images_feed_the_training_pipeline():
    source = data.load_dataset("dsprites")
    x, y = next(iter(batch_pipeline(source, 8, seed=3)))
    assert x.shape == (8, 64, 64, 1) and y.shape == (8, 0)
    assert set(np.unique(x.numpy())) <= {-1.0, 1.0}
    with pytest.raises(TypeError, match="index it"):
        np.asarray(source.examples)


def write_official_layout(path, n):
    """A file in the official npz layout (imgs uint8 0/1, latents_classes) with the first n rows."""
    imgs = (dsprites.render_masks(np.arange(n))).astype(np.uint8)
    classes = np.concatenate([np.zeros((n, 1), np.int64), dsprites.factor_classes(np.arange(n))], 1)
    np.savez_compressed(path, imgs=imgs, latents_classes=classes,
                        latents_values=classes.astype(np.float64))
    return imgs


def test_official_file_is_unpacked_to_a_memory_map(tmp_path, monkeypatch):
    n = 96   # the layout of the 737,280-image file, on its first rows
    monkeypatch.setattr(dsprites, "NUM_EXAMPLES", n)
    imgs = write_official_layout(tmp_path / dsprites.OFFICIAL_FILE, n)
    cache = dsprites._official_cache(str(tmp_path / dsprites.OFFICIAL_FILE), str(tmp_path / "c"))
    unpacked = np.load(cache, mmap_mode="r")
    np.testing.assert_array_equal(unpacked, imgs)
    images = dsprites.LazyImages("binary", 0, official=unpacked)
    np.testing.assert_array_equal(images[[3, 90]][..., 0], imgs[[3, 90]] * 255)

    bad = tmp_path / "bad"
    os.makedirs(bad)
    np.savez(bad / dsprites.OFFICIAL_FILE, imgs=imgs, latents_classes=np.zeros((n, 6), np.int64))
    with pytest.raises(UserError, match="do not enumerate the dSprites grid"):
        dsprites._official_cache(str(bad / dsprites.OFFICIAL_FILE), str(bad / "c"))


def test_content_fingerprint_names_the_images_without_rendering_them_all():
    """The real-feature cache keys on it: it must separate splits, variants and seeds, and
    stay the same for the same images."""
    test = data.load_dataset("dsprites", None, "test").examples
    assert test.content_fingerprint() == data.load_dataset("dsprites", None, "test").examples \
        .content_fingerprint()
    others = {data.load_dataset("dsprites", None, "train").examples.content_fingerprint(),
              dsprites.LazyImages("color", 0, rows=test.rows).content_fingerprint(),
              dsprites.LazyImages("color", 1, rows=test.rows).content_fingerprint()}
    assert test.content_fingerprint() not in others and len(others) == 3
