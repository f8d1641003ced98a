"""--download: official files fetched over HTTP (a local server here), MD5-checked, atomic."""

import functools
import http.server
import os
import threading

import numpy as np
import pytest

from tests import fixtures
from tfgan_suite import data
from tfgan_suite.data import download as dl
from tfgan_suite.errors import UserError


@pytest.fixture()
def server(tmp_path):
    """An HTTP server on 127.0.0.1 serving tmp_path/served."""
    served = tmp_path / "served"
    served.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield served, f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()


def local_mnist_source(served, url):
    fixtures.write_mnist_idx(str(served), n_train=30, n_test=20, gz=True)
    md5 = {name: dl.md5_of(os.path.join(served, name)) for name in dl.MNIST_FILES}
    return {"mnist": dl.Source(url, md5)}


def test_download_then_load(server, tmp_path):
    served, url = server
    sources = local_mnist_source(served, url)
    target = tmp_path / "mnist"
    fetched = dl.download("mnist2", str(target), sources=sources)
    assert sorted(os.path.basename(f) for f in fetched) == sorted(dl.MNIST_FILES)
    assert dl.download("mnist", str(target), sources=sources) == []   # intact files are kept
    source = data.load_dataset("mnist", str(target), "train")
    assert len(source) == 30 and source.examples.dtype == np.uint8


def test_checksum_mismatch_keeps_nothing(server, tmp_path):
    served, url = server
    sources = local_mnist_source(served, url)
    bad = {"mnist": dl.Source(url, {**sources["mnist"].md5, "t10k-labels-idx1-ubyte.gz": "0" * 32})}
    with pytest.raises(UserError, match="published"):
        dl.download("mnist", str(tmp_path / "mnist"), sources=bad)
    assert "t10k-labels-idx1-ubyte.gz" not in os.listdir(tmp_path / "mnist")
    assert not [n for n in os.listdir(tmp_path / "mnist") if n.startswith(".download-")]


def test_unreachable_source_and_unsupported_dataset(tmp_path):
    sources = {"mnist": dl.Source("http://127.0.0.1:9/", dl.MNIST_FILES)}
    with pytest.raises(UserError, match="could not download"):
        dl.download("mnist", str(tmp_path / "m"), sources=sources, timeout=5)
    with pytest.raises(UserError, match="download it by hand"):
        dl.download("celeba", str(tmp_path / "c"))


def test_cifar_archive_is_extracted(server, tmp_path):
    import tarfile
    served, url = server
    fixtures.write_cifar10(str(tmp_path / "raw"), n_per_batch=10, n_test=10)
    with tarfile.open(served / "cifar-10-python.tar.gz", "w:gz") as tar:
        tar.add(tmp_path / "raw" / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    sources = {"cifar10": dl.Source(url, {"cifar-10-python.tar.gz":
                                          dl.md5_of(served / "cifar-10-python.tar.gz")},
                                    archive_folder="cifar-10-batches-py")}
    dl.download("cifar2", str(tmp_path / "cifar"), sources=sources)
    assert len(data.load_dataset("cifar10", str(tmp_path / "cifar"), "test")) == 10
