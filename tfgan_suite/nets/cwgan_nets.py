"""cWGAN-GP generator and critic (Fabbri et al., Fig. 2 and Appendix tables; cameronfabbri/cWGANs).

64x64 (CelebA, EFIGI): Dense(z ++ y -> 4x4x512, linear) -> 3 x [ConvT k5 s2 (512, 256, 128),
no bias, N(0, 0.02) -> BN -> ReLU] -> ConvT(3, k5, s2, bias) -> tanh.  Critic: y tiled over every
pixel as extra channels -> Conv k5 s2 (64, 128, 256, 512) + LeakyReLU(0.2), no normalisation ->
Conv(1, k4, s1) map -> mean.  With 9 attributes: G 11,561,219 and D 4,329,153 parameters, as the
original.  28x28 (MNIST): Dense(z ++ y -> 4x4x512) -> BN -> ReLU -> ConvT (256, 128, 1) ->
crop the top-left 28x28 (the original's crop of the 32x32 output).

BatchNorm follows the original's tf.contrib settings: decay 0.999, eps 1e-3, beta only (no gamma).

`channel_scale` scales every hidden layer's channels (1.0: the paper's networks; the quick start uses
narrower ones to train in minutes on a CPU).

`aux_outputs` > 0 adds an auxiliary classifier head to the critic (AC-GAN, Odena et al. 2017, as
the conditional CIFAR-10 model of Gulrajani et al. 2017, igul222/improved_wgan_training): a Dense
layer on the flattened last feature map, giving class logits beside the score. Off in the paper.
"""

from __future__ import annotations

import keras
from keras import layers

Z_DIM = 100


def _conv_init():
    return keras.initializers.RandomNormal(stddev=0.02)


def _batch_norm(momentum, name):
    # tf.contrib.layers.batch_norm default: center=True, scale=False (no gamma).
    return layers.BatchNormalization(momentum=momentum, epsilon=1e-3, scale=False, name=name)


def _deconv(filters, name, use_bias=False):
    return layers.Conv2DTranspose(filters, 5, strides=2, padding="same", use_bias=use_bias,
                                  kernel_initializer=_conv_init(), name=name)


def _scaled(channels, scale):
    return max(1, int(round(channels * scale)))


def build_generator(image_shape, y_dim, z_dim=Z_DIM, bn_momentum=0.999, output="tanh",
                    channel_scale=1.0, name="generator"):
    """G(z, y) -> images.  output="tanh": pixels in [-1, 1] (paper); "relu": the original
    MNIST code's BN + ReLU output in [0, inf) (its pixels are in [0, 1])."""
    height, width, channels = image_shape
    z = keras.Input((z_dim,), name="z")
    y = keras.Input((y_dim,), name="y")
    h = layers.Concatenate(name="z_y")([z, y])
    h = layers.Dense(4 * 4 * _scaled(512, channel_scale), name="project")(h)
    h = layers.Reshape((4, 4, _scaled(512, channel_scale)), name="to_4x4x512")(h)
    if (height, width) == (64, 64):
        filters = (512, 256, 128)
    elif (height, width) == (28, 28):
        # MNIST: the projection itself is followed by BN + ReLU.
        h = layers.ReLU(name="project_relu")(_batch_norm(bn_momentum, "project_bn")(h))
        filters = (256, 128)
    else:
        raise ValueError(f"cWGAN generator supports 64x64 or 28x28 images, not {height}x{width}")
    for i, f in enumerate(filters):
        h = _deconv(_scaled(f, channel_scale), f"deconv{i + 1}")(h)
        h = layers.ReLU(name=f"relu{i + 1}")(_batch_norm(bn_momentum, f"bn{i + 1}")(h))
    last = len(filters) + 1
    if output == "relu":
        h = _deconv(channels, f"deconv{last}")(h)
        h = layers.ReLU(name="output")(_batch_norm(bn_momentum, f"bn{last}")(h))
    elif output == "tanh":
        h = _deconv(channels, f"deconv{last}", use_bias=True)(h)
        h = layers.Activation("tanh", name="output")(h)
    else:
        raise ValueError(f"output must be 'tanh' or 'relu', not {output!r}")
    if (height, width) == (28, 28):
        h = layers.Cropping2D(((0, 4), (0, 4)), name="crop_28x28")(h)
    return keras.Model([z, y], h, name=name)


def build_critic(image_shape, y_dim, channel_scale=1.0, aux_outputs=0, name="critic"):
    """D(x, y) -> one score per example: mean of the final k4 s1 convolution's map.
    With aux_outputs > 0: D(x, y) -> [score [B, 1], auxiliary logits [B, aux_outputs]]."""
    x = keras.Input(image_shape, name="x")
    y = keras.Input((y_dim,), name="y")
    y_map = layers.Lambda(lambda t: _tile_labels(*t), name="tile_y")([y, x])
    h = layers.Concatenate(name="x_y")([x, y_map])
    for i, f in enumerate((64, 128, 256, 512)):
        h = layers.Conv2D(_scaled(f, channel_scale), 5, strides=2, padding="same",
                          kernel_initializer=_conv_init(),
                          name=f"conv{i + 1}")(h)
        h = layers.LeakyReLU(0.2, name=f"lrelu{i + 1}")(h)
    features = h
    h = layers.Conv2D(1, 4, strides=1, padding="same", kernel_initializer=_conv_init(),
                      name="score_map")(features)
    score = layers.GlobalAveragePooling2D(name="mean_score")(h)
    if not aux_outputs:
        return keras.Model([x, y], score, name=name)
    logits = layers.Dense(aux_outputs, name="aux_logits")(layers.Flatten(name="flatten")(features))
    return keras.Model([x, y], [score, logits], name=name)


def _tile_labels(y, x):
    """y [B, Y] -> [B, H, W, Y], the label repeated at every pixel of x."""
    shape = keras.ops.shape(x)
    return keras.ops.tile(y[:, None, None, :], [1, shape[1], shape[2], 1])
