"""Alias of `python -m tfgan_suite.benchmark` (see its docstring):

    python tools/benchmark.py --model=cwgan --dataset=celeba --iterations=4
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app  # noqa: E402

from tfgan_suite import benchmark  # noqa: E402

if __name__ == "__main__":
    app.run(benchmark.main)
