"""SLOGAN's ResGAN for colour images: Tables 14 (CIFAR, 32x32) and 15 (CelebA, 64x64) of Hwang et
al., with the details of the original TF1 code (shinyflight/SLOGAN, slogan_cifar2.py).

G: Dense(s/8 * s/8 * 128) -> reshape -> 3 x "Resblock Up" -> BN -> ReLU -> Conv3(3) -> tanh.
D: "Resblock Down" blocks until 8x8 (the first one the optimised block), plain blocks up to four
blocks in all -> ReLU -> global MEAN pool -> Dense(1).  E: D's body with a Dense(feature_dim) head.
All blocks have 128 channels; D and E have no normalisation and no spectral norm (as the original);
3x3 convolutions are he_uniform, 1x1 shortcuts and the output convolution glorot_uniform, Dense
layers glorot_uniform (tf.layers defaults); every layer has a bias.

Resblocks (Figure 23 / Gulrajani et al.'s pre-activation blocks, as the original code):
  up:        x -> BN-ReLU-upsample-Conv3-BN-ReLU-Conv3,  shortcut upsample-Conv1x1
  down:      x -> ReLU-Conv3-ReLU-Conv3-meanpool,       shortcut Conv1x1-meanpool
  optimised: x -> Conv3-ReLU-Conv3-meanpool,             shortcut meanpool-Conv1x1
  plain:     x -> ReLU-Conv3-ReLU-Conv3,                  shortcut identity
Upsampling is nearest neighbour (the original's concat + depth_to_space), pooling 2x2 average.
"""

from __future__ import annotations

import keras
from keras import layers

CHANNELS = 128
# Both tables end the generator's upsampling at the image size after three up-blocks and the
# critic's downsampling at 8x8 after four blocks in all.
NUM_UP_BLOCKS = 3
NUM_CRITIC_BLOCKS = 4
CRITIC_FINAL_SIZE = 8


def tf1_batch_norm(name):
    """BatchNormalization with the original's tf.contrib.layers.batch_norm(decay=0.9, eps=1e-5).

    TF1 `decay` and Keras `momentum` share one meaning: moving = m * moving + (1 - m) * batch.
    (The original's zero_debias_moving_mean only changes the moving mean in the first few dozen
    updates; Keras has no such option.)
    """
    return layers.BatchNormalization(momentum=0.9, epsilon=1e-5, name=name)


def _conv3(filters, name):
    return layers.Conv2D(filters, 3, padding="same", kernel_initializer="he_uniform", name=name)


def _conv1(name):
    return layers.Conv2D(CHANNELS, 1, kernel_initializer="glorot_uniform", name=name)


def _up_block(x, name):
    """Table 14 "Resblock Up" (pre-activation, BN)."""
    h = layers.ReLU(name=f"{name}_relu1")(tf1_batch_norm(f"{name}_bn1")(x))
    h = _conv3(CHANNELS, f"{name}_conv1")(layers.UpSampling2D(2, name=f"{name}_up")(h))
    h = layers.ReLU(name=f"{name}_relu2")(tf1_batch_norm(f"{name}_bn2")(h))
    h = _conv3(CHANNELS, f"{name}_conv2")(h)
    # The original upsamples before the 1x1 conv; both are linear and per-pixel, so they commute
    # exactly and convolving first costs a quarter of the work.
    skip = layers.UpSampling2D(2, name=f"{name}_skip_up")(_conv1(f"{name}_skip_conv")(x))
    return layers.Add(name=f"{name}_out")([skip, h])


def _optimised_block(x, name):
    """First critic block: no activation on the raw image (the optimised block of the original)."""
    h = _conv3(CHANNELS, f"{name}_conv1")(x)
    h = _conv3(CHANNELS, f"{name}_conv2")(layers.ReLU(name=f"{name}_relu")(h))
    h = layers.AveragePooling2D(2, name=f"{name}_pool")(h)
    skip = _conv1(f"{name}_skip_conv")(layers.AveragePooling2D(2, name=f"{name}_skip_pool")(x))
    return layers.Add(name=f"{name}_out")([skip, h])


def _critic_block(x, name, downsample):
    """Table 14 "Resblock Down" (downsample=True) or "Resblock" (identity shortcut); no norm."""
    h = _conv3(CHANNELS, f"{name}_conv1")(layers.ReLU(name=f"{name}_relu1")(x))
    h = _conv3(CHANNELS, f"{name}_conv2")(layers.ReLU(name=f"{name}_relu2")(h))
    if not downsample:
        return layers.Add(name=f"{name}_out")([x, h])
    h = layers.AveragePooling2D(2, name=f"{name}_pool")(h)
    # The original convolves then pools; the two commute exactly (both linear), pooling first
    # is cheaper.
    skip = _conv1(f"{name}_skip_conv")(layers.AveragePooling2D(2, name=f"{name}_skip_pool")(x))
    return layers.Add(name=f"{name}_out")([skip, h])


def _image_size(image_shape):
    """Side length s of a square image with s = 8 * 2**k, 1 <= k <= 4 (32: Table 14, 64: 15)."""
    height, width, _ = image_shape
    valid = [CRITIC_FINAL_SIZE * 2 ** k for k in range(1, NUM_CRITIC_BLOCKS + 1)]
    if height != width or height not in valid:
        raise ValueError(f"ResGAN needs square images of side {valid}, not {height}x{width}")
    return height


def resgan_generator(latent_dim, image_shape, name="generator"):
    """G(z) -> images in [-1, 1] (Table 14: Linear 2048 = 4*4*128; Table 15: Linear 8192)."""
    base = _image_size(image_shape) // 2 ** NUM_UP_BLOCKS
    z = keras.Input((latent_dim,), name="z")
    h = layers.Dense(base * base * CHANNELS, name="project")(z)
    h = layers.Reshape((base, base, CHANNELS), name=f"to_{base}x{base}x{CHANNELS}")(h)
    for i in range(NUM_UP_BLOCKS):
        h = _up_block(h, f"up{i + 1}")
    h = layers.ReLU(name="out_relu")(tf1_batch_norm("out_bn")(h))
    h = layers.Conv2D(image_shape[-1], 3, padding="same", kernel_initializer="glorot_uniform",
                      name="to_image")(h)
    images = layers.Activation("tanh", name="tanh")(h)
    return keras.Model(z, images, name=name)


def _critic_body(x, image_size):
    """Blocks shared by D and E, ending in ReLU + global average pooling (the original's
    reduce_mean over height and width)."""
    num_down = (image_size // CRITIC_FINAL_SIZE).bit_length() - 1
    h = _optimised_block(x, "block1")
    for i in range(2, NUM_CRITIC_BLOCKS + 1):
        h = _critic_block(h, f"block{i}", downsample=i <= num_down)
    h = layers.ReLU(name="out_relu")(h)
    return layers.GlobalAveragePooling2D(name="global_mean")(h)


def resgan_discriminator(image_shape, name="discriminator"):
    """D(x) -> one unbounded score per image (Tables 14/15, "Linear 1")."""
    x = keras.Input(tuple(image_shape), name="x")
    score = layers.Dense(1, name="score")(_critic_body(x, _image_size(image_shape)))
    return keras.Model(x, score, name=name)


def resgan_encoder(image_shape, feature_dim, name="encoder"):
    """E(x) -> feature vector (Tables 14/15, "Linear 128"); same body as D, own weights."""
    x = keras.Input(tuple(image_shape), name="x")
    features = layers.Dense(feature_dim, name="features")(_critic_body(x, _image_size(image_shape)))
    return keras.Model(x, features, name=name)
