"""Analytic model FLOPs of a training iteration, for MFU (achieved / peak FLOP/s).

Counted: 2 x multiply-accumulates of every Dense, Conv2D and Conv2DTranspose layer, padded taps
included (a transposed convolution as the scatter of every input pixel through the whole
kernel, as its gradient-of-a-convolution implementation computes it). Normalisation,
activations and the optimiser are left out (a few percent). Units of one network pass:

  forward = F;  backward = 2F (data gradient F + weight gradient F).
  gradient penalty on x_hat: forward F, input gradient F, and the backward of the input-gradient
  pass for the critic's weight gradient 2F (its data and weight terms) = 4F. The forward pass
  needs no second backward: LeakyReLU's second derivative is zero, so that term is model-wise
  zero (TensorFlow still executes it: about 13% more work than counted here).

One cWGAN-GP iteration (Gulrajani et al. Algorithm 1, as models/cwgan.py runs it) per example:
  n_critic x [G forward F_G + critic forward/backward on real and fake 2 x 3F_D + GP 4F_D]
  + generator_updates x [G forward/backward 3F_G + critic forward + data gradient 2F_D].
"""

from __future__ import annotations

import math

import keras

PENALTY_PASSES = 4   # forward + input gradient + its backward (data and weight terms)


def layer_macs(layer) -> int:
    """Multiply-accumulates of one example through `layer` (0 for layers without weights)."""
    if isinstance(layer, keras.layers.Dense):
        return int(layer.kernel.shape[0] * layer.kernel.shape[1])
    if isinstance(layer, keras.layers.Conv2DTranspose):
        in_h, in_w = layer.input.shape[1:3]
        kh, kw, out_c, in_c = layer.kernel.shape
        return int(in_h * in_w * kh * kw * in_c * out_c)
    if isinstance(layer, keras.layers.Conv2D):
        out_h, out_w = layer.output.shape[1:3]
        kh, kw, in_c, out_c = layer.kernel.shape
        return int(out_h * out_w * kh * kw * in_c * out_c)
    if hasattr(layer, "layers"):  # nested model
        return model_macs(layer)
    inner = getattr(layer, "layer", None)  # wrappers such as SpectralNormalization
    return layer_macs(inner) if inner is not None else 0


def model_macs(model) -> int:
    """Multiply-accumulates of one example through a built functional / sequential model."""
    return sum(layer_macs(layer) for layer in model.layers)


def forward_flops(model) -> int:
    """F: FLOPs of one example's forward pass (2 x MACs)."""
    return 2 * model_macs(model)


def cwgan_iteration_flops(model, batch_size: int) -> int:
    """Model FLOPs of one CWGAN train_step at `batch_size` (module docstring)."""
    f_g, f_d = forward_flops(model.generator), forward_flops(model.critic)
    penalty = PENALTY_PASSES * f_d if model.penalty is not None else 0
    critic = f_g + 2 * 3 * f_d + penalty
    generator = 3 * f_g + 2 * f_d
    return batch_size * (model.n_critic * critic + model.generator_updates * generator)


def slogan_iteration_flops(model, batch_size: int) -> int:
    """Model FLOPs of one SLOGAN train_step (Algorithm 1): D update on B real + B fake with its
    penalty (LP/GP 4F_D; ALP about as much: one power iteration and a final pass), then G and
    E on generator_batch_factor x B samples (G 3F_G, D forward + data gradient 2F_D, E 3F_E, a
    second E pass for the SimCLR view). Mixture sampling and the Stein updates are O(K d^3) and
    not counted."""
    f_g, f_d, f_e = (forward_flops(m) for m in (model.generator, model.discriminator,
                                                  model.encoder))
    penalty = 0 if model.penalty is None else PENALTY_PASSES * f_d
    d_step = batch_size * (f_g + 2 * 3 * f_d) + batch_size * penalty
    g_batch = model.generator_batch_factor * batch_size
    encoder = 3 * f_e * (2 if model.simclr else 1)
    g_step = g_batch * (3 * f_g + 2 * f_d + encoder)
    return d_step + g_step


def iteration_flops(model, batch_size: int) -> int:
    """Model FLOPs of one train_step of a CWGAN or SLOGAN."""
    if hasattr(model, "critic"):
        return cwgan_iteration_flops(model, batch_size)
    return slogan_iteration_flops(model, batch_size)


def gflops(value: int) -> float:
    return value / 1e9 if math.isfinite(value) else float("nan")
