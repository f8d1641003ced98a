"""Tiny datasets written in the exact official on-disk formats, for tests (no download).

Each writer fills a folder the way the official archive extracts and returns what it wrote,
so tests can compare loaders against it. Contents are deterministic and class dependent:
in the MNIST-like and CIFAR images pixel [0, 0] (first channel) is 10 * label + 5 and
pixel [0, 1] is the example's index modulo 256.
"""

from __future__ import annotations

import gzip
import os
import pickle

import numpy as np
from PIL import Image

# The 40 column names of the official list_attr_celeba.txt header.
from tfgan_suite.data.celeba import ATTRIBUTE_NAMES as CELEBA_ATTRIBUTES

EFIGI_ATTRIBUTES = ("T", "Bulge_to_Total", "Arm_Strength", "Arm_Curvature", "Arm_Rotation",
                    "Bar_Length", "Inner_Ring", "Outer_Ring", "Pseudo_Ring", "Perturbation",
                    "Visible_Dust", "Dust_Dispersion", "Flocculence", "Hot_Spots", "Inclination",
                    "Contamination", "Multiplicity")


def digit_images(labels: np.ndarray, size: int = 28, channels: int = 0) -> np.ndarray:
    """uint8 [N, size, size(, channels)] images: a label-dependent stripe pattern plus markers."""
    n = len(labels)
    yy, xx = np.mgrid[0:size, 0:size]
    images = ((xx[None] * 7 + yy[None] * (np.asarray(labels)[:, None, None] + 1) * 3) % 200 + 40)
    images = images.astype(np.uint8)
    images[:, 0, 0] = 10 * np.asarray(labels) + 5
    images[:, 0, 1] = np.arange(n) % 256
    if channels:
        images = np.repeat(images[..., None], channels, axis=-1)
        images[..., 1:] //= 2  # make the colour channels differ so a CHW/HWC mix-up shows
    return images


def _write_idx(path: str, array: np.ndarray, gz: bool) -> None:
    magic = 0x800 + array.ndim
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    payload = header + np.ascontiguousarray(array, np.uint8).tobytes()
    if gz:
        with gzip.open(path + ".gz", "wb") as f:
            f.write(payload)
    else:
        with open(path, "wb") as f:
            f.write(payload)


def _labels(n: int, offset: int = 0) -> np.ndarray:
    return ((np.arange(n) + offset) * 3 % 10).astype(np.uint8)  # every digit, not sorted


def write_mnist_idx(folder: str, n_train: int = 30, n_test: int = 20, gz: bool = True) -> dict:
    """The four official IDX files (gzipped when gz). Returns {split: (images, labels)}."""
    os.makedirs(folder, exist_ok=True)
    written = {}
    for split, prefix, n in (("train", "train", n_train), ("test", "t10k", n_test)):
        labels = _labels(n, offset=1 if split == "test" else 0)
        images = digit_images(labels)
        _write_idx(os.path.join(folder, f"{prefix}-images-idx3-ubyte"), images, gz)
        _write_idx(os.path.join(folder, f"{prefix}-labels-idx1-ubyte"), labels, gz)
        written[split] = (images, labels)
    return written


def write_fashion_mnist(folder: str, n_train: int = 30, n_test: int = 20) -> dict:
    """Fashion-MNIST's official files: the same IDX format as MNIST, gzipped."""
    return write_mnist_idx(folder, n_train, n_test, gz=True)


def write_mnist_pkl(path: str, n_train: int = 20, n_valid: int = 10, n_test: int = 10) -> dict:
    """deeplearning.net's mnist.pkl.gz: gzipped pickle of (train, valid, test), each (float32
    [N, 784] = pixel / 256, int64 [N]). Returns {part: (uint8 images, labels)}."""
    parts, written = [], {}
    for part, n, offset in (("train", n_train, 0), ("valid", n_valid, 5), ("test", n_test, 2)):
        labels = _labels(n, offset).astype(np.int64)
        images = digit_images(labels)
        parts.append((images.reshape(n, 784).astype(np.float32) / 256.0, labels))
        written[part] = (images, labels)
    with gzip.open(path, "wb") as f:
        pickle.dump(tuple(parts), f, protocol=2)
    return written


def write_cifar10(folder: str, n_per_batch: int = 20, n_test: int = 20) -> dict:
    """cifar-10-batches-py/ with data_batch_1..5, test_batch, batches.meta.
    Returns {split: (uint8 HWC images, labels)}."""
    root = os.path.join(folder, "cifar-10-batches-py")
    os.makedirs(root, exist_ok=True)
    train_images, train_labels = [], []
    for i, (name, n) in enumerate([(f"data_batch_{b}", n_per_batch) for b in range(1, 6)] +
                                  [("test_batch", n_test)]):
        labels = _labels(n, offset=i)
        images = digit_images(labels, size=32, channels=3)
        batch = {b"batch_label": name.encode(), b"labels": [int(v) for v in labels],
                 b"data": images.transpose(0, 3, 1, 2).reshape(n, 3072),
                 b"filenames": [f"img_{i}_{k}.png".encode() for k in range(n)]}
        with open(os.path.join(root, name), "wb") as f:
            pickle.dump(batch, f, protocol=2)
        if name == "test_batch":
            test = (images, labels)
        else:
            train_images.append(images)
            train_labels.append(labels)
    names = [b"airplane", b"automobile", b"bird", b"cat", b"deer", b"dog", b"frog", b"horse",
             b"ship", b"truck"]
    with open(os.path.join(root, "batches.meta"), "wb") as f:
        pickle.dump({b"label_names": names, b"num_cases_per_batch": n_per_batch,
                     b"num_vis": 3072}, f, protocol=2)
    return {"train": (np.concatenate(train_images), np.concatenate(train_labels)), "test": test}


def celeba_image(i: int) -> np.ndarray:
    """uint8 [218, 178, 3]: smooth gradients plus a coarse checker, shifted by i."""
    yy, xx = np.mgrid[0:218, 0:178]
    red = xx * 255 // 177
    green = yy * 255 // 217
    blue = ((xx + 3 * i) // 24 + yy // 24) % 2 * 180 + 40
    return np.stack([red, green, blue], axis=-1).astype(np.uint8)


def write_celeba(folder: str, n: int = 12) -> dict:
    """img_align_celeba/000001.jpg..., list_attr_celeba.txt, list_eval_partition.txt.

    Attribute j of image i is 1 when (i + j) % 3 == 0 else -1; partition of image i is
    0, 0, 1, 2 repeating. Returns {"names", "attributes" (int [n, 40] of -1/1), "partitions"}.
    """
    image_dir = os.path.join(folder, "img_align_celeba")
    os.makedirs(image_dir, exist_ok=True)
    names = [f"{i + 1:06d}.jpg" for i in range(n)]
    attributes = np.where((np.arange(n)[:, None] + np.arange(40)[None]) % 3 == 0, 1, -1)
    partitions = [(0, 0, 1, 2)[i % 4] for i in range(n)]
    for i, name in enumerate(names):
        Image.fromarray(celeba_image(i)).save(os.path.join(image_dir, name), quality=95)
    with open(os.path.join(folder, "list_attr_celeba.txt"), "w") as f:
        f.write(f"{n}\n" + " ".join(CELEBA_ATTRIBUTES) + " \n")
        for name, row in zip(names, attributes):
            f.write(name + " " + " ".join(f"{v:2d}" for v in row) + "\n")
    with open(os.path.join(folder, "list_eval_partition.txt"), "w") as f:
        f.writelines(f"{name} {p}\n" for name, p in zip(names, partitions))
    return {"names": names, "attributes": attributes, "partitions": partitions}


def write_efigi(folder: str, n: int = 20, size: int = 255) -> dict:
    """efigi-1.6/EFIGI_attributes.txt ('#' header, PGCname + 17 x (value, inf, sup)) and
    efigi-1.6/png/PGC*.png (size x size RGB). Values are on EFIGI's 0..1 scale in steps of
    0.25 (T is an integer type -6..11). Returns {"names", "fields" (float [n, 51])}."""
    root = os.path.join(folder, "efigi-1.6")
    os.makedirs(os.path.join(root, "png"), exist_ok=True)
    names = [f"PGC{7 * i + 212:07d}" for i in range(n)]
    fields = np.zeros((n, 3 * len(EFIGI_ATTRIBUTES)))
    for a in range(len(EFIGI_ATTRIBUTES)):
        if a == 0:
            value = (np.arange(n) % 18 - 6).astype(float)
            low, high = value - 1, value + 1
        else:
            value = ((np.arange(n) * (a + 1)) % 5) * 0.25
            low, high = np.maximum(value - 0.25, 0), np.minimum(value + 0.25, 1)
        fields[:, 3 * a:3 * a + 3] = np.stack([value, low, high], axis=1)
    with open(os.path.join(root, "EFIGI_attributes.txt"), "w") as f:
        f.write("# EFIGI morphological attributes (test fixture)\n")
        columns = ["PGCname"] + [f"{a}{s}" for a in EFIGI_ATTRIBUTES for s in ("", "_inf", "_sup")]
        f.writelines(f"# {k + 1:3d} {c}\n" for k, c in enumerate(columns))
        for name, row in zip(names, fields):
            f.write(f"{name} " + " ".join(f"{v:6.2f}" for v in row) + "\n")
    yy, xx = np.mgrid[0:size, 0:size]
    for i, name in enumerate(names):
        image = np.stack([(xx + 5 * i) % 256, yy % 256, (xx + yy) // 2 % 256], -1)
        Image.fromarray(image.astype(np.uint8)).save(os.path.join(root, "png", name + ".png"))
    return {"names": names, "fields": fields}
