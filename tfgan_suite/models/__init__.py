"""Model registry: build a compiled model from a resolved run configuration.

Keras is imported inside the builders: importing this package (e.g. for
models.slogan_defaults, which the flag definitions read) must not start TensorFlow."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tfgan_suite.data.base import DatasetInfo


def build_model(config, info: DatasetInfo):
    """A compiled keras.Model for `config` (a tfgan_suite.config.RunConfig) on `info`'s data."""
    import keras

    keras.utils.set_random_seed(config.seed)
    if config.model == "cwgan":
        return _build_cwgan(config, info)
    if config.model == "slogan":
        from tfgan_suite.models import slogan
        return slogan.build(config, info)
    if config.model == "icgan":
        from tfgan_suite.models import icgan
        return icgan.build(config, info)
    if config.model in ("betavae", "idgan"):
        from tfgan_suite.models import idgan
        return idgan.build(config, info)
    if config.model == "infoscc":
        from tfgan_suite.models import infoscc
        return infoscc.build(config, info)
    raise ValueError(f"unknown model {config.model!r}")


def _build_cwgan(config, info):
    from tfgan_suite import optimizers
    from tfgan_suite.models.cwgan import CWGAN
    from tfgan_suite.nets import cwgan_nets

    generator = cwgan_nets.build_generator(
        info.example_shape, info.label_dim, config.z_dim, bn_momentum=config.bn_momentum,
        output="relu" if config.relu_output else "tanh", channel_scale=config.width)
    critic = cwgan_nets.build_critic(
        info.example_shape, info.label_dim, channel_scale=config.width,
        aux_outputs=info.label_dim if config.aux_classifier_weight else 0)
    model = CWGAN(generator, critic, config.z_dim, z_mean=config.z_mean, loss=config.loss,
                  penalty=config.penalty, penalty_weight=config.penalty_weight,
                  original_gp=config.original_gp, n_critic=config.n_critic,
                  generator_updates=config.generator_updates, relu_output=config.relu_output,
                  batch_stats_at_inference=config.batch_stats_at_inference,
                  diffaugment=config.diffaugment, seed=config.seed,
                  aux_classifier_weight=config.aux_classifier_weight,
                  aux_label_kind="binary" if info.label_kind == "binary" else "onehot")

    def adam():
        return optimizers.adam(config.learning_rate, config.beta1, config.beta2)

    # No XLA: 22x slower for these strided transposed convolutions on CPU (measured), and
    # Keras' "auto" would switch it on where a GPU is present.
    model.compile(d_optimizer=adam(), g_optimizer=adam(), jit_compile=False)
    return model
