"""CelebA (Liu et al. 2015), aligned-and-cropped version, as the cWGAN-GP paper uses it.

Source: https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html (Google Drive "Img/img_align_celeba.zip"
and "Anno/list_attr_celeba.txt", "Eval/list_eval_partition.txt"). Official layout in data_dir:
    img_align_celeba/000001.jpg ... 202599.jpg   178 wide x 218 high RGB JPEGs
    list_attr_celeba.txt     line 1: image count; line 2: the 40 attribute names;
                             then "000001.jpg -1  1 ..." (40 values, -1 absent / 1 present)
    list_eval_partition.txt  "000001.jpg 0" (0 train, 1 validation, 2 test)

Preprocessing (cWGAN-GP Sec. IV and the original crop script): crop img[40:178, 30:168]
(138 x 138 around the face), bilinear resize to 64 x 64; attributes -1 -> 0, 1 -> 1.
The paper trains on the official train + validation partitions (about 182k images) and
tests on the test partition: the defaults here. The original code instead trained on
partitions 0 and 2 (its variable names swap validation and test): train_partitions=(0, 2).

Decoding 182k JPEGs takes minutes, so the processed images are cached once as a .npy of
uint8 [N, 64, 64, 3] per data directory, partition set and resolution, read back
memory-mapped. The file name carries a digest of the data directory's real path, so several
data directories can share one cache_dir, and a sidecar key (data/cache_key.py: image names,
sizes and mtimes, crop, size, partitions, suite version) says what the pixels were computed
from: a cache whose key differs from the data on disk is rebuilt, with a one-line message, as
is one that cannot be read or has the wrong shape. The cache is written to a temporary file
and renamed into place, so an interrupted preparation never leaves a cache that looks
complete.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import sys
import tempfile
import time
from typing import Optional

import numpy as np

from tfgan_suite import cleanup
from tfgan_suite.data import cache_key, files, images
from tfgan_suite.data.base import ArraySource, DatasetInfo
from tfgan_suite.data.subsets import parse_numbers
from tfgan_suite.errors import UserError

ATTRIBUTE_NAMES = (
    "5_o_Clock_Shadow", "Arched_Eyebrows", "Attractive", "Bags_Under_Eyes", "Bald", "Bangs",
    "Big_Lips", "Big_Nose", "Black_Hair", "Blond_Hair", "Blurry", "Brown_Hair", "Bushy_Eyebrows",
    "Chubby", "Double_Chin", "Eyeglasses", "Goatee", "Gray_Hair", "Heavy_Makeup",
    "High_Cheekbones", "Male", "Mouth_Slightly_Open", "Mustache", "Narrow_Eyes", "No_Beard",
    "Oval_Face", "Pale_Skin", "Pointy_Nose", "Receding_Hairline", "Rosy_Cheeks", "Sideburns",
    "Smiling", "Straight_Hair", "Wavy_Hair", "Wearing_Earrings", "Wearing_Hat",
    "Wearing_Lipstick", "Wearing_Necklace", "Wearing_Necktie", "Young")
# cWGAN-GP Sec. IV: bald, bangs, black hair, blonde hair, eyeglasses, makeup, gender, pale skin,
# smiling (the original's columns 4, 5, 8, 9, 15, 18, 20, 26, 31).
PAPER_ATTRIBUTES = ("Bald", "Bangs", "Black_Hair", "Blond_Hair", "Eyeglasses", "Heavy_Makeup",
                    "Male", "Pale_Skin", "Smiling")
IMAGE_DIR = "img_align_celeba"
ATTR_FILE = "list_attr_celeba.txt"
PARTITION_FILE = "list_eval_partition.txt"
IMAGE_HW = (218, 178)
CROP = (40, 30, 138, 138)  # top, left, height, width: img[40:178, 30:168]
LAYOUT = f"{IMAGE_DIR}/*.jpg, {ATTR_FILE} and {PARTITION_FILE} (the official CelebA files)"


def _parse_attributes(value) -> tuple:
    names = tuple(value.split(",")) if isinstance(value, str) else tuple(value)
    names = tuple(n.strip() for n in names)
    unknown = [n for n in names if n not in ATTRIBUTE_NAMES]
    if unknown or not names:
        raise UserError(f"option attributes: unknown CelebA attribute(s) {unknown}; valid names "
                        f"are {', '.join(ATTRIBUTE_NAMES)}")
    return names


def _parse_partitions(value, option: str) -> tuple:
    parts = parse_numbers(value, option)
    if any(p not in (0, 1, 2) for p in parts) or len(set(parts)) != len(parts):
        raise UserError(f"option {option}={value!r}: partitions are 0 (train), 1 (validation), "
                        "2 (test), each at most once")
    return tuple(sorted(parts))


@dataclasses.dataclass(frozen=True)
class Options:
    """attributes: conditioning attributes (names from list_attr_celeba.txt, in this order).
    train_partitions / test_partitions: partitions of list_eval_partition.txt per split.
    resolution: output size in pixels (square). cache_dir: where the .npy cache lives
    (default <data_dir>/tfgan_cache, or ~/.cache/tfgan_suite/... when that is not writable).
    """

    attributes: tuple = PAPER_ATTRIBUTES
    train_partitions: tuple = (0, 1)
    test_partitions: tuple = (2,)
    resolution: int = 64
    cache_dir: Optional[str] = None

    def __post_init__(self):
        object.__setattr__(self, "attributes", _parse_attributes(self.attributes))
        object.__setattr__(self, "train_partitions",
                           _parse_partitions(self.train_partitions, "train_partitions"))
        object.__setattr__(self, "test_partitions",
                           _parse_partitions(self.test_partitions, "test_partitions"))
        if int(self.resolution) < 1:
            raise UserError(f"option resolution={self.resolution}: must be a positive size")
        object.__setattr__(self, "resolution", int(self.resolution))


def describe(name: str, options: Options) -> DatasetInfo:
    # One chosen attribute also defines two ground-truth classes (without / with it): what
    # SLOGAN's learned pi, NMI and ICFID are measured against (paper Table 5: Male, Eyeglasses).
    return DatasetInfo(name, (options.resolution, options.resolution, 3), options.attributes,
                       "binary", num_classes=2 if len(options.attributes) == 1 else 0)


def _read_lines(path: str) -> list:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read().splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise UserError(f"cannot read {path!r} ({e}); download it again") from None


def read_attribute_table(path: str) -> tuple:
    """list_attr_celeba.txt as (header names, {image name: row}, int8 [rows, 40] of -1/1)."""
    lines = _read_lines(path)
    if len(lines) < 2 or not lines[0].strip().isdigit():
        raise UserError(f"{path}:1: expected the number of images on line 1 and the attribute "
                        "names on line 2 (official list_attr_celeba.txt)")
    header = lines[1].split()
    body = [(lineno, line) for lineno, line in enumerate(lines[2:], start=3) if line.strip()]

    def malformed(lineno, line):
        return UserError(f"{path}:{lineno}: expected an image name and {len(header)} values of "
                         f"-1 or 1, got {line.strip()[:120]!r}")

    names = []
    for lineno, line in body:
        parts = line.split()
        if len(parts) != len(header) + 1:
            raise malformed(lineno, line)
        names.append(parts[0])
    # np.loadtxt parses the 8 million values in C; a bad token sends us to the slow scan
    # below, which finds its line.
    try:
        values = np.loadtxt([line for _, line in body], usecols=range(1, len(header) + 1),
                            dtype=np.int8, ndmin=2)
    except ValueError:
        values = np.zeros((0, len(header)), np.int8)
    if len(values) != len(body) or not np.isin(values, (-1, 1)).all():
        for lineno, line in body:
            if not set(line.split()[1:]) <= {"1", "-1"}:
                raise malformed(lineno, line)
    if int(lines[0]) != len(body):
        raise UserError(f"{path}: line 1 announces {int(lines[0])} images but {len(body)} rows "
                        "follow; the file is truncated, download it again")
    return header, {name: row for row, name in enumerate(names)}, values


def read_partitions(path: str) -> list:
    """[(file name, partition)] in file order."""
    entries = []
    for lineno, line in enumerate(_read_lines(path), start=1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 2 or parts[1] not in ("0", "1", "2"):
            raise UserError(f"{path}:{lineno}: expected 'image_name partition' with partition 0, "
                            f"1 or 2, got {line.strip()[:120]!r}")
        entries.append((parts[0], int(parts[1])))
    return entries


def _check_layout(data_dir: Optional[str]) -> str:
    files.require_data_dir(data_dir, "celeba", LAYOUT)
    files.require_path(os.path.join(data_dir, IMAGE_DIR), "celeba",
                       "the aligned 178x218 JPEGs of img_align_celeba.zip", is_dir=True)
    files.require_path(os.path.join(data_dir, ATTR_FILE), "celeba",
                       "the 40 attribute annotations (Anno/list_attr_celeba.txt)")
    files.require_path(os.path.join(data_dir, PARTITION_FILE), "celeba",
                       "the train/validation/test partition (Eval/list_eval_partition.txt)")
    return data_dir


def _partition_images(data_dir: str, partitions: tuple) -> list:
    """Image names of `partitions` in partition-file order, each checked to exist on disk."""
    path = os.path.join(data_dir, PARTITION_FILE)
    names = [n for n, p in read_partitions(path) if p in partitions]
    if not names:
        raise UserError(f"{path} lists no image in partitions {partitions}")
    on_disk = set(os.listdir(os.path.join(data_dir, IMAGE_DIR)))
    missing = [n for n in names if n not in on_disk]
    if missing:
        raise UserError(f"{path} lists {len(missing)} image(s) missing from "
                        f"{os.path.join(data_dir, IMAGE_DIR)}, e.g. {missing[:3]}; extract "
                        "img_align_celeba.zip completely")
    return names


def _source_digest(data_dir: str) -> str:
    return hashlib.sha1(os.path.realpath(data_dir).encode()).hexdigest()[:12]


def _cache_name(data_dir: str, partitions: tuple, resolution: int) -> str:
    """One file per data directory: two directories sharing a cache_dir never collide."""
    return (f"celeba_p{''.join(map(str, partitions))}_{resolution}px-"
            f"{_source_digest(data_dir)[:8]}.npy")


def _remove_unkeyed_cache(folder: str, partitions: tuple, resolution: int) -> None:
    """Suite versions up to 0.2.0 named the cache without a source digest or key; nothing
    reads such a file any more, and it holds gigabytes for the full dataset."""
    legacy = os.path.join(folder, f"celeba_p{''.join(map(str, partitions))}_{resolution}px.npy")
    if os.path.isfile(legacy):
        os.unlink(legacy)
        print(f"removed {legacy} (a CelebA cache without a content key, from an older version)",
              file=sys.stderr)


def _cache_dirs(data_dir: str, cache_dir: Optional[str]) -> list:
    if cache_dir:
        return [cache_dir]
    return [os.path.join(data_dir, "tfgan_cache"),
            os.path.join(os.path.expanduser("~"), ".cache", "tfgan_suite",
                         f"celeba-{_source_digest(data_dir)}")]


def _open_cache(path: str, count: int, resolution: int, key: dict) -> Optional[np.ndarray]:
    """The cached images memory-mapped, or None if absent, unreadable, of the wrong shape or
    built from other data (then a line says why it is rebuilt)."""
    if not os.path.isfile(path):
        return None
    reason = cache_key.stale_reason(cache_key.read_key(path), key)
    if reason is None:
        try:
            cached = np.load(path, mmap_mode="r")
        except (OSError, ValueError, EOFError):
            reason = "unreadable"
        else:
            if cached.dtype == np.uint8 and cached.shape == (count, resolution, resolution, 3):
                return cached
            reason = f"shape {cached.shape}, expected {(count, resolution, resolution, 3)}"
    print(f"CelebA cache {path} is stale ({reason}); rebuilding it", file=sys.stderr)
    return None


def _write_cache(folder: str, name: str, paths: list, resolution: int, key: dict) -> str:
    """Decode `paths` into folder/name via a temporary file renamed into place at the end,
    then write its key (removed first, so no moment pairs the new key with old pixels)."""
    os.makedirs(folder, exist_ok=True)
    cleanup.remove_stale_atomic_temps(folder)  # half-written caches of killed preparations
    # The pid in the name tells cleanup.py whether the writer is still alive.
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.tmp-{os.getpid()}-", suffix="")
    os.close(fd)
    try:
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8,
                                        shape=(len(paths), resolution, resolution, 3))
        images.decode_images(paths, out, "jpeg", resolution, crop=CROP, expected_hw=IMAGE_HW)
        out.flush()
        del out
        final = os.path.join(folder, name)
        cache_key.forget_key(final)
        os.replace(tmp, final)
        cache_key.write_key(final, key)
        return final
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


@dataclasses.dataclass(frozen=True)
class CacheReport:
    path: str
    num_images: int
    seconds: float
    built: bool  # False when a valid cache was already there


def prepare_cache(data_dir: str, partitions: tuple, resolution: int = 64,
                  cache_dir: Optional[str] = None) -> CacheReport:
    """Make sure the image cache of `partitions` exists (building it if needed) and say where."""
    partitions = _parse_partitions(partitions, "partitions")
    _check_layout(data_dir)
    return _ensure_cache(data_dir, _partition_images(data_dir, partitions), partitions,
                         resolution, cache_dir)


def _ensure_cache(data_dir: str, names: list, partitions: tuple, resolution: int,
                  cache_dir: Optional[str]) -> CacheReport:
    start = time.perf_counter()
    cache_name = _cache_name(data_dir, partitions, resolution)
    folders = _cache_dirs(data_dir, cache_dir)
    paths = [os.path.join(data_dir, IMAGE_DIR, n) for n in names]
    # What the pixels depend on; labels are re-read from the text files on every load.
    key = cache_key.make_key(data_dir, paths, crop=CROP, resolution=resolution,
                             partitions=partitions, decoder="jpeg")
    for folder in folders:
        path = os.path.join(folder, cache_name)
        if _open_cache(path, len(names), resolution, key) is not None:
            return CacheReport(path, len(names), time.perf_counter() - start, False)
    for folder in folders:
        _remove_unkeyed_cache(folder, partitions, resolution)
        try:
            path = _write_cache(folder, cache_name, paths, resolution, key)
        except OSError as e:
            if cache_dir:
                raise UserError(f"cannot write the CelebA cache in cache_dir {cache_dir!r} ({e}); "
                                "pass a writable --cache_dir") from None
            continue  # data_dir is read-only: fall back to the cache under the home folder
        return CacheReport(path, len(names), time.perf_counter() - start, True)
    raise UserError(f"cannot write the CelebA cache in any of {folders}; pass a writable "
                    "cache_dir option")


def load(name: str, data_dir: Optional[str], split: str, options: Options) -> ArraySource:
    """The split's cropped 64x64 images (memory-mapped cache) with 0/1 attribute labels."""
    partitions = options.train_partitions if split == "train" else options.test_partitions
    _check_layout(data_dir)
    attr_path = os.path.join(data_dir, ATTR_FILE)
    header, row_of, values = read_attribute_table(attr_path)
    absent = [a for a in options.attributes if a not in header]
    if absent:
        raise UserError(f"{attr_path}: attribute(s) {absent} are not in its header line; valid "
                        f"names are {', '.join(header)}")
    names = _partition_images(data_dir, partitions)
    unlabelled = [n for n in names if n not in row_of]
    if unlabelled:
        raise UserError(f"{attr_path} has no attributes for {len(unlabelled)} image(s) of the "
                        f"partition file, e.g. {unlabelled[:3]}; download both files again")
    columns = [header.index(a) for a in options.attributes]
    labels = (values[[row_of[n] for n in names]][:, columns] == 1).astype(np.float32)
    report = _ensure_cache(data_dir, names, partitions, options.resolution, options.cache_dir)
    examples = np.load(report.path, mmap_mode="r")
    info = describe(name, options)
    class_ids = labels[:, 0].astype(np.int32) if info.num_classes else None
    return ArraySource(info, examples, labels, class_ids)
