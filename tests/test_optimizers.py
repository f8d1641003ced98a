"""The optimisers follow the original code's updates (torch RMSprop, TF1 Adam), where Keras's
defaults do not."""

import keras
import numpy as np
import pytest

from tfgan_suite.optimizers import TorchRMSprop, adam


def torch_rmsprop(w, grads, lr, alpha=0.99, eps=1e-8):
    """torch.optim.RMSprop (momentum 0, uncentred), written out in NumPy."""
    w, v = np.array(w, np.float64), np.zeros_like(w, np.float64)
    for g in grads:
        v = alpha * v + (1 - alpha) * g ** 2
        w = w - lr * g / (np.sqrt(v) + eps)
    return w


def run(optimizer, w0, grads):
    w = keras.Variable(np.array(w0, np.float32))
    for g in grads:
        optimizer.apply_gradients([(np.array(g, np.float32), w)])
    return w.numpy()


# Gradients of the sizes a GAN generator sees: tiny ones are where the two updates part.
W0 = [0.5, -0.2, 0.1]
GRADS = [np.array([1e-6, 3e-5, 0.2]) * s for s in (1.0, -0.5, 2.0, 1.5)]


def test_update_matches_torch_rmsprop():
    expected = torch_rmsprop(W0, GRADS, lr=1e-3)
    np.testing.assert_allclose(run(TorchRMSprop(1e-3), W0, GRADS), expected, rtol=1e-5,
                               atol=1e-7)


def test_keras_rmsprop_differs_on_small_gradients():
    """Why the original needs its own class: eps inside the square root damps small grads."""
    keras_w = run(keras.optimizers.RMSprop(1e-3, rho=0.99, epsilon=1e-8), W0, GRADS)
    moved_torch = np.abs(torch_rmsprop(W0, GRADS, lr=1e-3) - W0)
    moved_keras = np.abs(keras_w - W0)
    assert moved_keras[0] < 0.05 * moved_torch[0]                   # 1e-6 gradients: damped
    np.testing.assert_allclose(moved_keras[2], moved_torch[2], rtol=1e-3)   # large: the same


def test_refuses_the_variants_it_does_not_implement():
    with pytest.raises(ValueError, match="momentum"):
        TorchRMSprop(1e-3, momentum=0.9)


def tf1_adam(w, grads, lr, beta_1, beta_2, eps):
    """tf.train.AdamOptimizer (TF1), written out in NumPy: lr_t = lr sqrt(1 - b2^t) / (1 - b1^t),
    w <- w - lr_t m / (sqrt(v) + eps)."""
    w, m, v = (np.array(w, np.float64), np.zeros(len(w)), np.zeros(len(w)))
    for t, g in enumerate(grads, start=1):
        m = beta_1 * m + (1 - beta_1) * g
        v = beta_2 * v + (1 - beta_2) * g ** 2
        w = w - lr * np.sqrt(1 - beta_2 ** t) / (1 - beta_1 ** t) * m / (np.sqrt(v) + eps)
    return w


def test_adam_is_the_originals_tf1_adam_with_epsilon_1e8():
    expected = tf1_adam(W0, GRADS, 1e-4, 0.0, 0.9, eps=1e-8)
    np.testing.assert_allclose(run(adam(1e-4, 0.0, 0.9), W0, GRADS), expected, rtol=1e-5,
                               atol=1e-8)
    # Keras's default epsilon (1e-7) moves the parameter with 1e-6 gradients about 12% less.
    default = run(keras.optimizers.Adam(1e-4, beta_1=0.0, beta_2=0.9), W0, GRADS)
    assert abs(default[0] - W0[0]) < 0.95 * abs(expected[0] - W0[0])
