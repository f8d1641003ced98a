"""Test-session settings: silence warnings raised inside third-party packages, not ours, and
keep the evaluation cache of real-split features out of the user's home directory."""

import os
import shutil
import tempfile


def pytest_configure(config):
    config.tfgan_suite_cache = tempfile.mkdtemp(prefix="tfgan_suite_test_cache_")
    os.environ["TFGAN_SUITE_CACHE"] = config.tfgan_suite_cache
    for rule in (
        # tensorflow-probability 0.25 compares versions with distutils at import.
        "ignore:distutils Version classes are deprecated:DeprecationWarning",
        # Keras 3 on NumPy 2 probes __array__(copy=...) on TF tensors.
        "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning",
    ):
        config.addinivalue_line("filterwarnings", rule)


def pytest_unconfigure(config):
    shutil.rmtree(getattr(config, "tfgan_suite_cache", ""), ignore_errors=True)
