"""Every entry point turns TensorFlow's oneDNN CPU kernels on unless the user said otherwise:
TensorFlow enables them by default only on CPUs with AVX-512 VNNI/BF16 or AMX, and leaves the
about 3x slower default kernels on older (AVX2) CPUs."""

import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# On CPUs where TensorFlow enables oneDNN itself the kernel check alone would pass anyway, so
# the probe also reports the variable the package set before TensorFlow was imported.
PROBE = ("import os; from tensorflow.python.util import _pywrap_util_port; "
         "print('onednn', _pywrap_util_port.IsMklEnabled(), os.environ['TF_ENABLE_ONEDNN_OPTS'])")
# Import the entry points' modules as `python -m` / the tools would, then ask TensorFlow.
ENTRY_POINTS = ["tfgan_suite.train", "tfgan_suite.export", "tfgan_suite.generate",
                "tfgan_suite.evaluate", "tfgan_suite.benchmark", "tfgan_suite.reproduce"]
TOOLS = ["tools/benchmark.py", "tools/train_domain_classifier.py", "tools/prepare_celeba.py"]


def probe(code, env_value=None):
    env = {k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"}
    if env_value is not None:
        env["TF_ENABLE_ONEDNN_OPTS"] = env_value
    env["PYTHONPATH"] = REPO
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         cwd=REPO, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.strip().splitlines()[-1]


def test_entry_points_enable_onednn():
    # `python -m tfgan_suite.<cli>` runs the package's __init__ before the module itself.
    imports = "; ".join(f"import {module}" for module in ENTRY_POINTS)
    assert probe(f"{imports}; {PROBE}") == "onednn True 1"


@pytest.mark.parametrize("path", TOOLS)
def test_tools_enable_onednn(path):
    # Loaded as `python tools/<name>.py` loads it (its folder first on sys.path), not run.
    code = (f"import runpy, sys; sys.path.insert(0, 'tools'); "
            f"runpy.run_path({path!r}, run_name='not_main')")
    assert probe(f"{code}; {PROBE}") == "onednn True 1"


def test_the_users_choice_is_kept():
    assert probe(f"import tfgan_suite.train; {PROBE}", env_value="0") == "onednn False 0"


def test_deterministic_turns_onednn_off_unless_the_user_chose():
    code = ("import tfgan_suite, tfgan_suite.train; "
            "assert tfgan_suite.reproducible_cpu_kernels() is {}; ")
    assert probe(code.format(True) + PROBE) == "onednn False 0"
    assert probe(code.format(False) + PROBE, env_value="1") == "onednn True 1"
