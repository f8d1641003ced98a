"""cWGAN-GP: architecture sizes, gradient-penalty parity with NumPy, one train step per loss."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfgan_suite import penalties
from tfgan_suite.models.cwgan import CWGAN
from tfgan_suite.nets import cwgan_nets


def trainable_count(model):
    return sum(int(np.prod(v.shape)) for v in model.trainable_weights)


def test_celeba_parameter_counts_equal_the_original():
    # Counts printed by the original TF1 code for 9 attributes (cameronfabbri/cWGANs).
    assert trainable_count(cwgan_nets.build_generator((64, 64, 3), 9)) == 11_561_219
    assert trainable_count(cwgan_nets.build_critic((64, 64, 3), 9)) == 4_329_153


def test_mnist_variant_shapes():
    g = cwgan_nets.build_generator((28, 28, 1), 10, output="relu")
    d = cwgan_nets.build_critic((28, 28, 1), 10)
    z, y = np.zeros((3, 100), np.float32), np.eye(10, dtype=np.float32)[:3]
    images = g([z, y], training=True)
    assert images.shape == (3, 28, 28, 1) and float(tf.reduce_min(images)) >= 0.0
    assert d([images, tf.constant(y)]).shape == (3, 1)
    # Dense 110 -> 8192 plus BN beta, then ConvT 512->256, 256->128, 128->1 (k5, no bias), BN betas.
    expected = 110 * 8192 + 8192 + 512 + 25 * 512 * 256 + 256 + 25 * 256 * 128 + 128 + 25 * 128 + 1
    assert trainable_count(g) == expected


def quadratic_critic(a):
    """D(x) = sum(0.5 * a * x^2): its input gradient a * x is known in closed form."""
    return lambda x: tf.reduce_sum(0.5 * a * x * x, axis=[1, 2, 3])


def test_gradient_penalty_matches_numpy_and_original_differs():
    rng = np.random.default_rng(0)
    real = rng.uniform(-1, 1, (4, 6, 5, 3)).astype(np.float32)
    fake = rng.uniform(-1, 1, (4, 6, 5, 3)).astype(np.float32)
    a = rng.uniform(0.1, 2.0, (6, 5, 3)).astype(np.float32)

    eps = rng.uniform(size=(4, 1, 1, 1)).astype(np.float32)
    grad = a * (eps * real + (1 - eps) * fake)
    norms = np.sqrt((grad.astype(np.float64) ** 2).sum(axis=(1, 2, 3)))
    expected_correct = np.mean((norms - 1) ** 2)
    correct = penalties.gradient_penalty(quadratic_critic(a), real, fake, eps=eps)
    np.testing.assert_allclose(float(correct), expected_correct, rtol=1e-5)

    scalar_eps = np.float32(0.3)
    grad = a * (scalar_eps * real + (1 - scalar_eps) * fake)
    slopes = np.sqrt((grad.astype(np.float64) ** 2).sum(axis=1))  # [B, W, C], axis 1 only
    assert slopes.shape == (4, 5, 3)
    expected_original = np.mean((slopes - 1) ** 2)
    original = penalties.gradient_penalty(quadratic_critic(a), real, fake, original_cwgan=True,
                                          eps=scalar_eps)
    np.testing.assert_allclose(float(original), expected_original, rtol=1e-5)

    same_eps = penalties.gradient_penalty(quadratic_critic(a), real, fake, eps=scalar_eps)
    assert abs(float(same_eps) - float(original)) > 0.1


def test_original_gp_draws_one_eps_per_batch():
    real, fake = tf.ones((5, 2, 2, 1)), tf.zeros((5, 2, 2, 1))
    x_hat = penalties.interpolates(real, fake, per_sample=False).numpy()
    assert np.allclose(x_hat, x_hat.flat[0])
    x_hat = penalties.interpolates(real, fake, per_sample=True).numpy()
    assert len(np.unique(x_hat[:, 0, 0, 0])) == 5


def small_model(loss, penalty, n_critic, relu_output=False):
    g = cwgan_nets.build_generator((28, 28, 1), 10, z_dim=8, output="relu" if relu_output else "tanh")
    d = cwgan_nets.build_critic((28, 28, 1), 10)
    model = CWGAN(g, d, 8, loss=loss, penalty=penalty, n_critic=n_critic, relu_output=relu_output)
    model.compile(keras.optimizers.Adam(1e-4, 0.0, 0.9), keras.optimizers.Adam(1e-4, 0.0, 0.9))
    return model


@pytest.mark.parametrize("loss,penalty,n_critic,relu_output", [
    ("wgan", "gp", 2, False), ("gan", "none", 1, False), ("lsgan", "none", 1, True)])
def test_one_train_step_updates_both_networks(loss, penalty, n_critic, relu_output):
    model = small_model(loss, penalty, n_critic, relu_output)
    x = tf.random.uniform((n_critic + 1, 4, 28, 28, 1), -1, 1, seed=1)
    y = tf.one_hot(tf.random.uniform((n_critic + 1, 4), 0, 10, tf.int32, seed=2), 10)
    g_before = [w.numpy().copy() for w in model.generator.trainable_weights]
    d_before = [w.numpy().copy() for w in model.critic.trainable_weights]
    logs = model.train_step((x, y))
    assert all(np.isfinite(float(v)) for v in logs.values())
    # d_real - d_fake estimates the Wasserstein distance only under the WGAN loss
    assert ("wasserstein" in logs) == (loss == "wgan")
    if loss == "wgan":
        assert float(logs["wasserstein"]) == pytest.approx(
            float(logs["d_real"]) - float(logs["d_fake"]), rel=1e-5, abs=1e-6)
    assert int(model.step.numpy()) == 1
    assert int(model.d_optimizer.iterations.numpy()) == n_critic
    assert int(model.g_optimizer.iterations.numpy()) == 1
    assert any(not np.allclose(b, w.numpy()) for b, w in zip(g_before, model.generator.trainable_weights))
    assert any(not np.allclose(b, w.numpy()) for b, w in zip(d_before, model.critic.trainable_weights))
    images = model.generate(tf.zeros((2, 8)), tf.one_hot([1, 2], 10))
    assert float(tf.reduce_min(images)) >= -1.0 and float(tf.reduce_max(images)) <= 1.0


def test_original_gp_flag_reaches_the_penalty():
    model = small_model("wgan", "gp", 1)
    assert model.penalty is penalties.gradient_penalty
    original = CWGAN(model.generator, model.critic, 8, original_gp=True)
    assert original.penalty.keywords == {"original_cwgan": True}
    with pytest.raises(ValueError):
        CWGAN(model.generator, model.critic, 8, penalty="none", original_gp=True)


def test_auxiliary_head_outputs_logits_and_leaves_the_paper_critic_unchanged():
    plain = cwgan_nets.build_critic((28, 28, 1), 10, channel_scale=0.125)
    with_head = cwgan_nets.build_critic((28, 28, 1), 10, channel_scale=0.125, aux_outputs=10)
    x, y = tf.zeros((3, 28, 28, 1)), tf.one_hot([0, 1, 2], 10)
    score, logits = with_head([x, y])
    assert score.shape == (3, 1) and logits.shape == (3, 10)
    # The head is one Dense layer on the flattened 2x2x64 map: 256 * 10 weights + 10 biases.
    assert trainable_count(with_head) - trainable_count(plain) == 2 * 2 * 64 * 10 + 10


def aux_model(weight, kind="onehot"):
    keras.utils.set_random_seed(0)
    generator = cwgan_nets.build_generator((28, 28, 1), 10, z_dim=8, channel_scale=0.125)
    critic = cwgan_nets.build_critic((28, 28, 1), 10, channel_scale=0.125,
                                     aux_outputs=10 if weight else 0)
    model = CWGAN(generator, critic, 8, loss="gan", penalty="none", n_critic=1,
                  aux_classifier_weight=weight, aux_label_kind=kind)
    model.compile(keras.optimizers.Adam(2e-4, 0.5), keras.optimizers.Adam(2e-4, 0.5))
    return model


def test_auxiliary_losses_enter_both_updates_with_their_weight():
    x = tf.random.uniform((2, 4, 28, 28, 1), -1, 1, seed=1)
    y = tf.one_hot([[0, 1, 2, 3], [4, 5, 6, 7]], 10)
    logs = {k: float(v) for k, v in aux_model(2.0).train_step((x, y)).items()}
    # Untrained logits are near zero: cross-entropy near log(10) for real and fake alike.
    assert abs(logs["aux_real_loss"] - np.log(10)) < 0.5
    assert abs(logs["aux_fake_loss"] - np.log(10)) < 0.5
    # The reported losses include weight * auxiliary loss; same seed, same networks without
    # the weight give the adversarial parts alone.
    model = aux_model(2.0)
    d_real_fake = model._critic(tf.concat([x[0], x[0]], 0), tf.concat([y[0], y[0]], 0))
    assert d_real_fake[1].shape == (8, 10)
    plain = {k: float(v) for k, v in aux_model(0.0).train_step((x, y)).items()}
    assert "aux_real_loss" not in plain
    assert logs["d_loss"] - plain["d_loss"] == pytest.approx(2.0 * logs["aux_real_loss"], abs=0.05)
    assert logs["g_loss"] - plain["g_loss"] == pytest.approx(2.0 * logs["aux_fake_loss"], abs=0.05)


def test_auxiliary_loss_for_binary_attributes_is_sigmoid_cross_entropy():
    logits = tf.constant([[0.0, 2.0]])
    labels = tf.constant([[1.0, 0.0]])
    model = aux_model(1.0, kind="binary")
    expected = np.mean([np.log(2.0), np.log1p(np.exp(2.0))])
    assert float(model.aux_loss(labels, logits)) == pytest.approx(expected, rel=1e-6)
    with pytest.raises(ValueError, match="auxiliary head"):
        CWGAN(model.generator, model.critic, 8)          # head without a weight
    with pytest.raises(ValueError, match="aux_label_kind"):
        aux_model(1.0, kind="continuous")
