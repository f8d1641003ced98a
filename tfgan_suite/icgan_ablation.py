"""Layer-wise activation ablation of an ICGAN generator (Wang et al., Sec. 5, Eq. 7, Fig. 7).

For each convolutional layer l of Fig. 7 (D11, C11 ... C32) and channel i, the gradient of the
"digit removed" loss (the digit region of G(z) set to 0, i.e. the squared [0, 1] pixel values
on the digit's pixels) with respect to the layer's output map scores the channel:
    gradScore_{i,l} = | sum_{m,n} grad_{i,l,m,n} / (w h) |                        (Eq. 7)
summed over the batch. The top `fraction` (10%) of the channels of a layer are then suppressed
(set to 0): in one layer at a time (layer-wise ablation) or in that layer and every layer before
it (accumulative ablation). The digit is segmented as the generated image's near-white pixels
(ColorMNIST digits are white on a saturated background, whose smallest channel is 0).

The generator's functional graph is re-run with each ablated layer's output multiplied by a
channel mask and added to a zero probe whose gradient is the one Eq. 7 needs.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from tfgan_suite.nets.icgan_nets import ABLATION_LAYERS

DIGIT_THRESHOLD = 0.5   # min RGB channel in [0, 1] above which a pixel is digit (white)


def _run(generator, z, masks=None, probes=None):
    """G(z) with each ablated layer's output x -> x * masks[name] + probes[name]."""
    masks, probes = masks or {}, probes or {}

    def operation_fn(op):
        def call(*args, **kwargs):
            out = op(*args, **kwargs)
            if op.name in masks:
                out = out * masks[op.name]
            if op.name in probes:
                out = out + probes[op.name]
            return out
        return call
    return generator._run_through_graph(tf.convert_to_tensor(z), operation_fn)   # noqa: SLF001


def digit_mask(images) -> tf.Tensor:
    """[B, H, W, 1] 1.0 where the generated pixel is digit (near white), images in [-1, 1]."""
    unit = (images + 1.0) / 2.0
    return tf.cast(tf.reduce_min(unit, axis=-1, keepdims=True) > DIGIT_THRESHOLD, tf.float32)


def grad_scores(generator, z, layers=ABLATION_LAYERS) -> dict:
    """{layer: Eq. 7 scores [C]} for the latent batch z."""
    shapes = {name: generator.get_layer(name).output.shape for name in layers}
    probes = {name: tf.zeros((1,) + tuple(shapes[name][1:])) for name in layers}
    with tf.GradientTape() as tape:
        tape.watch(list(probes.values()))
        images = _run(generator, z, probes=probes)
        mask = tf.stop_gradient(digit_mask(images))
        loss = tf.reduce_sum(tf.square((images + 1.0) / 2.0) * mask)   # digit region -> 0
    grads = tape.gradient(loss, probes)
    return {name: np.abs(grads[name].numpy().mean(axis=(0, 1, 2))) for name in layers}


def suppression_masks(scores: dict, fraction: float = 0.1) -> dict:
    """{layer: [C] mask with 0 at the top ceil(fraction * C) scoring channels, 1 elsewhere}."""
    masks = {}
    for name, score in scores.items():
        k = max(1, int(np.ceil(fraction * len(score))))
        mask = np.ones(len(score), np.float32)
        mask[np.argsort(-score, kind="stable")[:k]] = 0.0
        masks[name] = mask
    return masks


def ablation_grids(generator, z, fraction: float = 0.1, layers=ABLATION_LAYERS) -> tuple:
    """(layer-wise, accumulative) image grids [B, 1 + len(layers), H, W, C] in [-1, 1]: column 0
    the original G(z), column j the ablation of layers[j - 1] (alone / with the ones before)."""
    masks = suppression_masks(grad_scores(generator, z, layers), fraction)
    original = _run(generator, z).numpy()
    single = [_run(generator, z, masks={name: masks[name]}).numpy() for name in layers]
    cumulative = [_run(generator, z, masks={n: masks[n] for n in layers[:j + 1]}).numpy()
                  for j in range(len(layers))]
    stack = lambda cols: np.stack([original] + cols, axis=1)  # noqa: E731
    return stack(single), stack(cumulative)
