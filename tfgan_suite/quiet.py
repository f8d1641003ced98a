"""Import TensorFlow without its start-up notices.

TensorFlow writes several notices to stderr while it loads and initialises its devices - that it
found no CUDA driver, that oneDNN is on, that the binary could use more CPU instructions - and
does so before its logging is configured, so TF_CPP_MIN_LOG_LEVEL does not filter them. On a
CPU-only machine they look like failures. `import_tensorflow()` runs the import and the device
initialisation with file descriptor 2 redirected to a temporary file, then writes back every
line except those known notices. TFGAN_VERBOSE=1 keeps everything.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile

HARMLESS = re.compile("|".join([
    r"All log messages before absl::InitializeLog\(\) is called",
    r"oneDNN custom operations are on",
    r"Could not find cuda drivers",
    r"failed call to cuInit",
    r"cpu_feature_guard",
    r"To enable the following instructions",
    r"rebuild TensorFlow with the appropriate compiler flags",
    r"TF-TRT Warning",
    r"Unable to register cu(DNN|FFT|BLAS) factory",
    r"computation placer already registered",
]))


def filter_lines(text: str) -> str:
    """`text` without the harmless start-up notices (whole lines)."""
    return "".join(line for line in text.splitlines(keepends=True) if not HARMLESS.search(line))


def import_tensorflow():
    """Import TensorFlow (and initialise its devices) quietly; returns the module."""
    return start_tensorflow()[0]


def start_tensorflow(setup=None):
    """(module, setup() or None): import TensorFlow quietly, run `setup` - what must precede the
    device initialisation, such as logical CPU devices or a tf.distribute strategy - then
    initialise the devices."""
    if os.environ.get("TFGAN_VERBOSE") or "tensorflow" in sys.modules:
        import tensorflow as tf
        return tf, setup() if setup else None
    result = None
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow as tf
            if setup:
                result = setup()
            tf.config.list_logical_devices()  # device initialisation (the CUDA probe) happens here
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            kept = filter_lines(captured.read().decode("utf-8", "replace"))
            if kept:
                sys.stderr.write(kept)
                sys.stderr.flush()
    return tf, result
