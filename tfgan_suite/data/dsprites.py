"""dSprites (Matthey et al. 2017, deepmind/dsprites-dataset) and its colour / noisy variants.

The factor grid is exactly the original's: 3 shapes (square, ellipse, heart) x 6 scales
(linspace(0.5, 1, 6)) x 40 orientations (linspace(0, 2 pi, 40), so the first and last are the
same angle, as in the original) x 32 x-positions x 32 y-positions (linspace(0, 1, 32)) =
737,280 binary 64x64 images. Example i has the factor classes of the original file's row i
(C order over shape, scale, orientation, posX, posY; `factor_classes` / `index_of`).

Images come from one of two places:
  * Without a data_dir (or one that does not hold the official file): a PROCEDURAL
    RE-RENDERING. Each image is rasterised from its factors when it is read (`LazyImages`),
    so the 3 GB dataset never sits in memory and tf.data gathers batches by index as from
    any array. It follows the original's definitions (shapes, factor values, sprite centred
    at its position) but is not the DeepMind .npz bit for bit: pixel-level outlines, the
    sprite's size in pixels and the position margin are ours (`SPRITE_HALF_SIZE`,
    `POSITION_RANGE`).
  * A data_dir holding the official `dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz`: its
    `imgs` are unpacked once (streamed, never all in memory) into a uint8 .npy cache in
    <data_dir>/tfgan_cache (or the cache_dir option) and memory-mapped; its
    `latents_classes` are checked against the grid.

Variants (ID-GAN Table A.1; Locatello et al. 2019): `color_dsprites` fills the sprite with a
colour whose channels are each one of 8 levels linspace(0, 1, 8); `noisy_dsprites` puts the
white sprite on uniform noise in [0, 1] per pixel and channel. Colours and noise are drawn
from a generator seeded by (option seed, example index), so every example is fixed.

dSprites has a single set: "train" is the whole grid; "test" is a fixed random sample of
`TEST_SIZE` (10,000) grid images (seed 0), the real images FID compares with. The
disentanglement metrics sample factors from the whole grid (`DSpritesSource.grid`) whatever
the split. Pixels are 0 / 255 (model units -1 / 1): the Bernoulli likelihood
of the beta-VAE reads them as 0 / 1. Examples carry no condition labels; their ground-truth
factors are `factor_classes(indices)` (what MIG and FVM read).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import zipfile
from typing import Optional

import numpy as np

from tfgan_suite.data.base import ArraySource, DatasetInfo
from tfgan_suite.errors import UserError

FACTOR_NAMES = ("shape", "scale", "orientation", "pos_x", "pos_y")
FACTOR_SIZES = (3, 6, 40, 32, 32)
NUM_EXAMPLES = int(np.prod(FACTOR_SIZES))   # 737,280
SHAPES = ("square", "ellipse", "heart")
SCALES = np.linspace(0.5, 1.0, 6)
ORIENTATIONS = np.linspace(0.0, 2.0 * np.pi, 40)
POSITIONS = np.linspace(0.0, 1.0, 32)
IMAGE_SIZE = 64
OFFICIAL_FILE = "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz"
VARIANTS = {"dsprites": "binary", "color_dsprites": "color", "noisy_dsprites": "noisy"}
COLOR_LEVELS = np.linspace(0.0, 1.0, 8)
# Re-rendering geometry, in units of the image width: the sprite's half size at scale 1 and
# the span of sprite centres (positions 0..1 map to 0.5 -/+ POSITION_RANGE / 2).
SPRITE_HALF_SIZE = 0.16
POSITION_RANGE = 0.64
TEST_SIZE = 10_000
_STRIDES = np.cumprod((1,) + FACTOR_SIZES[:0:-1])[::-1]   # C-order strides of the grid


@dataclasses.dataclass(frozen=True)
class Options:
    """seed: seeds the colours (color_dsprites) and background noise (noisy_dsprites).
    cache_dir: where the official file's images are unpacked (default <data_dir>/tfgan_cache)."""

    seed: int = 0
    cache_dir: Optional[str] = None

    def __post_init__(self):
        object.__setattr__(self, "seed", int(self.seed))


def describe(name: str, options: Options) -> DatasetInfo:
    channels = 1 if VARIANTS[name] == "binary" else 3
    return DatasetInfo(name, (IMAGE_SIZE, IMAGE_SIZE, channels))


def factor_classes(indices) -> np.ndarray:
    """int64 [N, 5] factor classes (shape, scale, orientation, posX, posY) of example indices."""
    indices = np.asarray(indices, np.int64)
    return (indices[:, None] // _STRIDES) % np.asarray(FACTOR_SIZES)


def index_of(classes) -> np.ndarray:
    """Example indices [N] of factor classes [N, 5] (the inverse of factor_classes)."""
    return np.asarray(classes, np.int64) @ _STRIDES


def factor_values(classes) -> dict:
    """The factors' values (scale, orientation in radians, positions in [0, 1])."""
    classes = np.asarray(classes)
    return dict(shape=classes[:, 0], scale=SCALES[classes[:, 1]],
                orientation=ORIENTATIONS[classes[:, 2]], pos_x=POSITIONS[classes[:, 3]],
                pos_y=POSITIONS[classes[:, 4]])


def _inside(shape_ids, u, v):
    """Whether sprite-frame points (u, v) (half size 1, v pointing down) lie in the shape."""
    square = (np.abs(u) <= 1.0) & (np.abs(v) <= 1.0)
    ellipse = u ** 2 + (v / 0.5) ** 2 <= 1.0
    # Heart: the classic implicit curve (x^2 + y^2 - 1)^3 - x^2 y^3 <= 0 (y up), scaled to fit.
    x, y = u * 1.15, -v * 1.15 + 0.1
    heart = (x ** 2 + y ** 2 - 1.0) ** 3 - x ** 2 * y ** 3 <= 0.0
    return np.where(shape_ids == 0, square, np.where(shape_ids == 1, ellipse, heart))


def render_masks(indices) -> np.ndarray:
    """bool [N, 64, 64]: the procedural sprites of `indices`, tested at pixel centres."""
    values = factor_values(factor_classes(indices))
    grid = (np.arange(IMAGE_SIZE) + 0.5) / IMAGE_SIZE
    cx = 0.5 + (values["pos_x"] - 0.5) * POSITION_RANGE
    cy = 0.5 + (values["pos_y"] - 0.5) * POSITION_RANGE
    half = SPRITE_HALF_SIZE * values["scale"]
    dx = grid[None, None, :] - cx[:, None, None]          # columns: x
    dy = grid[None, :, None] - cy[:, None, None]          # rows: y (down)
    cos, sin = np.cos(values["orientation"])[:, None, None], np.sin(values["orientation"])[:, None, None]
    u = (cos * dx + sin * dy) / half[:, None, None]       # rotate the image into the sprite frame
    v = (-sin * dx + cos * dy) / half[:, None, None]
    return _inside(values["shape"][:, None, None], u, v)


def colorise(masks, indices, variant: str, seed: int) -> np.ndarray:
    """uint8 [N, 64, 64, C] images from bool sprite masks [N, 64, 64]."""
    masks = np.asarray(masks, bool)
    if variant == "binary":
        return (masks[..., None] * np.uint8(255)).astype(np.uint8)
    out = np.empty(masks.shape + (3,), np.float32)
    for k, (mask, index) in enumerate(zip(masks, np.asarray(indices))):
        rng = np.random.default_rng([seed, int(index)])
        if variant == "color":
            out[k] = mask[..., None] * COLOR_LEVELS[rng.integers(0, len(COLOR_LEVELS), 3)]
        else:   # noisy: white sprite on uniform noise
            out[k] = np.where(mask[..., None], 1.0, rng.uniform(0.0, 1.0, mask.shape + (3,)))
    return np.round(out * 255.0).astype(np.uint8)


class LazyImages:
    """An array-like [737280, 64, 64, C] uint8 whose rows are made when indexed (rendered, or
    read from the memory-mapped official images, then coloured for the variants). Supports
    what the suite reads: len, shape, dtype, integer / slice / integer-array indexing."""

    def __init__(self, variant: str, seed: int, official: Optional[np.ndarray] = None,
                 rows: Optional[np.ndarray] = None):
        self.variant, self.seed, self.official = variant, seed, official
        self.rows = rows   # grid indices of this array's rows (None: the whole grid)
        channels = 1 if variant == "binary" else 3
        self.shape = (len(self), IMAGE_SIZE, IMAGE_SIZE, channels)
        self.dtype = np.dtype(np.uint8)
        self.ndim = 4

    def __len__(self):
        return NUM_EXAMPLES if self.rows is None else len(self.rows)

    def masks(self, indices) -> np.ndarray:
        if self.official is not None:
            return np.asarray(self.official[np.asarray(indices)]) > 0
        return render_masks(indices)

    def __getitem__(self, key):
        if isinstance(key, (int, np.integer)):
            return self[np.array([key])][0]
        n = len(self)
        if isinstance(key, slice):
            key = np.arange(n)[key]
        indices = np.asarray(key, np.int64)
        if indices.ndim != 1:
            raise IndexError("LazyImages takes an integer, a slice or a 1-D integer array")
        if len(indices) and (indices.min() < -n or indices.max() >= n):
            raise IndexError(f"index out of range for {n} examples")
        indices = indices % n
        if self.rows is not None:
            indices = self.rows[indices]
        return colorise(self.masks(indices), indices, self.variant, self.seed)

    def __array__(self, dtype=None, copy=None):
        raise TypeError("LazyImages renders on demand; index it (x[indices]) instead of "
                        "converting all 737,280 images")

    def content_fingerprint(self) -> str:
        """What determines these images, for cache keys, without rendering them all: the
        variant, seed, source (procedural or the official file), the grid rows, and the bytes
        of a spread of 64 rendered rows (which change if the renderer does)."""
        official = "procedural" if self.official is None else f"official{self.official.shape}"
        rows = np.arange(NUM_EXAMPLES) if self.rows is None else np.asarray(self.rows)
        probe = self[np.linspace(0, len(self) - 1, 64).astype(np.int64)]
        digest = hashlib.sha256(np.ascontiguousarray(rows, np.int64).tobytes())
        digest.update(probe.tobytes())
        return f"dsprites {self.variant} seed={self.seed} {official} {digest.hexdigest()}"


@dataclasses.dataclass
class DSpritesSource(ArraySource):
    """An ArraySource of lazily made dSprites images. `grid` holds the whole grid (indexed by
    `index_of(factor classes)`), which the disentanglement metrics sample; `grid_indices` are
    the grid rows of `examples`."""

    grid: Optional[LazyImages] = None
    grid_indices: Optional[np.ndarray] = None
    factor_names = FACTOR_NAMES
    factor_sizes = FACTOR_SIZES

    def images_of(self, classes) -> np.ndarray:
        """uint8 images of factor classes [N, 5]."""
        return self.grid[index_of(classes)]


def test_indices() -> np.ndarray:
    """The grid rows of the "test" split: TEST_SIZE distinct indices, sorted, seed 0."""
    return np.sort(np.random.default_rng(0).choice(NUM_EXAMPLES, TEST_SIZE, replace=False))


# ------------------------------------------------------------------ the official file

def _official_cache(npz_path: str, cache_dir: str) -> str:
    """Unpack the official `imgs` (uint8 0/1 [737280, 64, 64]) into <cache_dir>/dsprites_imgs.npy
    once, in chunks (about 3 GB on disk; never all in memory), written under a temporary name
    and renamed when complete. Its `latents_classes` are checked against the grid."""
    target = os.path.join(cache_dir, "dsprites_imgs.npy")
    if os.path.exists(target):
        return target
    try:
        os.makedirs(cache_dir, exist_ok=True)
        archive = zipfile.ZipFile(npz_path)
    except (OSError, zipfile.BadZipFile) as e:
        raise UserError(f"cannot read {npz_path} ({e}); download it again from "
                        "github.com/deepmind/dsprites-dataset") from None
    with archive:
        names = set(archive.namelist())
        if not {"imgs.npy", "latents_classes.npy"} <= names:
            raise UserError(f"{npz_path} lacks imgs / latents_classes: not the official dSprites "
                            "file")
        with archive.open("latents_classes.npy") as fh:
            classes = np.load(fh)
        check_official_classes(classes, npz_path)
        with archive.open("imgs.npy") as fh:
            version = np.lib.format.read_magic(fh)
            read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                           else np.lib.format.read_array_header_2_0)
            shape, fortran, dtype = read_header(fh)
            if shape != (NUM_EXAMPLES, IMAGE_SIZE, IMAGE_SIZE) or fortran:
                raise UserError(f"{npz_path}: imgs has shape {shape}, expected "
                                f"({NUM_EXAMPLES}, 64, 64)")
            tmp = f"{target}.tmp-{os.getpid()}"
            out = np.lib.format.open_memmap(tmp, "w+", np.uint8, shape)
            chunk = 8192
            for start in range(0, NUM_EXAMPLES, chunk):
                n = min(chunk, NUM_EXAMPLES - start)
                raw = fh.read(n * IMAGE_SIZE * IMAGE_SIZE * dtype.itemsize)
                out[start:start + n] = np.frombuffer(raw, dtype).reshape(n, IMAGE_SIZE, IMAGE_SIZE)
            out.flush()
            del out
            os.replace(tmp, target)
    return target


def check_official_classes(classes, source: str):
    """The official latents_classes [N, 6] (colour, shape, scale, orientation, posX, posY) must
    enumerate the grid in our order."""
    classes = np.asarray(classes)
    if classes.shape != (NUM_EXAMPLES, 6) or not np.array_equal(
            classes[:, 1:], factor_classes(np.arange(NUM_EXAMPLES))):
        raise UserError(f"{source}: latents_classes do not enumerate the dSprites grid "
                        "(3 x 6 x 40 x 32 x 32 in C order); not the official file")


def load(name: str, data_dir: Optional[str], split: str, options: Options) -> ArraySource:
    official = None
    if data_dir:
        npz = os.path.join(data_dir, OFFICIAL_FILE)
        if not os.path.isdir(data_dir):
            raise UserError(f"--data_dir={data_dir} is not a folder; leave it out to render "
                            f"dSprites procedurally, or pass the folder holding {OFFICIAL_FILE}")
        if os.path.exists(npz):
            cache = _official_cache(npz, options.cache_dir or os.path.join(data_dir, "tfgan_cache"))
            official = np.load(cache, mmap_mode="r")
    info = describe(name, options)
    grid = LazyImages(VARIANTS[name], options.seed, official)
    rows = np.arange(NUM_EXAMPLES) if split == "train" else test_indices()
    examples = grid if split == "train" else LazyImages(VARIANTS[name], options.seed, official, rows)
    return DSpritesSource(info, examples, np.zeros((len(rows), 0), np.float32), None, grid=grid,
                          grid_indices=rows)
