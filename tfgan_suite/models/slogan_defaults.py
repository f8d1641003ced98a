"""SLOGAN hyperparameters per dataset (Hwang et al., Appendix E; the original code where it exists)."""

# Appendix E (and the original code for the synthetic data and CIFAR) per dataset:
# family of networks, K components, latent d, encoder features, Gumbel tau, lambda (U2C weight),
# eta (G/E learning rate; D uses 4 eta), gamma (Sigma/rho; mu uses 10 gamma), feature scale s,
# angular margin m, adversarial loss, penalty (weight lambda 10), the Sigma gradient of Eq. 5,
# end of the lambda/m schedule, SimCLR, whether pi is learnt (Eq. 7), batch size,
# generator batch as a multiple of B (slogan_cifar2.py samples 2B z for the G/E/prior step,
# slogan_synthetic.py B), encoder L2 weight decay (1e-4 in slogan_cifar2.py, none in
# slogan_synthetic.py). Where no original code exists (MNIST, FMNIST, CelebA) the CIFAR code's
# choices are used.
_COMMON = dict(latent_dim=64, feature_dim=64, tau=0.01, loss="wgan", penalty="lp",
               schedule_end=0.0, simclr=False, batch_size=64, generator_batch_factor=2,
               encoder_weight_decay=1e-4, penalty_weight=10.0, sigma_grad_scale="paper",
               learn_pi=True)
_CIFAR = dict(_COMMON, family="cifar", latent_dim=128, feature_dim=128, u2c_weight=1.0,
              learning_rate=1e-4, prior_learning_rate=2e-3, feature_scale=4.0, margin=0.5,
              penalty="alp", simclr=True)
DATASET_DEFAULTS = {
    "gaussians8": dict(_COMMON, family="synthetic", num_components=8, tau=0.1, u2c_weight=4.0,
                       learning_rate=1e-3, prior_learning_rate=1e-2, feature_scale=2.0,
                       margin=0.5, loss="hinge", schedule_end=-4.0, batch_size=128,
                       generator_batch_factor=1, encoder_weight_decay=0.0),
    "mnist": dict(_COMMON, family="mnist", num_components=10, u2c_weight=10.0,
                  learning_rate=1e-4, prior_learning_rate=2e-3, feature_scale=8.0, margin=0.5),
    "mnist2": dict(_COMMON, family="mnist", num_components=2, u2c_weight=4.0,
                   learning_rate=1e-4, prior_learning_rate=2e-3, feature_scale=4.0, margin=0.5),
    "fmnist": dict(_COMMON, family="mnist", num_components=10, u2c_weight=10.0,
                   learning_rate=1e-4, prior_learning_rate=1e-3, feature_scale=1.0, margin=0.0),
    "fmnist5": dict(_COMMON, family="mnist", num_components=5, u2c_weight=1.0,
                    learning_rate=2e-4, prior_learning_rate=4e-3, feature_scale=4.0, margin=0.5),
    "cifar10": dict(_CIFAR, num_components=10),
    "cifar2": dict(_CIFAR, num_components=2),
    "celeba": dict(_CIFAR, family="celeba", num_components=2, learning_rate=2e-4,
                   prior_learning_rate=6e-4),
}
DATASET_DEFAULTS["mnist5k"] = DATASET_DEFAULTS["mnist"]
PAPER_STEPS = 100_000   # "the number of training steps to 100k" (Appendix E.1)
