"""Optimisers whose update must match the original code (TF1 or PyTorch), not Keras's defaults."""

from __future__ import annotations

import keras
from keras import ops

# tf.train.AdamOptimizer (TF1: cWGAN-GP, SLOGAN, PGGAN-style ICGAN) and torch.optim.Adam
# (InfoSCC-GAN, ID-GAN's beta-VAE) both default to 1e-8; Keras 3's Adam defaults to 1e-7.
ORIGINAL_ADAM_EPSILON = 1e-8


def adam(learning_rate, beta_1, beta_2) -> keras.optimizers.Adam:
    """Adam with the originals' epsilon 1e-8 (Kingma & Ba, Algorithm 1 in the "epsilon hat" form).

    Keras adds epsilon to sqrt(v) before the bias correction, exactly as TF1's AdamOptimizer,
    so the TF1 originals' update is reproduced exactly. torch adds it after, which amounts to
    an epsilon larger by 1 / sqrt(1 - beta_2^t): a difference confined to the first ~1 /
    (1 - beta_2) steps, and not modelled here."""
    return keras.optimizers.Adam(learning_rate, beta_1=beta_1, beta_2=beta_2,
                                 epsilon=ORIGINAL_ADAM_EPSILON)


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
