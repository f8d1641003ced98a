"""What machine a run or a measurement ran on: CPU model, vector extensions, oneDNN, threads,
TensorFlow version, GPUs. Recorded in every run directory and printed beside every speed
figure, because the same step differs about 10x between CPU generations."""

from __future__ import annotations

import os
import platform


def _cpuinfo_field(name: str) -> str | None:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.startswith(name):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def cpu_model() -> str:
    return _cpuinfo_field("model name") or platform.processor() or platform.machine()


def cpu_flags() -> set[str]:
    return set((_cpuinfo_field("flags") or "").split())


def vector_extensions() -> dict:
    """AVX2 / AVX-512 / AMX presence (Linux /proc/cpuinfo; empty elsewhere)."""
    flags = cpu_flags()
    return {"avx2": "avx2" in flags, "avx512f": "avx512f" in flags,
            "avx512_bf16": "avx512_bf16" in flags, "amx": "amx_tile" in flags}


def onednn_enabled() -> bool | None:
    """Whether TensorFlow runs its oneDNN kernels (None if TensorFlow cannot say)."""
    try:
        from tensorflow.python.util import _pywrap_util_port
        return bool(_pywrap_util_port.IsMklEnabled())
    except Exception:  # pragma: no cover - private API; absent in other builds
        return None


def describe() -> dict:
    """A JSON-able description of this machine and TensorFlow's configuration (imports TF)."""
    import tensorflow as tf

    return {
        "cpu": cpu_model(),
        "logical_cpus": os.cpu_count(),
        **vector_extensions(),
        "onednn": onednn_enabled(),
        "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
        "inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
        "tensorflow": tf.__version__,
        "gpus": [d.name for d in tf.config.list_physical_devices("GPU")],
    }


def one_line(info: dict | None = None) -> str:
    """'Intel Xeon ... (2 CPUs, AVX-512), oneDNN on, TF 2.21.0' for consoles and reports."""
    info = info or describe()
    isa = "AMX" if info["amx"] else "AVX-512" if info["avx512f"] else \
        "AVX2" if info["avx2"] else "no AVX2"
    onednn = {True: "on", False: "off", None: "unknown"}[info["onednn"]]
    gpus = f", GPUs: {len(info['gpus'])}" if info["gpus"] else ", no GPU"
    return (f"{info['cpu']} ({info['logical_cpus']} CPUs, {isa}), oneDNN {onednn}, "
            f"TF {info['tensorflow']}{gpus}")
