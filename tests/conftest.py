"""Test-session settings: silence warnings raised inside third-party packages, not ours."""


def pytest_configure(config):
    for rule in (
        # tensorflow-probability 0.25 compares versions with distutils at import.
        "ignore:distutils Version classes are deprecated:DeprecationWarning",
        # Keras 3 on NumPy 2 probes __array__(copy=...) on TF tensors.
        "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning",
    ):
        config.addinivalue_line("filterwarnings", rule)
