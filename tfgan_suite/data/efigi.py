"""EFIGI 1.6 (Baillard et al. 2011): 4,458 nearby galaxies with morphological attributes.

Source: https://www.astromatic.net/projects/efigi (efigi_tables-1.6.2.tgz and
efigi_png_gri-1.6.tgz; both extract into efigi-1.6/). data_dir is efigi-1.6/ or its parent:
    EFIGI_attributes.txt   header lines start with '#'; then one line per galaxy, whitespace
                           separated: PGCname, then 17 attributes each as value, value_inf,
                           value_sup (the confidence interval): T, Bulge_to_Total, Arm_Strength,
                           Arm_Curvature, Arm_Rotation, Bar_Length, Inner_Ring, Outer_Ring,
                           Pseudo_Ring, Perturbation, Visible_Dust, Dust_Dispersion, Flocculence,
                           Hot_Spots, Inclination, Contamination, Multiplicity (52 columns)
    png/PGC0000212.png ... 255x255 RGB composites of the g, r, i bands, named by PGCname

Conditioning (cWGAN-GP Sec. IV-D): arm strength, arm curvature, visible dust and abundance of
neighbouring galaxies, i.e. the VALUE columns Arm_Strength, Arm_Curvature, Visible_Dust and
Multiplicity (0-based line fields 7, 10, 31, 49). The original code (ops/data_ops.py,
load_galaxy) indexes [7, 10, 31, 49] into the fields AFTER dropping PGCname, so it reads
fields 8, 11, 32, 50: the lower bounds Arm_Strength_inf, ... Multiplicity_inf. That is
probably an off-by-one (its index list was written against whole-line field numbers);
original_columns=True reproduces it.

Split: the official release has none (the original used its own images/train and
images/test folders). Here the galaxies are sorted by PGCname and a seeded permutation
(seed 0) puts round(test_fraction * N) of them (446 of 4,458) in "test", the rest in "train".

Normalisation: "none" gives the raw table values (the original); "minmax" (default) maps each
column linearly to [0, 1] using its minimum and maximum over the whole table (both splits, so
train and test share one mapping). Minmax is the default so that the four condition inputs
share one known range whatever values the table holds, like the 0/1 CelebA attributes; that
range is what interpolation and attribute-sweep tools sweep over.
Images are resized (bilinear, antialiased) to 64x64.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Optional

import numpy as np

from tfgan_suite.data import files, images
from tfgan_suite.data.base import ArraySource, DatasetInfo
from tfgan_suite.errors import UserError

TABLE_ATTRIBUTES = ("T", "Bulge_to_Total", "Arm_Strength", "Arm_Curvature", "Arm_Rotation",
                    "Bar_Length", "Inner_Ring", "Outer_Ring", "Pseudo_Ring", "Perturbation",
                    "Visible_Dust", "Dust_Dispersion", "Flocculence", "Hot_Spots", "Inclination",
                    "Contamination", "Multiplicity")
NUM_FIELDS = 1 + 3 * len(TABLE_ATTRIBUTES)
PAPER_ATTRIBUTES = ("Arm_Strength", "Arm_Curvature", "Visible_Dust", "Multiplicity")
FOLDER = "efigi-1.6"
ATTR_FILE = "EFIGI_attributes.txt"
PNG_DIR = "png"
LAYOUT = f"{ATTR_FILE} and {PNG_DIR}/*.png (efigi-1.6/ of the official EFIGI tarballs)"
NORMALIZATIONS = ("minmax", "none")


def value_field(attribute: str) -> int:
    """Whole-line field index of an attribute's value (its _inf is +1, _sup +2)."""
    return 1 + 3 * TABLE_ATTRIBUTES.index(attribute)


@dataclasses.dataclass(frozen=True)
class Options:
    """normalization: "minmax" (each attribute to [0, 1]) or "none" (raw, as the original).
    original_columns: read the _inf columns as the original code did (see module doc).
    test_fraction: share of galaxies held out for "test". resolution: output size in pixels."""

    normalization: str = "minmax"
    original_columns: bool = False
    test_fraction: float = 0.1
    resolution: int = 64

    def __post_init__(self):
        if self.normalization not in NORMALIZATIONS:
            raise UserError(f"option normalization={self.normalization!r}: choose one of "
                            f"{', '.join(NORMALIZATIONS)}")
        if not 0.0 < float(self.test_fraction) < 1.0:
            raise UserError(f"option test_fraction={self.test_fraction}: must lie in (0, 1)")
        if int(self.resolution) < 1:
            raise UserError(f"option resolution={self.resolution}: must be a positive size")
        flag = str(self.original_columns).lower()
        if flag not in ("true", "false", "1", "0"):
            raise UserError(f"option original_columns={self.original_columns!r}: use true or false")
        object.__setattr__(self, "original_columns", flag in ("true", "1"))
        object.__setattr__(self, "test_fraction", float(self.test_fraction))
        object.__setattr__(self, "resolution", int(self.resolution))


def describe(name: str, options: Options) -> DatasetInfo:
    return DatasetInfo(name, (options.resolution, options.resolution, 3), PAPER_ATTRIBUTES,
                       "continuous")


def read_table(path: str) -> tuple:
    """(PGC names, float64 [N, 51] fields after PGCname) of EFIGI_attributes.txt."""
    names, rows = [], []
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise UserError(f"cannot read {path!r} ({e}); download efigi_tables-1.6.2.tgz again") \
            from None
    for lineno, line in enumerate(lines, start=1):
        fields = line.split()
        if not fields or fields[0].startswith("#"):
            continue
        try:
            row = [float(v) for v in fields[1:NUM_FIELDS]]
        except ValueError:
            row = []
        if len(row) != NUM_FIELDS - 1:
            raise UserError(f"{path}:{lineno}: expected a PGC name and {NUM_FIELDS - 1} numbers "
                            f"(17 attributes x value, inf, sup), got {line.strip()[:120]!r}")
        rows.append(row)
        names.append(fields[0])
    if not names:
        raise UserError(f"{path} holds no galaxy line; download efigi_tables-1.6.2.tgz again")
    return names, np.asarray(rows)


def _dataset_folder(data_dir: Optional[str], name: str) -> str:
    files.require_data_dir(data_dir, name, LAYOUT)
    nested = os.path.join(data_dir, FOLDER)
    folder = nested if os.path.isdir(nested) else data_dir
    files.require_path(os.path.join(folder, ATTR_FILE), name,
                       "the EFIGI attribute table (efigi_tables-1.6.2.tgz)")
    files.require_path(os.path.join(folder, PNG_DIR), name,
                       "the galaxy images PGC*.png (efigi_png_gri-1.6.tgz)", is_dir=True)
    return folder


def split_indices(num: int, split: str, test_fraction: float) -> np.ndarray:
    """Rows of the PGC-sorted table in `split` (seeded, see module doc)."""
    num_test = min(max(1, round(test_fraction * num)), num - 1)
    order = np.random.default_rng(0).permutation(num)
    return np.sort(order[:num_test] if split == "test" else order[num_test:])


def load(name: str, data_dir: Optional[str], split: str, options: Options) -> ArraySource:
    folder = _dataset_folder(data_dir, name)
    pgc, fields = read_table(os.path.join(folder, ATTR_FILE))
    if len(pgc) < 2:
        raise UserError(f"{os.path.join(folder, ATTR_FILE)}: one galaxy cannot be split into "
                        "train and test")
    offset = 1 if options.original_columns else 0
    # fields omit PGCname, so whole-line field k is column k - 1.
    columns = [value_field(a) + offset - 1 for a in PAPER_ATTRIBUTES]
    values = fields[:, columns]
    if options.normalization == "minmax":
        low, span = values.min(axis=0), np.ptp(values, axis=0)
        values = (values - low) / np.where(span > 0, span, 1.0)
    order = np.argsort(pgc, kind="stable")
    rows = order[split_indices(len(pgc), split, options.test_fraction)]
    png_dir = os.path.join(folder, PNG_DIR)
    on_disk = set(os.listdir(png_dir))
    missing = [pgc[i] for i in rows if pgc[i] + ".png" not in on_disk]
    if missing:
        raise UserError(f"{png_dir} lacks the images of {len(missing)} galaxies of {ATTR_FILE}, "
                        f"e.g. {missing[:3]}; extract efigi_png_gri-1.6.tgz completely")
    out = np.empty((len(rows), options.resolution, options.resolution, 3), np.uint8)
    images.decode_images([os.path.join(png_dir, pgc[i] + ".png") for i in rows], out, "png",
                         options.resolution)
    return ArraySource(describe(name, options), out, values[rows].astype(np.float32))
