"""InfoSCC-GAN stage 1 and 2: SimCLR encoder, NT-Xent loss, SimCLR augmentations, linear
attribute classifier (Kinakh et al., Sec. 3.1-3.2; vkinakh/InfoSCC-GAN src/models/resnet_simclr.py,
src/loss/nt_xent_loss.py, src/transform/simclr_transform.py).

- Encoder: backbone -> h (the features the classifier, the Chamfer metric and k-means use) ->
  projection Linear(F, F) - ReLU - Linear(F, 128) -> z (only NT-Xent sees z). Backbones:
  "resnet50" (the paper: Keras ResNet50, no pretrained weights, F = 2048; inputs smaller than
  32 pixels are resized to 32, the least Keras' ResNet50 accepts) and "small" (a CPU-scale
  ResNet: a 3x3 stem and three basic residual blocks of width w, 2w, 4w, F = 4w).
- NT-Xent (Sohn 2016; Chen et al. 2020) with cosine similarity and temperature tau, averaged
  over the 2N anchors, as the original's NTXentLoss.
- Augmentations of the original (torchvision): RandomResizedCrop(scale 0.08-1, ratio 3/4-4/3),
  ColorJitter(0.8, 0.8, 0.8, 0.2) with p 0.8, RandomGrayscale p 0.2, horizontal flip p 0.5,
  GaussianBlur (kernel 2 int(0.05 H) + 1, sigma U(0.1, 2)) with p 0.5, then [-1, 1]. Vectorised
  over the batch from stateless seeds; the jitter runs in a fixed order (torchvision shuffles
  it) and an out-of-bounds crop is clipped to the image (torchvision retries, then centres).
Images reach the encoder in [-1, 1], the units of the data pipeline and of the generator.
"""

from __future__ import annotations

import math

import keras
import tensorflow as tf

from tfgan_suite import randomness
from tfgan_suite.contrastive import cosine_similarity_matrix

BACKBONES = ("resnet50", "small")
RESNET50_MIN_SIDE = 32


# ---------------------------------------------------------------- loss

def nt_xent(z_i, z_j, temperature=0.5):
    """NT-Xent of two views [N, D] each: mean over the 2N anchors of
    -log( exp(cos(a, a+) / tau) / sum_{k != a} exp(cos(a, k) / tau) )."""
    reps = tf.concat([z_j, z_i], axis=0)                     # the original's order
    n2 = tf.shape(reps)[0]
    n = n2 // 2
    logits = cosine_similarity_matrix(reps, reps) / temperature
    logits = logits - 1e9 * tf.eye(n2, dtype=logits.dtype)   # drop k = a
    positives = tf.concat([tf.range(n, n2), tf.range(0, n)], axis=0)
    losses = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=positives, logits=logits)
    return tf.reduce_mean(losses)


# ---------------------------------------------------------------- augmentations

def _per_example(batch, seed, low=0.0, high=1.0):
    return randomness.uniform(tf.stack([batch]), seed, low, high)


def random_resized_crop(x, seed, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3)):
    """Crop area fraction ~ U(scale), aspect ~ logU(ratio), position uniform, resized back."""
    batch, height, width = tf.shape(x)[0], tf.shape(x)[1], tf.shape(x)[2]
    s_area, s_ratio, s_y, s_x = randomness.split(seed, 4)
    area = _per_example(batch, s_area, *scale)
    aspect = tf.exp(_per_example(batch, s_ratio, math.log(ratio[0]), math.log(ratio[1])))
    crop_w = tf.minimum(tf.sqrt(area * aspect), 1.0)        # fractions of the side
    crop_h = tf.minimum(tf.sqrt(area / aspect), 1.0)
    y0 = _per_example(batch, s_y) * (1.0 - crop_h)
    x0 = _per_example(batch, s_x) * (1.0 - crop_w)
    boxes = tf.stack([y0, x0, y0 + crop_h, x0 + crop_w], axis=1)
    return tf.image.crop_and_resize(x, boxes, tf.range(batch), tf.stack([height, width]))


def _gray(x):
    if x.shape[-1] == 1:
        return x
    return tf.reduce_sum(x * tf.constant([0.299, 0.587, 0.114], x.dtype), -1, keepdims=True)


def color_jitter(x, seed, strength=(0.8, 0.8, 0.8, 0.2)):
    """Brightness, contrast, saturation factors ~ U(1 -/+ s), hue shift ~ U(-h, h) per example
    (saturation and hue only for RGB), on [0, 1] images, clipped after each op."""
    b, c, s, h = strength
    batch = tf.shape(x)[0]
    seeds = randomness.split(seed, 4)

    def factor(sd, amount):
        return tf.reshape(_per_example(batch, sd, 1.0 - amount, 1.0 + amount), [-1, 1, 1, 1])

    x = tf.clip_by_value(x * factor(seeds[0], b), 0.0, 1.0)
    mean = tf.reduce_mean(_gray(x), axis=[1, 2, 3], keepdims=True)
    x = tf.clip_by_value((x - mean) * factor(seeds[1], c) + mean, 0.0, 1.0)
    if x.shape[-1] == 3:
        gray = _gray(x)
        x = tf.clip_by_value((x - gray) * factor(seeds[2], s) + gray, 0.0, 1.0)
        hsv = tf.image.rgb_to_hsv(x)
        shift = tf.reshape(_per_example(batch, seeds[3], -h, h), [-1, 1, 1])
        hue = tf.math.floormod(hsv[..., 0] + shift, 1.0)
        x = tf.image.hsv_to_rgb(tf.stack([hue, hsv[..., 1], hsv[..., 2]], axis=-1))
    return x


def gaussian_blur(x, seed, sigma=(0.1, 2.0)):
    """Per-example Gaussian blur, kernel 2 int(0.05 H) + 1 (reflect padding), sigma ~ U(sigma)."""
    size = 2 * int(0.05 * x.shape[1]) + 1
    if size < 3:
        return x
    batch, channels = tf.shape(x)[0], x.shape[-1]
    sig = tf.reshape(_per_example(batch, seed, *sigma), [-1, 1])
    offsets = tf.range(size, dtype=x.dtype)[None, :] - (size // 2)
    g = tf.exp(-0.5 * tf.square(offsets / sig))
    g = g / tf.reduce_sum(g, axis=1, keepdims=True)                     # [B, k]
    kernel = tf.reshape(g[:, :, None] * g[:, None, :], [-1, 1, 1, size * size, 1])
    pad = size // 2
    padded = tf.pad(x, [[0, 0], [pad, pad], [pad, pad], [0, 0]], mode="REFLECT")
    patches = tf.image.extract_patches(padded, [1, size, size, 1], [1, 1, 1, 1], [1, 1, 1, 1],
                                       "VALID")
    patches = tf.reshape(patches, tf.concat([tf.shape(x)[:3], [size * size, channels]], 0))
    return tf.reduce_sum(patches * kernel, axis=3)


def _where_per_example(mask, a, b):
    return tf.where(tf.reshape(mask, [-1, 1, 1, 1]), a, b)


def simclr_view(images, seed, flip=True):
    """One SimCLR view of a batch in [-1, 1] -> [-1, 1] (the original's ContrastiveAugmentor)."""
    s_crop, s_jit, s_jp, s_gray, s_flip, s_blur, s_bp = randomness.split(seed, 7)
    batch = tf.shape(images)[0]
    x = random_resized_crop((images + 1.0) * 0.5, s_crop)
    x = _where_per_example(_per_example(batch, s_jp) < 0.8, color_jitter(x, s_jit), x)
    if x.shape[-1] == 3:
        x = _where_per_example(_per_example(batch, s_gray) < 0.2,
                               tf.tile(_gray(x), [1, 1, 1, 3]), x)
    if flip:
        x = _where_per_example(_per_example(batch, s_flip) < 0.5, tf.reverse(x, [2]), x)
    x = _where_per_example(_per_example(batch, s_bp) < 0.5, gaussian_blur(x, s_blur), x)
    return x * 2.0 - 1.0


# ---------------------------------------------------------------- networks

def _small_backbone(x, width):
    def block(h, filters, stride):
        shortcut = h
        h = keras.layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False)(h)
        h = keras.layers.ReLU()(keras.layers.BatchNormalization()(h))
        h = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False)(h)
        h = keras.layers.BatchNormalization()(h)
        if stride != 1 or shortcut.shape[-1] != filters:
            shortcut = keras.layers.Conv2D(filters, 1, strides=stride, use_bias=False)(shortcut)
            shortcut = keras.layers.BatchNormalization()(shortcut)
        return keras.layers.ReLU()(h + shortcut)

    x = keras.layers.Conv2D(width, 3, padding="same", use_bias=False)(x)
    x = keras.layers.ReLU()(keras.layers.BatchNormalization()(x))
    for filters, stride in ((width, 1), (2 * width, 2), (4 * width, 2)):
        x = block(x, filters, stride)
    return keras.layers.GlobalAveragePooling2D()(x)


def build_encoder(image_shape, backbone="resnet50", width=32, projection_dim=128):
    """keras.Model images [-1, 1] -> (h [B, F], z [B, projection_dim])."""
    inputs = keras.Input(tuple(image_shape))
    if backbone == "resnet50":
        x = inputs
        side = max(RESNET50_MIN_SIDE, image_shape[0])
        if image_shape[0] < RESNET50_MIN_SIDE:
            x = keras.layers.Resizing(side, side)(x)
        net = keras.applications.ResNet50(include_top=False, weights=None, pooling="avg",
                                          input_shape=(side, side, image_shape[2]))
        h = net(x)
    elif backbone == "small":
        h = _small_backbone(inputs, width)
    else:
        raise ValueError(f"unknown backbone {backbone!r}; choose one of {BACKBONES}")
    features = h.shape[-1]
    z = keras.layers.Dense(features, activation="relu", name="projection_1")(h)
    z = keras.layers.Dense(projection_dim, name="projection_2")(z)
    return keras.Model(inputs, [h, z], name="simclr_encoder")


def build_classifier(feature_dim, n_out):
    """The one-layer linear attribute classifier on frozen features (logits)."""
    inputs = keras.Input((feature_dim,))
    return keras.Model(inputs, keras.layers.Dense(n_out, name="linear")(inputs),
                       name="attribute_classifier")


def classification_loss(logits, labels, label_kind):
    """CE for one-hot classes, BCE for multi-label binary attributes (paper Sec. 3.2-3.3)."""
    if label_kind == "onehot":
        return tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels, logits))
    return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels, logits))


def l2_penalty(variables):
    """sum w^2 / 2: with weight wd its gradient is wd * w, PyTorch Adam's weight_decay."""
    return tf.add_n([tf.nn.l2_loss(v) for v in variables])
