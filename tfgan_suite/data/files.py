"""Checks on a dataset's files that turn a missing path into a UserError saying what to fix."""

from __future__ import annotations

import gzip
import os
from typing import Optional

from tfgan_suite.errors import UserError


def require_data_dir(data_dir: Optional[str], dataset: str, expected: str) -> str:
    """The dataset folder, checked to exist and hold something; `expected` describes its layout."""
    if not data_dir:
        raise UserError(f"dataset {dataset!r} reads files from disk: pass data_dir (--data_dir) "
                        f"pointing at a folder that holds {expected}")
    if not os.path.isdir(data_dir):
        raise UserError(f"data_dir {data_dir!r} for dataset {dataset!r} does not exist or is not a "
                        f"folder: point --data_dir at a folder that holds {expected}")
    if not os.listdir(data_dir):
        raise UserError(f"data_dir {data_dir!r} for dataset {dataset!r} is empty: download or "
                        f"extract the dataset there so that it holds {expected}")
    return data_dir


def require_path(path: str, dataset: str, what: str, is_dir: bool = False) -> str:
    """`path` must exist (a folder when is_dir); `what` says what it holds and where it is from."""
    exists = os.path.isdir(path) if is_dir else os.path.isfile(path)
    if not exists:
        kind = "folder" if is_dir else "file"
        raise UserError(f"{dataset}: {kind} {path!r} is missing; it should hold {what}")
    return path


def find_plain_or_gz(folder: str, name: str) -> Optional[str]:
    """folder/name or folder/name.gz, whichever exists (plain first), else None."""
    for candidate in (name, name + ".gz"):
        path = os.path.join(folder, candidate)
        if os.path.isfile(path):
            return path
    return None


def read_bytes(path: str) -> bytes:
    """The file's bytes, gunzipped when the name ends in .gz."""
    try:
        if path.endswith(".gz"):
            with gzip.open(path, "rb") as f:
                return f.read()
        with open(path, "rb") as f:
            return f.read()
    except (OSError, EOFError) as e:  # gzip raises BadGzipFile (an OSError) or EOFError
        raise UserError(f"cannot read {path!r} ({e}); download it again") from None
