"""DiffAugment (Zhao et al. 2020): differentiable augmentations chosen by a policy string.

Same policy API and per-sample random values as the official DiffAugment_tf.py
(mit-han-lab/data-efficient-gans): "color" = brightness, saturation, contrast; "translation"; "cutout". SLOGAN applies
it to generated images for the encoder's SimCLR view (paper App. D.4, policy
"translation,color,cutout" in the original). Pure tensor ops: differentiable w.r.t. x, batched
(no Python loop over examples), usable inside tf.function with an unknown batch size.

Randomness: seed=None uses stateful random ops; a shape-[2] integer seed makes the result a
deterministic function of (x, seed) through stateless ops.
"""

from __future__ import annotations

import tensorflow as tf

from tfgan_suite import randomness

TRANSLATION_RATIO = 0.125
CUTOUT_RATIO = 0.5


def _per_example(x, seed):
    """U(0, 1) of shape [B, 1, 1, 1]: one magnitude per example."""
    return randomness.uniform(tf.stack([tf.shape(x)[0], 1, 1, 1]), seed, dtype=x.dtype)


def _fraction_of(size, ratio):
    """int(size * ratio + 0.5), as the official code rounds it."""
    return tf.cast(tf.cast(size, tf.float32) * ratio + 0.5, tf.int32)


def rand_brightness(x, seed=None):
    """x + (U - 0.5) per example."""
    return x + (_per_example(x, seed) - 0.5)


def rand_saturation(x, seed=None):
    """(x - mean over channels) * 2U + mean over channels, per pixel; U per example."""
    mean = tf.reduce_mean(x, axis=3, keepdims=True)
    return (x - mean) * (_per_example(x, seed) * 2.0) + mean


def rand_contrast(x, seed=None):
    """(x - image mean) * (U + 0.5) + image mean, per example."""
    mean = tf.reduce_mean(x, axis=[1, 2, 3], keepdims=True)
    return (x - mean) * (_per_example(x, seed) + 0.5) + mean


def _shift_axis(x, shift, axis):
    """out[b, i] = x[b, i + shift_b] along `axis` (1 or 2), zero where i + shift_b is outside."""
    size = tf.shape(x)[axis]
    source = tf.range(size)[None, :] + shift                                  # [B, size]
    inside = tf.logical_and(source >= 0, source < size)
    moved = tf.gather(x, tf.clip_by_value(source, 0, size - 1), axis=axis, batch_dims=1)
    mask_shape = [-1, size, 1, 1] if axis == 1 else [-1, 1, size, 1]
    return moved * tf.reshape(tf.cast(inside, x.dtype), mask_shape)


def rand_translation(x, seed=None, ratio=TRANSLATION_RATIO):
    """Shift each example by integers (t_h, t_w), t ~ U{-s..s}, s = int(size * ratio + 0.5) per
    axis; pixels moved in from outside are 0."""
    seed_h, seed_w = randomness.split(seed, 2)
    batch, height, width = tf.shape(x)[0], tf.shape(x)[1], tf.shape(x)[2]
    s_h, s_w = _fraction_of(height, ratio), _fraction_of(width, ratio)
    t_h = randomness.uniform(tf.stack([batch, 1]), seed_h, -s_h, s_h + 1, dtype=tf.int32)
    t_w = randomness.uniform(tf.stack([batch, 1]), seed_w, -s_w, s_w + 1, dtype=tf.int32)
    return _shift_axis(_shift_axis(x, t_h, axis=1), t_w, axis=2)


def _cutout_band(size, cut, seed, batch):
    """[B, size] bool: rows (or columns) inside a band of `cut` starting at centre - cut // 2,
    with the centre ~ U{0 .. size - 1 + (1 - cut % 2)} (bands may stick out of the image)."""
    centre = randomness.uniform(tf.stack([batch, 1]), seed, 0, size + (1 - cut % 2), dtype=tf.int32)
    start = centre - cut // 2
    index = tf.range(size)[None, :]
    return tf.logical_and(index >= start, index < start + cut)


def rand_cutout(x, seed=None, ratio=CUTOUT_RATIO):
    """Zero a square of int(size * ratio + 0.5) pixels at a random centre in each example."""
    seed_h, seed_w = randomness.split(seed, 2)
    batch, height, width = tf.shape(x)[0], tf.shape(x)[1], tf.shape(x)[2]
    rows = _cutout_band(height, _fraction_of(height, ratio), seed_h, batch)
    cols = _cutout_band(width, _fraction_of(width, ratio), seed_w, batch)
    hole = tf.logical_and(rows[:, :, None], cols[:, None, :])                # [B, H, W]
    return x * tf.cast(tf.logical_not(hole), x.dtype)[..., None]


def _maybe_apply(function, x, seed, probability):
    """function(x) with probability `probability` (one draw for the whole batch), else x."""
    coin_seed, op_seed = randomness.split(seed, 2)
    coin = randomness.uniform([], coin_seed, per_example=False)   # the same on every replica
    return tf.cond(coin < probability, lambda: function(x, op_seed), lambda: tf.identity(x))


AUGMENTATIONS = {
    "color": (rand_brightness, rand_saturation, rand_contrast),
    "translation": (rand_translation,),
    "cutout": (rand_cutout,),
}


def parse_policy(policy):
    """Policy string "a,b,c" -> list of names; ValueError naming the valid ones otherwise."""
    names = [p.strip() for p in policy.split(",") if p.strip()]
    unknown = [n for n in names if n not in AUGMENTATIONS]
    if unknown:
        raise ValueError(f"unknown DiffAugment policy {unknown} in {policy!r}; "
                         f"valid: {', '.join(sorted(AUGMENTATIONS))} (comma-separated)")
    return names


def diff_augment(x, policy="color,translation,cutout", channels_first=False, seed=None,
                 probability=1.0):
    """DiffAugment(x, policy): the policy's augmentations in the order given, [B, H, W, C] in/out
    ([B, C, H, W] with channels_first=True). An empty policy returns x unchanged.

    probability < 1 applies each elementary op (brightness, saturation, contrast, translation,
    cutout) to the whole batch with that probability, one coin per op and call, as InfoSCC-GAN's
    image_generation_augment (vkinakh/InfoSCC-GAN, p = 0.6). 1 (default) always applies all.
    """
    functions = [f for name in parse_policy(policy) for f in AUGMENTATIONS[name]]
    if not functions:
        return x
    if channels_first:
        x = tf.transpose(x, [0, 2, 3, 1])
    for function, op_seed in zip(functions, randomness.split(seed, len(functions))):
        if probability >= 1.0:
            x = function(x, op_seed)
        else:
            x = _maybe_apply(function, x, op_seed, probability)
    if channels_first:
        x = tf.transpose(x, [0, 3, 1, 2])
    return x
