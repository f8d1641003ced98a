"""Optimisers whose update must match the original (PyTorch) code, not Keras's variant."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="tfgan_suite")
class TorchRMSprop(keras.optimizers.RMSprop):
    """torch.optim.RMSprop without momentum or centring, its defaults alpha 0.99, eps 1e-8:

        v <- alpha v + (1 - alpha) g^2,    w <- w - lr g / (sqrt(v) + eps)

    Keras's RMSprop divides by sqrt(v + eps) instead, which floors the denominator at
    sqrt(eps) = 1e-4 for eps 1e-8: parameters with gradients under about 1e-4 (common in a
    GAN generator, and at the first steps, where v starts at 0) move up to orders of magnitude
    less than in the original. The variables are RMSprop's, so checkpoints are compatible."""

    def __init__(self, learning_rate=1e-3, rho=0.99, epsilon=1e-8, **kwargs):
        if kwargs.get("momentum") or kwargs.get("centered"):
            raise ValueError("TorchRMSprop implements the plain (momentum 0, uncentred) update")
        super().__init__(learning_rate, rho=rho, epsilon=epsilon, **kwargs)

    def update_step(self, gradient, variable, learning_rate):
        lr = ops.cast(learning_rate, variable.dtype)
        gradient = ops.cast(gradient, variable.dtype)
        velocity = self._velocities[self._get_variable_index(variable)]
        self.assign(velocity, ops.add(ops.multiply(self.rho, velocity),
                                      ops.multiply(1 - self.rho, ops.square(gradient))))
        self.assign_sub(variable, ops.divide(ops.multiply(lr, gradient),
                                             ops.add(ops.sqrt(velocity), self.epsilon)))
