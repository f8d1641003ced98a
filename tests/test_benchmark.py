"""The analytic FLOP count against a hand count, and the benchmark on a tiny configuration."""

import keras
import pytest
from absl import flags

from tfgan_suite import benchmark, config as config_lib, flops


def test_layer_flops_match_a_hand_count():
    x = keras.Input((8, 8, 3))
    h = keras.layers.Conv2D(4, 3, strides=2, padding="same")(x)        # 4x4 out x 3x3x3x4
    h = keras.layers.Conv2DTranspose(2, 5, strides=2, padding="same")(h)  # 4x4 in x 5x5x4x2
    h = keras.layers.Flatten()(h)
    y = keras.layers.Dense(7)(h)                                          # 8*8*2 x 7
    model = keras.Model(x, y)
    macs = 4 * 4 * 3 * 3 * 3 * 4 + 4 * 4 * 5 * 5 * 4 * 2 + 8 * 8 * 2 * 7
    assert flops.model_macs(model) == macs
    assert flops.forward_flops(model) == 2 * macs


def test_cwgan_iteration_count_follows_algorithm_1():
    flags.FLAGS.unparse_flags()
    flags.FLAGS(["benchmark", "--dataset=mnist5k"])
    from tfgan_suite import data
    from tfgan_suite.models import build_model
    model = build_model(config_lib.resolve(flags.FLAGS), data.describe("mnist5k"))
    f_g, f_d = flops.forward_flops(model.generator), flops.forward_flops(model.critic)
    per_example = 5 * (f_g + 6 * f_d + 4 * f_d) + (3 * f_g + 2 * f_d)
    assert flops.iteration_flops(model, 64) == 64 * per_example
    # The paper's MNIST networks: about 374 GFLOP per iteration at batch 64.
    assert flops.iteration_flops(model, 64) / 1e9 == pytest.approx(373.6, rel=1e-3)


def test_benchmark_reports_fit_bare_flops_and_mfu():
    flags.FLAGS.unparse_flags()
    flags.FLAGS(["benchmark", "--model=slogan", "--dataset=gaussians8", "--batch_size=16",
                 "--steps_per_execution=2"])
    result = benchmark.run(config_lib.resolve(flags.FLAGS), iterations=2, repeat=2,
                           peak_seconds=0.2)
    for key in ("fit_s_per_iteration", "bare_s_per_iteration"):
        assert len(result[key]["all"]) == 2 and result[key]["median"] > 0
    assert result["model_gflop_per_iteration"] > 0 and result["peak_gflops"] > 0
    assert 0 < result["mfu"]["bare"] < 1
    assert result["machine"]["tensorflow"] and "oneDNN" in result["cpu_line"]
    assert "MFU" in benchmark.text_report(result)
