"""tfgan_suite: conditional and unsupervised-conditional GANs in TensorFlow 2 / Keras 3.

Models: cWGAN-GP (Fabbri et al.), SLOGAN (Hwang et al.); see README.md.

Importing the package sets two TensorFlow environment defaults before TensorFlow itself is
imported (a value the user exported is always kept):
- TF_ENABLE_ONEDNN_OPTS=1: TensorFlow enables its oneDNN CPU kernels by default only on CPUs
  with AVX-512 VNNI/BF16 or AMX; on AVX2-only CPUs convolutions otherwise run on kernels about
  3x slower. Set TF_ENABLE_ONEDNN_OPTS=0 to get TensorFlow's own choice back. `train
  --deterministic` turns them off instead (reproducible_cpu_kernels).
- TF_CPP_MIN_LOG_LEVEL=3 on machines without an NVIDIA device node: hides the C++ notices of
  TensorFlow's GPU probing ("Could not find cuda drivers") that mean nothing there. Set
  TFGAN_VERBOSE=1 (or TF_CPP_MIN_LOG_LEVEL yourself) to see them.
"""

import glob
import os


_ONEDNN = "TF_ENABLE_ONEDNN_OPTS"
_ONEDNN_FROM_USER = _ONEDNN in os.environ   # read before the default below is set


def _set_tensorflow_environment():
    if "tensorflow" in __import__("sys").modules:
        return  # too late to change what TensorFlow read at import
    os.environ.setdefault(_ONEDNN, "1")
    if not os.environ.get("TFGAN_VERBOSE") and not glob.glob("/dev/nvidia[0-9]*"):
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


_set_tensorflow_environment()


def reproducible_cpu_kernels() -> bool:
    """For --deterministic, before TensorFlow is imported: turn oneDNN's CPU kernels off
    (TF_ENABLE_ONEDNN_OPTS=0), unless the user set that variable. With oneDNN, two runs of one
    command occasionally part in the last bits under load (README, Resume: 2 of 8 runs side by
    side, none of 24 without it). Returns whether oneDNN is off."""
    if not _ONEDNN_FROM_USER and "tensorflow" not in __import__("sys").modules:
        os.environ[_ONEDNN] = "0"
    return os.environ.get(_ONEDNN) == "0"

__version__ = "0.2.0"
