"""Content identity of a prepared-data cache: what the cached pixels were computed from.

A cache file is only as good as the inputs it was built from. Its shape says nothing about
*which* images went in, so a cache shared between two data directories (one --cache_dir), or
left behind after the images were replaced, would silently feed the wrong pixels. Each cache
therefore has a sidecar `<cache>.key.json` holding the key it was built with; a cache whose
key differs from the current one is stale and is rebuilt.

The key holds everything that decides the pixels and nothing else (labels are read from their
text files on every load, so they need no key):
  source     the real path of the data directory
  images     count and a SHA-1 over (name, size, mtime_ns) of every image, in cache order
  options    the preprocessing: crop box, output size, partitions, decoder
  version    the suite version and the cache format number (bumped when decoding changes)

Sizes and mtimes are what `make` and rsync trust: replacing a file's content changes its
mtime unless the writer goes out of its way to restore it.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Optional

import tfgan_suite

# Bump when the decoding or resizing of cached images changes, so old caches are rebuilt.
CACHE_FORMAT = 1
KEY_SUFFIX = ".key.json"


def file_fingerprint(paths: list) -> dict:
    """Count and SHA-1 of (base name, size, mtime_ns) of `paths` in the given order."""
    digest = hashlib.sha1()
    for path in paths:
        stat = os.stat(path)
        digest.update(f"{os.path.basename(path)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return {"count": len(paths), "sha1": digest.hexdigest()}


def make_key(source_dir: str, image_paths: list, **options) -> dict:
    """The identity of a cache built from `image_paths` (under `source_dir`) with `options`."""
    return {"source": os.path.realpath(source_dir), "images": file_fingerprint(image_paths),
            "options": json.loads(json.dumps(options)),  # tuples -> lists, as read back
            "suite_version": tfgan_suite.__version__, "format": CACHE_FORMAT}


def key_path(cache_path: str) -> str:
    return cache_path + KEY_SUFFIX


def read_key(cache_path: str) -> Optional[dict]:
    """The key a cache was built with, or None when absent or unreadable (then it is stale)."""
    try:
        with open(key_path(cache_path), encoding="utf-8") as fh:
            key = json.load(fh)
    except (OSError, ValueError):
        return None
    return key if isinstance(key, dict) else None


def stale_reason(stored: Optional[dict], current: dict) -> Optional[str]:
    """None when `stored` equals `current`, else a few words saying what changed."""
    if stored is None:
        return "no key file"
    changed = [field for field in current if stored.get(field) != current[field]]
    if not changed:
        return None
    words = {"source": "another data directory", "images": "the images changed",
             "options": "other preprocessing options", "suite_version": "another suite version",
             "format": "another cache format"}
    return ", ".join(words.get(field, field) for field in changed)


def write_key(cache_path: str, key: dict) -> None:
    """Write the sidecar atomically (temporary file renamed into place)."""
    from tfgan_suite.config import write_json_atomic
    write_json_atomic(key_path(cache_path), key)


def forget_key(cache_path: str) -> None:
    """Remove the sidecar before a cache is replaced, so a crash between the two renames
    leaves a cache without a key (rebuilt next time) rather than a key vouching for old data."""
    try:
        os.unlink(key_path(cache_path))
    except FileNotFoundError:
        pass
