"""The real split's features, computed once and reused: in memory for every checkpoint an
evaluation session measures, and on disk across sessions.

On a CPU the real side dominates an FID: 10,000 test images through Inception against 2,000
to 10,000 generated ones. Like clean-fid and torch-fidelity, which cache their reference
statistics, the reduced real-side results (mean / covariance, and the feature vectors, logits
or per-class statistics only when a requested metric keeps them) are stored once and read by
every later evaluation.

A stored entry is found by a SHA-256 over everything that determines it: the uint8 images
themselves (and their class ids when per-class statistics are kept), each feature network's
weights file and preprocessing, what is kept, the batch size and the TensorFlow version. A
changed dataset, network or setting therefore misses and recomputes; it is never served stale
values. Entries are written atomically, and an unreadable entry is recomputed and rewritten.
"""

from __future__ import annotations

import hashlib
import os
import sys
import zipfile
from typing import Callable, Optional

import numpy as np

CACHE_ENV = "TFGAN_SUITE_CACHE"

# Per-class Inception statistics are 2048 x 2048 float64 per class; beyond this an entry costs
# more disk than it saves time, so it is kept in memory only.
MAX_ENTRY_BYTES = 1 << 30


def default_directory() -> str:
    """$TFGAN_SUITE_CACHE/real_features, else ~/.cache/tfgan_suite/real_features."""
    root = os.environ.get(CACHE_ENV) or os.path.join(os.path.expanduser("~"), ".cache",
                                                     "tfgan_suite")
    return os.path.join(root, "real_features")


def file_digest(path: str) -> str:
    """SHA-256 of a file's bytes (a feature network's weights)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 24), b""):
            digest.update(block)
    return digest.hexdigest()


def _array_digest(digest, array, chunk_rows=4096) -> None:
    """Hash an array's rows chunk by chunk (a memory-mapped split is read a chunk at a time).
    Arrays rendered on demand (dSprites) name their content with content_fingerprint()."""
    digest.update(f"{len(array)}".encode())
    if hasattr(array, "content_fingerprint"):
        digest.update(array.content_fingerprint().encode())
        return
    for start in range(0, len(array), chunk_rows):
        chunk = np.ascontiguousarray(array[start:start + chunk_rows])
        digest.update(f"{chunk.dtype.str}{chunk.shape[1:]}".encode())
        digest.update(chunk.tobytes())


class RealFeatures:
    """Real-split feature passes ({extractor key: FeaturePass}) of one evaluation session.

    directory: where entries are stored, or None for memory only.
    extractor_ids: {extractor key: text naming the network's weights and preprocessing}; the
        disk is used only when every extractor of a pass has one (an injected extractor of
        unknown identity is kept in memory only).
    """

    def __init__(self, directory: Optional[str] = None, extractor_ids: Optional[dict] = None):
        self.directory = directory
        self.extractor_ids = dict(extractor_ids or {})
        self._memory = {}
        self.last_source = None   # "computed", "memory" or the entry's path, for the log

    def get(self, examples, class_ids, extractors, options: dict, compute: Callable) -> dict:
        """The passes for these images and options: from memory, from disk, or compute()."""
        # In memory, the same images object is recognised without hashing its content (the
        # memo keeps a reference to it, so its id cannot be reused by another array).
        ids_digest = None if class_ids is None else \
            hashlib.sha256(np.ascontiguousarray(class_ids).tobytes()).hexdigest()
        quick = (id(examples), ids_digest, tuple(sorted(extractors)), repr(sorted(options.items())))
        if quick in self._memory:
            self.last_source = "memory"
            return self._memory[quick][1]
        path = self._path(examples, class_ids, extractors, options)
        passes = read(path) if path and os.path.isfile(path) else None
        if passes is not None and set(passes) == set(extractors):
            self.last_source = path
        else:
            passes = compute()
            self.last_source = "computed"
            if path:
                write(path, passes)
        self._memory[quick] = (examples, passes)
        return passes

    def _key(self, examples, class_ids, extractor_keys, options) -> str:
        import tensorflow as tf
        digest = hashlib.sha256()
        _array_digest(digest, examples)
        if class_ids is not None:
            _array_digest(digest, np.asarray(class_ids))
        identity = {k: self.extractor_ids.get(k) for k in extractor_keys}
        digest.update(repr((identity, sorted(options.items()), tf.__version__)).encode())
        return digest.hexdigest()

    def _path(self, examples, class_ids, extractors, options) -> Optional[str]:
        """The entry's file, or None when this pass is kept in memory only (no directory, or
        an extractor of unknown identity); the images are hashed only when it is not."""
        if self.directory is None or any(k not in self.extractor_ids for k in extractors):
            return None
        key = self._key(examples, class_ids, sorted(extractors), options)
        return os.path.join(self.directory, f"{key}.npz")


def _arrays(passes: dict) -> dict:
    arrays = {}
    for name, p in passes.items():
        arrays[f"{name}.mean"], arrays[f"{name}.cov"] = p.stats.mean, p.stats.cov
        arrays[f"{name}.count"] = np.asarray(p.stats.count)
        for field in ("features", "logits"):
            if getattr(p, field) is not None:
                arrays[f"{name}.{field}"] = getattr(p, field)
        if p.class_stats is not None:
            arrays[f"{name}.class_mean"] = np.stack([s.mean for s in p.class_stats])
            arrays[f"{name}.class_cov"] = np.stack([s.cov for s in p.class_stats])
            arrays[f"{name}.class_count"] = np.asarray([s.count for s in p.class_stats])
    return arrays


def write(path: str, passes: dict) -> bool:
    """Store the passes at path (atomically); False when the entry is too large or the
    directory cannot be written (the evaluation goes on without the disk)."""
    arrays = _arrays(passes)
    if sum(a.nbytes for a in arrays.values()) > MAX_ENTRY_BYTES:
        return False
    partial = f"{path}.tmp-{os.getpid()}"
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(partial, "wb") as fh:
            np.savez(fh, **arrays)
        os.replace(partial, path)
        return True
    except OSError as error:
        print(f"warning: real-feature cache not written ({error}); evaluation goes on",
              file=sys.stderr)
        if os.path.exists(partial):
            os.remove(partial)
        return False


def read(path: str) -> Optional[dict]:
    """The passes stored at path, or None when the entry cannot be read (it is recomputed)."""
    from tfgan_suite.evaluate import FeaturePass
    from tfgan_suite.metrics.frechet import GaussianStats
    try:
        with np.load(path, allow_pickle=False) as stored:
            arrays = {name: stored[name] for name in stored.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        print(f"warning: unreadable real-feature cache entry {path} ({error}); recomputing",
              file=sys.stderr)
        return None
    passes = {}
    for name in {k.split(".", 1)[0] for k in arrays}:
        get = lambda field: arrays.get(f"{name}.{field}")  # noqa: E731
        if get("mean") is None or get("cov") is None or get("count") is None:
            return None
        class_stats = None
        if get("class_mean") is not None:
            class_stats = [GaussianStats(m, c, int(n)) for m, c, n in
                           zip(get("class_mean"), get("class_cov"), get("class_count"))]
        passes[name] = FeaturePass(GaussianStats(get("mean"), get("cov"), int(get("count"))),
                                   get("features"), get("logits"), class_stats)
    return passes
