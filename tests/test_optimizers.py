"""TorchRMSprop follows torch.optim.RMSprop's update, where Keras's RMSprop does not."""

import keras
import numpy as np
import pytest

from tfgan_suite.optimizers import TorchRMSprop


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
