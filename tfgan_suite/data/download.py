"""Download the datasets that have a standard public source, into --data_dir, in their
official layout (so the loaders read them exactly as a hand-made copy).

MNIST (the torchvision mirror of the LeCun files), Fashion-MNIST (Zalando's repository) and
CIFAR-10 (Krizhevsky's python archive), each checked against its published MD5. CelebA (Google
Drive behind a confirmation page) and EFIGI have no such source: download them by hand.
Files are written under a temporary name and renamed once verified, so an interrupted or
corrupt download never leaves a file the loaders would trust; files already present and
intact are not fetched again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request

from tfgan_suite.errors import UserError


@dataclasses.dataclass(frozen=True)
class Source:
    base_url: str
    md5: dict            # file name -> published MD5
    archive_folder: str = ""   # for a .tar.gz: the folder it extracts to


MNIST_FILES = {"train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
               "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
               "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
               "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c"}
SOURCES = {
    "mnist": Source("https://ossci-datasets.s3.amazonaws.com/mnist/", MNIST_FILES),
    "fmnist": Source("https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/"
                     "data/fashion/",
                     {"train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
                      "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
                      "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
                      "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310"}),
    "cifar10": Source("https://www.cs.toronto.edu/~kriz/",
                      {"cifar-10-python.tar.gz": "c58f30108f718f92721af3b95e74349a"},
                      archive_folder="cifar-10-batches-py"),
}
# Registry names -> the source their files come from.
DATASET_SOURCES = {"mnist": "mnist", "mnist2": "mnist", "fmnist": "fmnist", "fmnist5": "fmnist",
                   "cifar10": "cifar10", "cifar2": "cifar10"}


def md5_of(path: str) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _fetch(url: str, target: str, md5: str, timeout: float):
    folder = os.path.dirname(target)
    fd, tmp = tempfile.mkstemp(prefix=".download-", dir=folder)
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
            shutil.copyfileobj(response, out)
        got = md5_of(tmp)
        if got != md5:
            raise UserError(f"{url} arrived with MD5 {got}, not the published {md5}; nothing was "
                            f"kept. Try again, or download it by hand into {folder}")
        os.replace(tmp, target)
    except (urllib.error.URLError, OSError, TimeoutError) as e:
        raise UserError(f"could not download {url} ({e}); check the connection or download it by "
                        f"hand into {folder}") from None
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _extract(archive: str, folder: str, member_folder: str):
    """Extract into a temporary folder, then rename the dataset folder into place."""
    tmp = tempfile.mkdtemp(prefix=".extract-", dir=folder)
    try:
        with tarfile.open(archive) as tar:
            tar.extractall(tmp, filter="data")
        os.replace(os.path.join(tmp, member_folder), os.path.join(folder, member_folder))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def download(dataset: str, data_dir: str, sources=None, timeout: float = 60.0) -> list:
    """Make sure `data_dir` holds `dataset`'s official files; returns the files fetched."""
    sources = SOURCES if sources is None else sources
    if dataset not in DATASET_SOURCES:
        raise UserError(f"--download: {dataset} has no standard download source here; download "
                        f"it by hand (see the README's dataset table). Datasets it can fetch: "
                        f"{', '.join(DATASET_SOURCES)}")
    if not data_dir:
        raise UserError("--download needs --data_dir: the folder to download into")
    source = sources[DATASET_SOURCES[dataset]]
    os.makedirs(data_dir, exist_ok=True)
    if source.archive_folder and os.path.isdir(os.path.join(data_dir, source.archive_folder)):
        return []
    fetched = []
    for name, md5 in source.md5.items():
        target = os.path.join(data_dir, name)
        if os.path.isfile(target) and md5_of(target) == md5:
            continue
        print(f"downloading {source.base_url + name}")
        _fetch(source.base_url + name, target, md5, timeout)
        fetched.append(target)
    if source.archive_folder:
        (archive,) = source.md5
        _extract(os.path.join(data_dir, archive), data_dir, source.archive_folder)
    return fetched
