"""DiffAugment: policy API, per-example magnitudes of each op, translation/cutout geometry,
gradients, tf.function with unknown batch size, seeded determinism."""

import numpy as np
import pytest
import tensorflow as tf

from tfgan_suite import augment

H, W = 16, 12                                  # non-square: shifts/cutouts per axis


def distinct_images(batch, channels=3):
    """Every pixel value distinct and positive, so any moved/zeroed pixel can be located."""
    return tf.reshape(tf.range(1, batch * H * W * channels + 1, dtype=tf.float32),
                      [batch, H, W, channels])


def random_images(batch, seed=0):
    return tf.constant(np.random.default_rng(seed).uniform(-1, 1, (batch, H, W, 3)), tf.float32)


def test_brightness_adds_one_offset_per_example_in_half_range():
    x = random_images(256)
    delta = (augment.rand_brightness(x, seed=[0, 1]) - x).numpy()
    per_example = delta[:, :1, :1, :1]
    np.testing.assert_allclose(delta, np.broadcast_to(per_example, delta.shape), atol=1e-6)
    assert per_example.min() >= -0.5 and per_example.max() <= 0.5
    assert per_example.min() < -0.4 and per_example.max() > 0.4   # the whole range is used


def factor_about_mean(x, out, axes):
    mean = x.mean(axis=axes, keepdims=True)
    centred = x - mean
    factor = ((out - mean) * centred).sum(axis=(1, 2, 3)) / (centred ** 2).sum(axis=(1, 2, 3))
    np.testing.assert_allclose(out - mean, factor[:, None, None, None] * centred, atol=1e-5)
    return factor


def test_saturation_scales_about_the_channel_mean_by_0_to_2():
    x = random_images(256).numpy()
    out = augment.rand_saturation(x, seed=[0, 2]).numpy()
    factor = factor_about_mean(x, out, axes=3)
    assert factor.min() >= 0 and factor.max() <= 2 and factor.max() - factor.min() > 1.5


def test_contrast_scales_about_the_image_mean_by_half_to_one_and_half():
    x = random_images(256).numpy()
    out = augment.rand_contrast(x, seed=[0, 3]).numpy()
    factor = factor_about_mean(x, out, axes=(1, 2, 3))
    assert factor.min() >= 0.5 and factor.max() <= 1.5 and factor.max() - factor.min() > 0.8


def shifted(image, t_h, t_w):
    """Reference: out[i, j] = image[i + t_h, j + t_w], 0 outside."""
    out = np.zeros_like(image)
    for i in range(H):
        for j in range(W):
            if 0 <= i + t_h < H and 0 <= j + t_w < W:
                out[i, j] = image[i + t_h, j + t_w]
    return out


def test_translation_geometry_and_shift_range():
    x = distinct_images(300).numpy()
    out = augment.rand_translation(x, seed=[1, 1]).numpy()
    s_h, s_w = int(H * 0.125 + 0.5), int(W * 0.125 + 0.5)          # 2, 2 (12 * 0.125 = 1.5 -> 2)
    seen = set()
    for b in range(len(x)):
        matches = [(t_h, t_w) for t_h in range(-s_h, s_h + 1) for t_w in range(-s_w, s_w + 1)
                   if np.array_equal(out[b], shifted(x[b], t_h, t_w))]
        assert len(matches) == 1, f"example {b} is not a zero-filled shift within +-{s_h, s_w}"
        seen.add(matches[0])
    assert len(seen) == (2 * s_h + 1) * (2 * s_w + 1)              # every shift occurs


def band(size, cut, start):
    return (np.arange(size) >= start) & (np.arange(size) < start + cut)


def test_cutout_geometry():
    x = distinct_images(400, channels=2).numpy()
    out = augment.rand_cutout(x, seed=[2, 2]).numpy()
    c_h, c_w = int(H * 0.5 + 0.5), int(W * 0.5 + 0.5)               # 8, 6
    # A band of c rows starts at centre - c // 2, centre ~ U{0 .. size - 1 + (1 - c % 2)}.
    starts_h = range(-(c_h // 2), H + (1 - c_h % 2) - c_h // 2)
    starts_w = range(-(c_w // 2), W + (1 - c_w % 2) - c_w // 2)
    seen = set()
    for b in range(len(x)):
        hole = out[b] == 0
        assert np.array_equal(hole[..., 0], hole[..., 1])            # same hole in every channel
        np.testing.assert_array_equal(out[b][~hole], x[b][~hole])    # the rest untouched
        matches = [(sh, sw) for sh in starts_h for sw in starts_w
                   if np.array_equal(hole[..., 0], np.outer(band(H, c_h, sh), band(W, c_w, sw)))]
        assert len(matches) == 1, f"example {b}: hole is not a clipped {c_h}x{c_w} square"
        seen.add(matches[0])
    assert {sh for sh, _ in seen} == set(starts_h) and {sw for _, sw in seen} == set(starts_w)


def test_policy_order_channels_first_and_errors():
    x = random_images(8)
    y = augment.diff_augment(x, "translation,color,cutout", seed=[3, 3])
    assert y.shape == x.shape
    y_cf = augment.diff_augment(tf.transpose(x, [0, 3, 1, 2]), "translation,color,cutout",
                                channels_first=True, seed=[3, 3])
    np.testing.assert_allclose(tf.transpose(y_cf, [0, 2, 3, 1]).numpy(), y.numpy(), atol=1e-6)
    assert augment.diff_augment(x, "", seed=[3, 3]) is x
    with pytest.raises(ValueError, match="color, cutout, translation"):
        augment.diff_augment(x, "color,flip")


def test_seeded_calls_are_deterministic_and_seeds_matter():
    x = random_images(8)
    a = augment.diff_augment(x, seed=[5, 6]).numpy()
    np.testing.assert_array_equal(a, augment.diff_augment(x, seed=[5, 6]).numpy())
    assert not np.allclose(a, augment.diff_augment(x, seed=[5, 7]).numpy())
    assert not np.allclose(augment.diff_augment(x).numpy(), augment.diff_augment(x).numpy())


def test_gradient_flows_to_x_inside_tf_function_with_unknown_batch():
    @tf.function(input_signature=[tf.TensorSpec([None, H, W, 3], tf.float32)])
    def grad_of_sum(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            total = tf.reduce_sum(augment.diff_augment(x, "translation,color,cutout") ** 2)
        return tape.gradient(total, x)

    grads = grad_of_sum(random_images(5)).numpy()
    assert grads.shape == (5, H, W, 3) and np.all(np.isfinite(grads))
    assert (grads != 0).mean() > 0.3   # cut-out and shifted-out pixels get 0, the rest flow
