"""Training flags (absl), their validation, and the resolved run configuration.

The resolved configuration is a frozen dataclass per model (`CWGANConfig`, `SLOGANConfig`,
sharing `RunConfig`'s fields). Defaults have one home each: the paper's per model / loss /
dataset in `CWGAN_DEFAULTS`, `CWGAN_LOSS_DEFAULTS` and `models.slogan_defaults`, run
bookkeeping (cadences, paths) in the flag definitions. A configuration holds only the
settings that apply to its model, and it is what the run directory records (config.json)
and what a resume is checked against (`RESUMABLE_CHANGES` lists what may differ).

This module imports no TensorFlow (only absl and light modules), so `--help` is fast; the
checks that need the dataset registry or the probe reader import them inside `resolve`.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from typing import Optional

from absl import flags

from tfgan_suite.errors import UserError
from tfgan_suite.models.slogan_defaults import DATASET_DEFAULTS as SLOGAN_DEFAULTS, PAPER_STEPS \
    as SLOGAN_PAPER_STEPS
from tfgan_suite.models import idgan_defaults

MODELS = ("cwgan", "slogan", "icgan", "betavae", "idgan", "infoscc")
LOSSES_BY_MODEL = {"cwgan": ("wgan", "gan", "lsgan"), "slogan": ("wgan", "hinge"),
                   "icgan": ("wgan", "gan"),
                   "infoscc": ("hinge", "non_saturating", "lsgan", "lsgan_quartic")}
# ID-GAN's two stages (Lee et al. 2020): the beta-VAE, then the GAN distilled from its encoder.
DISENTANGLED_MODELS = ("betavae", "idgan")
DISENTANGLED_LOSSES = {"betavae": "beta_vae", "idgan": "gan"}
LOSSES_BY_MODEL.update({model: (loss,) for model, loss in DISENTANGLED_LOSSES.items()})
# Names the help texts and early checks need without importing TensorFlow; a test keeps
# them equal to tfgan_suite.data.DATASET_NAMES and tfgan_suite.augment.AUGMENTATIONS.
DATASET_NAMES = ("mnist5k", "mnist", "mnist2", "fmnist", "fmnist5", "cifar10", "cifar2", "celeba",
                 "efigi", "gaussians8", "colormnist", "dsprites", "color_dsprites",
                 "noisy_dsprites", "afhq")
DIFFAUGMENT_NAMES = ("color", "translation", "cutout")
PROBE_MIXUP_ITERATIONS = 5   # Algorithm 3 / App. D.3 of Hwang et al.; equals probe.MIXUP_ITERATIONS

# cWGAN-GP (Fabbri et al.; cameronfabbri/cWGANs): paper settings shared by every loss ...
CWGAN_DEFAULTS = dict(batch_size=64, z_dim=100, loss="wgan", z_mean=-1.0, epochs=100.0,
                      penalty_weight=10.0, generator_updates=1, bn_momentum=0.999,
                      relu_output=False, batch_stats_at_inference=False, original_gp=False,
                      diffaugment="", width=1.0, aux_classifier_weight=0.0)
# ... and per loss: critic steps, Adam (lr, beta1, beta2), penalty.
CWGAN_LOSS_DEFAULTS = {
    "wgan": dict(n_critic=5, learning_rate=1e-4, beta1=0.0, beta2=0.9, penalty="gp"),
    "gan": dict(n_critic=1, learning_rate=2e-4, beta1=0.5, beta2=0.999, penalty="none"),
    "lsgan": dict(n_critic=1, learning_rate=1e-3, beta1=0.5, beta2=0.999, penalty="none"),
}
# ICGAN (Wang et al., Sec. 3.2 and 4.1), per --icgan_arch. The paper gives: batch 100, the
# 100-d latent, WGAN-GP with lambda 10, Adam with TTUR rates G 5e-2 / D 8e-2 (ICGAN, w/o IC) and
# a 10% drop every 5 epochs, 40 epochs (Table 1), InfoGAN's D rate changed to 3e-3. Chosen where
# it is silent (see the flag help): one critic update (TTUR's rates replace n_critic), Adam
# betas (0, 0.99) as PGGAN whose equalised learning rate it adopts, lambda1 = lambda2 = 1
# (InfoGAN's info_reg_coeff); InfoGAN keeps its own G rate 1e-3, betas (0.5, 0.999) and loss.
ICGAN_DEFAULTS = dict(batch_size=100, z_dim=100, penalty_weight=10.0, n_critic=1, epochs=40.0,
                      lr_drop_epochs=5.0, lr_drop_factor=0.9, info_digit_weight=1.0,
                      info_color_weight=1.0, width=1.0, num_hues=100)
ICGAN_ARCH_DEFAULTS = {
    "icgan": dict(loss="wgan", penalty="gp", learning_rate=5e-2, d_learning_rate=8e-2,
                  beta1=0.0, beta2=0.99),
    "infogan": dict(loss="gan", penalty="none", learning_rate=1e-3, d_learning_rate=3e-3,
                    beta1=0.5, beta2=0.999),
}
# InfoSCC-GAN (Kinakh et al.; vkinakh/InfoSCC-GAN configs/*_generation*.yml): z_dim is the size
# of eps; penalty_weight the R1 weight. CelebA: batch 128, classification every 4th step.
INFOSCC_DEFAULTS = dict(batch_size=32, z_dim=512, loss="hinge", penalty="r1", penalty_weight=10.0,
                        learning_rate=1e-4, beta1=0.5, beta2=0.99, steps=200_000, noise_dim=512,
                        n_basis=6, base_channels=16, max_channels=512, discriminator="global",
                        patch_layers=0, patch_channels=64, cls_reg_every=2, r1_every=16,
                        orth_weight=100.0, diffaugment="color,translation,cutout",
                        diffaugment_p=0.6, ema=True)
INFOSCC_DATASET_DEFAULTS = {"celeba": dict(batch_size=128, cls_reg_every=4)}
SLOGAN_PROBE_DEFAULTS = dict(probe_weight=1.0, probe_mixup=False,
                             probe_mixup_iterations=PROBE_MIXUP_ITERATIONS, probe_loss="per_probe")

FLAGS = flags.FLAGS


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """Settings every model shares. Experiment settings first, then bookkeeping."""

    model: str
    dataset: str
    data_dir: Optional[str]
    split: str
    dataset_options: dict
    batch_size: int
    seed: int
    z_dim: int
    loss: str
    penalty: str
    penalty_weight: float
    learning_rate: float
    steps: Optional[int]
    sync_batch_norm: bool
    # Bookkeeping: may change when a run resumes (see RESUMABLE_CHANGES).
    steps_per_execution: int
    log_every: int
    sample_every: int
    checkpoint_every: int
    keep_checkpoints: int
    grid_rows: int
    download: bool
    deterministic: bool
    strategy: str
    cpu_devices: Optional[int]
    run_dir: str
    export_dir: str
    export_name: str
    export: bool

    def to_json(self) -> dict:
        """JSON-ready dict (tuples become lists), the form config.json holds."""
        return json.loads(json.dumps(dataclasses.asdict(self)))

    def replace(self, **changes) -> "RunConfig":
        return dataclasses.replace(self, **changes)


@dataclasses.dataclass(frozen=True)
class CWGANConfig(RunConfig):
    """cWGAN-GP (Fabbri et al.) settings; z ~ N(z_mean, 1)."""

    epochs: float
    z_mean: float
    n_critic: int
    beta1: float
    beta2: float
    generator_updates: int
    bn_momentum: float
    relu_output: bool
    batch_stats_at_inference: bool
    original_gp: bool
    diffaugment: str
    width: float
    aux_classifier_weight: float


@dataclasses.dataclass(frozen=True)
class SLOGANConfig(RunConfig):
    """SLOGAN (Hwang et al.) settings, Appendix E names; z from the learnt mixture prior."""

    num_components: int
    feature_dim: int
    tau: float
    u2c_weight: float
    feature_scale: float
    margin: float
    prior_learning_rate: float
    schedule_end: float
    simclr: bool
    sigma_grad_scale: str
    learn_pi: bool
    generator_batch_factor: int
    encoder_weight_decay: float
    probe_data: Optional[str]
    probe_folders: Optional[tuple]
    probe_weight: float
    probe_mixup: bool
    probe_mixup_iterations: int
    probe_loss: str


@dataclasses.dataclass(frozen=True)
class ICGANConfig(RunConfig):
    """ICGAN (Wang et al.) settings: arch "icgan" (ic False: the "w/o IC" row) or "infogan";
    learning_rate is G's, d_learning_rate D's; lr_drop_every in iterations (resolved from
    lr_drop_epochs and the split's size)."""

    arch: str
    ic: bool
    epochs: float
    n_critic: int
    beta1: float
    beta2: float
    d_learning_rate: float
    lr_drop_epochs: float
    lr_drop_factor: float
    lr_drop_every: int
    info_digit_weight: float
    info_color_weight: float
    width: float
    num_hues: int


@dataclasses.dataclass(frozen=True)
class BetaVAEConfig(RunConfig):
    """beta-VAE (Higgins et al. 2017), ID-GAN's stage 1; z_dim = c_dim. Adam(beta1, beta2)."""

    c_dim: int
    beta: float
    likelihood: str
    beta1: float
    beta2: float


@dataclasses.dataclass(frozen=True)
class IDGANConfig(RunConfig):
    """ID-GAN (Lee et al. 2020), stage 2: G(s, c) with z = (s, c), z_dim = s_dim + c_dim;
    learning_rate is G's, d_learning_rate D's (RMSprop); penalty_weight is R1's gamma."""

    vae_run_dir: str
    c_dim: int
    s_dim: int
    w_info: float
    d_learning_rate: float
    ema_decay: float


@dataclasses.dataclass(frozen=True)
class InfoSCCConfig(RunConfig):
    """InfoSCC-GAN (Kinakh et al.) settings: EigenGAN G(y, eps, zs), frozen encoder/classifier."""

    encoder_dir: str
    beta1: float
    beta2: float
    noise_dim: int
    n_basis: int
    base_channels: int
    max_channels: int
    discriminator: str
    patch_layers: int
    patch_channels: int
    cls_reg_every: int
    r1_every: int
    orth_weight: float
    diffaugment: str
    diffaugment_p: float
    ema: bool


CONFIG_CLASSES = {"cwgan": CWGANConfig, "slogan": SLOGANConfig, "icgan": ICGANConfig,
                  "betavae": BetaVAEConfig, "idgan": IDGANConfig, "infoscc": InfoSCCConfig}

# Settings a resumed run may change; everything else must equal config.json. cwgan's length
# (steps / epochs) may grow or shrink; SLOGAN's steps set its schedules (see resume_changes).
RESUMABLE_CHANGES = frozenset({
    "steps_per_execution", "log_every", "sample_every", "checkpoint_every", "keep_checkpoints",
    "grid_rows", "download", "deterministic", "strategy", "cpu_devices", "run_dir", "export_dir", "export_name", "export"})
CWGAN_RESUMABLE_CHANGES = RESUMABLE_CHANGES | {"steps", "epochs"}


def gaussian_z_mean(config: RunConfig) -> Optional[float]:
    """Mean of the N(z_mean, 1) latent of a cwgan run; None for SLOGAN, whose z comes from its
    learnt Gaussian mixture prior (kept in the checkpoint)."""
    if isinstance(config, InfoSCCConfig):
        return 0.0   # InfoSCC-GAN: eps ~ N(0, I) (z_dim is its size)
    return config.z_mean if isinstance(config, CWGANConfig) else None


# Settings added after a run directory may have been written, with the value that reproduces
# what those runs did: a missing one is filled in rather than refused.
# Models whose train steps are replica-aware (tfgan_suite.replicas: global-batch draws, loss
# scale, cross-replica estimates), hence allowed a --strategy other than default.
DISTRIBUTED_MODELS = ("cwgan", "slogan", "betavae", "idgan")
SINGLE_DEVICE = {"sync_batch_norm": False, "strategy": "default", "cpu_devices": None}
# Settings added after runs were written, with the value those runs used. Every model predates
# tf.distribute (icgan and infoscc runs too, though they stay single-device).
ADDED_SETTINGS = {model: dict(SINGLE_DEVICE) for model in MODELS}
ADDED_SETTINGS["cwgan"]["aux_classifier_weight"] = 0.0
ADDED_SETTINGS["slogan"]["learn_pi"] = True


def from_json(obj: dict, source: str = "config") -> RunConfig:
    """The dataclass a config.json dict describes; UserError for unknown / missing keys."""
    if not isinstance(obj, dict) or obj.get("model") not in CONFIG_CLASSES:
        raise UserError(f"{source} does not describe a run: its 'model' must be one of "
                        f"{', '.join(MODELS)}")
    obj = {**ADDED_SETTINGS.get(obj["model"], {}), **obj}
    cls = CONFIG_CLASSES[obj["model"]]
    names = [f.name for f in dataclasses.fields(cls)]
    unknown, missing = sorted(set(obj) - set(names)), [n for n in names if n not in obj]
    if unknown or missing:
        raise UserError(f"{source} does not match this version's {obj['model']} configuration "
                        f"(unknown: {', '.join(unknown) or 'none'}; missing: "
                        f"{', '.join(missing) or 'none'}); train it with a matching version or "
                        f"start a new --run_dir")
    values = dict(obj)
    values["dataset_options"] = {k: tuple(v) if isinstance(v, list) else v
                                 for k, v in (obj["dataset_options"] or {}).items()}
    if values.get("probe_folders") is not None:
        values["probe_folders"] = tuple(values["probe_folders"])
    return cls(**values)


def resume_changes(recorded: RunConfig, requested: RunConfig) -> dict:
    """{key: (recorded, requested)} of the settings that may change on resume and did; raises
    UserError listing every other changed setting old -> new."""
    old, new = recorded.to_json(), requested.to_json()
    changed = {k: (old.get(k), new.get(k)) for k in sorted(set(old) | set(new))
               if old.get(k) != new.get(k)}
    allowed = CWGAN_RESUMABLE_CHANGES if isinstance(recorded, CWGANConfig) else RESUMABLE_CHANGES
    if isinstance(recorded, InfoSCCConfig):   # no schedule depends on the run's length
        allowed = RESUMABLE_CHANGES | {"steps"}
    refused = {k: v for k, v in changed.items() if k not in allowed}
    if refused:
        details = ", ".join(f"{k}: {a!r} -> {b!r}" for k, (a, b) in refused.items())
        why = (" (SLOGAN's --steps sets its learning-rate and lambda/m schedules, so the run "
               "keeps the length it started with)" if "steps" in refused and
               recorded.model == "slogan" else "")
        raise UserError(f"{requested.run_dir} holds a run with different settings: {details}"
                        f"{why}. Rerun with the recorded settings to resume it, or pass a new "
                        f"--run_dir.")
    return {k: v for k, v in changed.items() if k != "run_dir"}


def define_flags():
    """Define the training flags once (importing several CLIs in one process is safe).

    Model-specific flags default to None: `resolve` fills in the paper's value for the chosen
    model / loss / dataset, so each default is written down once."""
    if "model" in FLAGS:
        return
    flags.DEFINE_enum("model", "cwgan", MODELS, "Model: cwgan (Fabbri cWGAN-GP), slogan, icgan "
                      "(Wang et al. Information Compensation GAN; --dataset=colormnist), "
                      "ID-GAN's two stages: betavae, then idgan, or infoscc (InfoSCC-GAN; train "
                      "its encoder first with tfgan_suite.train_encoder).")
    flags.DEFINE_string("dataset", "mnist5k",
                        "Dataset, one of: " + ", ".join(DATASET_NAMES) +
                        ". mnist5k is the real MNIST subset shipped with the install (offline).")
    flags.DEFINE_string("data_dir", None, "Directory holding the dataset in its official format "
                        "(not needed for mnist5k and gaussians8).")
    flags.DEFINE_boolean("download", False, "Download the dataset into --data_dir first where a "
                         "standard source exists (mnist, mnist2, fmnist, fmnist5, cifar10, cifar2; "
                         "MD5-checked). CelebA and EFIGI: download by hand.")
    flags.DEFINE_string("split", "train", "Dataset split to train on: train or test.")
    flags.DEFINE_string("run_dir", None, "Run directory (checkpoints, TensorBoard logs, samples, "
                        "config.json, invocations.jsonl). Default runs/<model>_<dataset>. Rerunning "
                        "the same command resumes from its last checkpoint; one training at a "
                        "time may use it (a lock file guards it).")
    flags.DEFINE_string("export_dir", "exports", "SavedModels go to <export_dir>/<name>/<version>/.")
    flags.DEFINE_string("export_name", None, "Model name under --export_dir; default <model>_<dataset>.")
    flags.DEFINE_boolean("export", True, "Export the generator as a SavedModel when training ends.")
    flags.DEFINE_integer("steps", None, "Generator iterations to train in total (each runs n_critic "
                         "critic updates). Default: cwgan --epochs worth of iterations; slogan "
                         "100,000 (paper; it also sets SLOGAN's schedules, so a run keeps it).")
    flags.DEFINE_integer("stop_at", None, "Stop this invocation at iteration N (< --steps), with "
                         "a checkpoint. The run keeps its length --steps (SLOGAN's schedules follow "
                         "it); the same command without --stop_at continues it.")
    flags.DEFINE_float("max_minutes", None, "Stop this invocation after M minutes of training, "
                       "with a checkpoint (for time-limited machines); rerunning resumes.")
    flags.DEFINE_float("epochs", None, "cwgan: epochs (dataset size / batch size generator "
                       "iterations) when --steps is unset (> 0). Paper: 100; the original code's "
                       "default: 25.")
    flags.DEFINE_integer("batch_size", None, "Batch size (> 0). Paper: 64 (SLOGAN synthetic: "
                         "128, as its original code).")
    flags.DEFINE_integer("seed", 0, "Random seed (data order, initial weights, z stream).")
    flags.DEFINE_integer("z_dim", None, "Latent size (> 0). cwgan paper: 100; slogan: 64 "
                         "(synthetic, MNIST, FMNIST), 128 (CIFAR, CelebA).")
    flags.DEFINE_float("z_mean", None, "cwgan: z ~ N(z_mean, 1). Default -1, as the original "
                       "trains CelebA/MNIST (np.random.normal(-1, 1)); export and generation use "
                       "the recorded value. SLOGAN learns its prior.")
    flags.DEFINE_string("loss", None, "Adversarial loss. cwgan: wgan (paper), gan, lsgan; "
                        "slogan: wgan, hinge.")
    flags.DEFINE_enum("penalty", None, ["gp", "lp", "alp", "none"],
                      "Critic regulariser. cwgan: gp for wgan (paper), none for gan/lsgan. "
                      "slogan: lp (synthetic, MNIST, FMNIST), alp (CIFAR, CelebA), as Appendix E.")
    flags.DEFINE_float("penalty_weight", None, "Penalty weight lambda (>= 0). Paper: 10.")
    flags.DEFINE_boolean("original_gp", None, "cwgan: reproduce the original cWGAN gradient "
                         "penalty (one eps per batch, norm over image axis 1 only) instead of the "
                         "correct one. Default off.")
    flags.DEFINE_integer("n_critic", None, "Critic updates per generator update. Paper: 5 for wgan; "
                         "the original uses 1 for gan and lsgan.")
    flags.DEFINE_integer("generator_updates", None, "cwgan: generator updates per iteration. "
                         "Default 1; the original MNIST code runs 2 (a quirk).")
    flags.DEFINE_float("learning_rate", None, "Adam learning rate (> 0). cwgan paper: 1e-4 (wgan); "
                       "original: 2e-4 (gan), 1e-3 (lsgan). slogan: eta of Appendix E per dataset "
                       "(G and E; D uses 4 eta), decayed linearly to 0.")
    flags.DEFINE_float("beta1", None, "cwgan: Adam beta1 in [0, 1). Paper: 0.0 (wgan); original: "
                       "0.5 (gan, lsgan).")
    flags.DEFINE_float("beta2", None, "cwgan: Adam beta2 in [0, 1). Paper: 0.9 (wgan); original: "
                       "0.999 (gan, lsgan).")
    flags.DEFINE_float("bn_momentum", None, "cwgan: generator BatchNorm moving-average momentum "
                       "in [0, 1). Original: 0.999 (tf.contrib decay).")
    flags.DEFINE_boolean("relu_output", None, "cwgan: original MNIST generator: BN + ReLU output "
                         "with pixels in [0, 1] instead of tanh in [-1, 1]. Default off.")
    flags.DEFINE_boolean("batch_stats_at_inference", None, "cwgan: sample with BatchNorm batch "
                         "statistics as the original always does (default: moving averages).")
    flags.DEFINE_float("width", None, "cwgan: scales the channels of every hidden layer of G and "
                       "D, in (0, 4]. Paper: 1.")
    flags.DEFINE_float("aux_classifier_weight", None, "cwgan: weight of an auxiliary classifier "
                       "head on the critic (AC-GAN: the critic classifies real images, the "
                       "generator's images are pushed towards their condition), >= 0; class or "
                       "binary-attribute labels. Paper: 0 (none).")
    flags.DEFINE_string("diffaugment", None, "cwgan: DiffAugment policy for everything the critic "
                        "sees, a comma list of " + ", ".join(DIFFAUGMENT_NAMES) + ". Paper: none.")
    flags.DEFINE_integer("steps_per_execution", 10, "Iterations per tf.function call (> 0). More "
                         "amortise Keras' per-call overhead (about 0.1 s here); callbacks "
                         "(logging, samples, checkpoints, NaN guard) then run every this many, "
                         "so --log_every, --sample_every and --checkpoint_every are rounded up "
                         "to multiples of it.")
    flags.DEFINE_integer("log_every", 10, "Write TensorBoard scalars every N iterations (> 0).")
    flags.DEFINE_integer("sample_every", 500, "Write the fixed-z sample grid every N iterations "
                         "(> 0). Original: 500.")
    flags.DEFINE_integer("checkpoint_every", 500, "Checkpoint every N iterations (> 0). Original: 500.")
    flags.DEFINE_integer("keep_checkpoints", 3, "Checkpoints kept (> 0).")
    flags.DEFINE_integer("grid_rows", 8, "Rows (fixed z vectors) of the sample grid (> 0).")
    flags.DEFINE_enum("strategy", "default", ["default", "mirrored", "multi_worker"],
                      "Where to train (tf.distribute). default: one device. mirrored: "
                      "MirroredStrategy over this machine's GPUs (without GPUs: over "
                      "--cpu_devices logical CPU devices, which exercises the code paths but is "
                      "not faster). multi_worker: MultiWorkerMirroredStrategy over the hosts in "
                      "the TF_CONFIG environment variable (same command on every host; only the "
                      "chief writes; --run_dir must be readable by every host). --batch_size is "
                      "the global batch, split evenly over the replicas; may change on resume.")
    flags.DEFINE_integer("cpu_devices", None, "--strategy=mirrored on a machine without GPUs: "
                         "split the CPU into this many logical devices, one replica each "
                         "(default 1).")
    flags.DEFINE_boolean("sync_batch_norm", False, "BatchNormalization uses the statistics of "
                         "the global batch (keras.layers.BatchNormalization synchronized=True) "
                         "instead of each replica's: with it, R replicas train as one device on "
                         "the same global batch. No effect on one device.")
    flags.DEFINE_boolean("deterministic", False, "Bit-identical reruns: TensorFlow's op "
                         "determinism (tf.config.experimental.enable_op_determinism; some GPU "
                         "kernels are non-deterministic by design, ops without a deterministic "
                         "kernel fail) and, from the command line, oneDNN's CPU kernels off "
                         "(TF_ENABLE_ONEDNN_OPTS=0 unless you set it), which removed the rare "
                         "run-to-run divergence the README describes under Resume. Slower.")
    # SLOGAN (Hwang et al.); defaults per dataset from Appendix E, see models/slogan_defaults.py.
    flags.DEFINE_integer("num_components", None, "slogan: mixture components K. Paper: 8 "
                         "(synthetic), 10 (MNIST, FMNIST, CIFAR-10), 2 (MNIST-2, CIFAR-2, CelebA), "
                         "5 (FMNIST-5).")
    flags.DEFINE_integer("feature_dim", None, "slogan: encoder output size. Paper: 64 / 128 (CIFAR, "
                         "CelebA).")
    flags.DEFINE_float("gumbel_temperature", None, "slogan: Gumbel-softmax tau (> 0). Paper: 0.01; "
                       "original synthetic code: 0.1.")
    flags.DEFINE_float("u2c_weight", None, "slogan: lambda, the U2C loss weight (>= 0, decayed by "
                       "the schedule). Paper: 4 synthetic/MNIST-2, 10 MNIST/FMNIST, 1 others.")
    flags.DEFINE_float("feature_scale", None, "slogan: s of Eq. 66 (> 0). Paper: 2 synthetic, 8 "
                       "MNIST, 1 FMNIST, 4 others.")
    flags.DEFINE_float("angular_margin", None, "slogan: m of Eq. 66 (>= 0, decayed by the "
                       "schedule). Paper: 0.5 (0 for FMNIST).")
    flags.DEFINE_float("prior_learning_rate", None, "slogan: gamma for Sigma and rho (> 0; mu uses "
                       "10 gamma), decayed linearly. Paper: 1e-2 synthetic, 2e-3 MNIST/CIFAR, 1e-3 "
                       "FMNIST, 4e-3 FMNIST-5, 6e-4 CelebA.")
    flags.DEFINE_float("schedule_end", None, "slogan: lambda and m are multiplied by "
                       "max(0, 1 + t (end - 1) / T) (end <= 1). Original: 0 (CIFAR), -4 (synthetic).")
    flags.DEFINE_boolean("simclr", None, "slogan: SimCLR on DiffAugment'ed generated images. "
                         "Default on for colour datasets (paper D.4; the original CIFAR code).")
    flags.DEFINE_enum("sigma_grad_scale", None, ["paper", "original"], "slogan: the Sigma "
                      "gradient of Eq. 5 (paper, default: 1/2 sym(E[S]), the exact gradient) or "
                      "the original code's (no 1/2: a step twice as large).")
    flags.DEFINE_boolean("learn_pi", None, "slogan: update the mixing coefficients pi = softmax(rho) "
                         "with Eq. 7 (default, the paper). --nolearn_pi keeps pi uniform, as DeLiGAN "
                         "(Gurumurthy et al., 2017) and the paper's 'w/o rho update' ablation (Table 8).")
    flags.DEFINE_string("probe_data", None, "slogan: attribute manipulation (Sec. 3.4) with probe "
                        "data: a folder with one subfolder of PNG/JPEG images per latent component "
                        "(named 0..K-1, or see --probe_folders) at the training resolution "
                        "(CelebA: also the aligned 178x218 images), or an .npz with images uint8 "
                        "[N,H,W,C] and components int [N]. Paper: 30 per component (CelebA), 10 "
                        "(CIFAR-2).")
    flags.DEFINE_list("probe_folders", None, "slogan: subfolders of --probe_data in component "
                      "order (default 0,1,...,K-1).")
    flags.DEFINE_float("probe_weight", None, "slogan: weight of the probe loss L_m (Eq. 11) "
                       "(> 0). The paper states none: 1.")
    flags.DEFINE_boolean("probe_mixup", None, "slogan: mixup within each component's probe set "
                         "(Algorithm 3, App. D.3). Default off.")
    flags.DEFINE_integer("probe_mixup_iterations", None, "slogan: mixup iterations T (> 0). "
                         "Paper: 5 (App. D.3).")
    flags.DEFINE_enum("probe_loss", None, ["per_probe", "pooled"], "slogan: L_m as Eq. 11 per "
                      "probe, summed over components (per_probe, default), or as the last line "
                      "of Algorithm 3, pooling the j-th probes of all components (pooled).")
    flags.DEFINE_enum("icgan_arch", None, list(ICGAN_ARCH_DEFAULTS), "icgan: networks. icgan "
                      "(default; IC-Connections, blur-pool D, equalised learning rate) or infogan "
                      "(the paper's InfoGAN row: Chen et al.'s MNIST networks, GAN loss, G 1e-3, "
                      "D 3e-3 as the paper, Adam (0.5, 0.999)). icgan also reads --epochs "
                      "(paper: 40), --n_critic (1), --beta1 / --beta2 (0, 0.99 for icgan) and "
                      "--width (1).")
    flags.DEFINE_boolean("no_ic", None, "icgan: the paper's 'w/o IC' ablation: BatchNorm in "
                         "place of the IC-Connections' Shift-Scale blocks. Default off.")
    flags.DEFINE_float("d_learning_rate", None, "icgan, idgan: the discriminator's learning rate "
                       "(> 0; --learning_rate is G's). icgan (Adam, TTUR) paper: 8e-2 (G 5e-2), "
                       "InfoGAN: 3e-3; idgan (RMSprop) paper: 1e-4 (G: 1e-3 dSprites, 1e-4 CelebA).")
    flags.DEFINE_float("lr_drop_epochs", None, "icgan: the rates drop every this many epochs "
                       "(> 0). Paper: 5.")
    flags.DEFINE_float("lr_drop_factor", None, "icgan: multiply the rates by this at each drop, "
                       "in (0, 1]. Paper: 0.9 (a 10% drop).")
    flags.DEFINE_float("info_digit_weight", None, "icgan: lambda1 of Eq. 5 (digit code cross-"
                       "entropy), >= 0. The paper gives no value: 1, InfoGAN's info_reg_coeff.")
    flags.DEFINE_float("info_color_weight", None, "icgan: lambda2 of Eq. 5 (colour code MSE), "
                       ">= 0. The paper gives no value: 1, InfoGAN's info_reg_coeff.")
    flags.DEFINE_enum("mnist_source", None, ["mnist5k", "mnist"], "colormnist: MNIST digits to "
                      "colour: mnist5k (default, shipped offline) or mnist (--data_dir with the "
                      "IDX files or mnist.pkl.gz).")
    # beta-VAE and ID-GAN (Lee et al. 2020); defaults in models/idgan_defaults.py.
    flags.DEFINE_integer("c_dim", None, "betavae: size of the disentangled code c (> 0). Paper: "
                         "10 (dSprites), 20 (CelebA). idgan takes it from --vae_run_dir.")
    flags.DEFINE_float("beta", None, "betavae: weight of the KL term (> 0). Paper: 8 (dSprites), "
                       "6.4 (CelebA).")
    flags.DEFINE_enum("likelihood", None, ["bernoulli", "gaussian"], "betavae: decoder "
                      "likelihood. Paper: bernoulli for dSprites, gaussian otherwise.")
    flags.DEFINE_string("vae_run_dir", None, "idgan: run directory of the trained --model=betavae "
                        "run whose encoder is distilled (restored from its newest checkpoint and "
                        "frozen). Required.")
    flags.DEFINE_integer("s_dim", None, "idgan: size of the nuisance variable s ~ N(0, I) (>= 0). "
                         "Paper: 0 (dSprites: G sees only c), 256 (CelebA).")
    flags.DEFINE_float("w_info", None, "idgan: weight of the distillation loss L_ID (>= 0). "
                       "Paper: 1e-4 (dSprites), 1e-3 (CelebA).")
    flags.DEFINE_float("ema_decay", None, "idgan: decay of the generator's moving average, used "
                       "for samples, evaluation and export, in [0, 1). Paper: 0.999.")
    # InfoSCC-GAN (Kinakh et al.; vkinakh/InfoSCC-GAN).
    flags.DEFINE_string("encoder_dir", None, "infoscc: the SimCLR encoder and attribute classifier "
                        "written by `python -m tfgan_suite.train_encoder` (required).")
    flags.DEFINE_integer("noise_dim", None, "infoscc: size of the [y, eps] mixing layer. Original 512.")
    flags.DEFINE_integer("n_basis", None, "infoscc: EigenGAN eigen-dimensions per layer. Original 6.")
    flags.DEFINE_integer("base_channels", None, "infoscc: channels of G's last block and D's "
                         "first layer (doubled per resolution halving). Original 16.")
    flags.DEFINE_integer("max_channels", None, "infoscc: channel cap of G and D. Original 512.")
    flags.DEFINE_enum("discriminator", None, ["global", "patch"], "infoscc: global image "
                      "discriminator (original 'oneclass', default) or PatchGAN (AFHQ best).")
    flags.DEFINE_integer("patch_layers", None, "infoscc: stride-2 layers of the PatchGAN; 0 (default) "
                         "as many as G has blocks (6 at 256 pixels, the original AFHQ setting).")
    flags.DEFINE_integer("patch_channels", None, "infoscc: PatchGAN ndf. Original 64.")
    flags.DEFINE_integer("cls_reg_every", None, "infoscc: a classification-regularisation step "
                         "every N iterations. Original 2 (AFHQ), 4 (CelebA).")
    flags.DEFINE_integer("r1_every", None, "infoscc: lazy R1 every N iterations. Original 16.")
    flags.DEFINE_float("orth_weight", None, "infoscc: weight of mean((U U^T - I)^2). Original 100.")
    flags.DEFINE_float("diffaugment_p", None, "infoscc: probability of each DiffAugment op. "
                       "Original 0.6.")
    flags.DEFINE_boolean("ema", None, "infoscc: keep an EMA of G (decay 0.5^(B/10k)) and sample "
                         "and export it. Default on, as the original.")
    # Dataset options (see tfgan_suite/data for each dataset's details).
    flags.DEFINE_list("attributes", None, "CelebA attributes to condition on. Paper: Bald, Bangs, "
                      "Black_Hair, Blond_Hair, Eyeglasses, Heavy_Makeup, Male, Pale_Skin, Smiling.")
    flags.DEFINE_list("partitions", None, "CelebA partitions (0 train, 1 validation, 2 test) to "
                      "use. Default for split=train: 0,1 as the paper; 0,2 reproduces the original.")
    flags.DEFINE_string("cache_dir", None, "Where prepared (decoded, cropped) images are cached. "
                        "Default <data_dir>/tfgan_cache.")
    flags.DEFINE_string("attribute_normalization", None, "EFIGI attribute scaling: none "
                        "(original) or minmax.")
    flags.DEFINE_float("mode_variance", None, "gaussians8: per-coordinate variance of every "
                       "Gaussian (> 0). Paper: 0.01 (Fig. 1); Fig. 11 also shows 0.05 and 0.1.")
    flags.DEFINE_list("class_ratio", None, "Imbalance ratio for mnist2 / cifar2 / fmnist5, e.g. 7,3.")


# Float flags: (lowest, lowest allowed?, highest, highest allowed?); every one is also
# checked for NaN / Inf, each named in its own message.
FLOAT_RANGES = {
    "epochs": (0.0, False, math.inf, False),
    "z_mean": (-math.inf, False, math.inf, False),
    "penalty_weight": (0.0, True, math.inf, False),
    "learning_rate": (0.0, False, math.inf, False),
    "beta1": (0.0, True, 1.0, False),
    "beta2": (0.0, True, 1.0, False),
    "bn_momentum": (0.0, True, 1.0, False),
    "width": (0.0, False, 4.0, True),
    "aux_classifier_weight": (0.0, True, math.inf, False),
    "gumbel_temperature": (0.0, False, math.inf, False),
    "u2c_weight": (0.0, True, math.inf, False),
    "feature_scale": (0.0, False, math.inf, False),
    "angular_margin": (0.0, True, math.inf, False),
    "prior_learning_rate": (0.0, False, math.inf, False),
    "schedule_end": (-math.inf, False, 1.0, True),
    "probe_weight": (0.0, False, math.inf, False),
    "d_learning_rate": (0.0, False, math.inf, False),
    "lr_drop_epochs": (0.0, False, math.inf, False),
    "lr_drop_factor": (0.0, False, 1.0, True),
    "info_digit_weight": (0.0, True, math.inf, False),
    "info_color_weight": (0.0, True, math.inf, False),
    "beta": (0.0, False, math.inf, False),
    "w_info": (0.0, True, math.inf, False),
    "ema_decay": (0.0, True, 1.0, False),
    "orth_weight": (0.0, True, math.inf, False),
    "diffaugment_p": (0.0, True, 1.0, True),
}
POSITIVE_INTEGERS = ("steps", "batch_size", "z_dim", "n_critic", "generator_updates",
                     "steps_per_execution", "log_every", "sample_every", "checkpoint_every",
                     "keep_checkpoints", "grid_rows", "feature_dim", "probe_mixup_iterations",
                     "c_dim")
CADENCES = ("log_every", "sample_every", "checkpoint_every")

CWGAN_ONLY = ("epochs", "z_mean", "n_critic", "beta1", "beta2", "generator_updates", "bn_momentum",
              "relu_output", "batch_stats_at_inference", "original_gp", "diffaugment", "width",
              "aux_classifier_weight")
SLOGAN_FLAGS = {"num_components": "num_components", "feature_dim": "feature_dim",
                "gumbel_temperature": "tau", "u2c_weight": "u2c_weight",
                "feature_scale": "feature_scale", "angular_margin": "margin",
                "prior_learning_rate": "prior_learning_rate", "schedule_end": "schedule_end",
                "simclr": "simclr", "sigma_grad_scale": "sigma_grad_scale",
                "learn_pi": "learn_pi"}
ICGAN_ONLY = ("icgan_arch", "no_ic", "d_learning_rate", "lr_drop_epochs", "lr_drop_factor",
              "info_digit_weight", "info_color_weight")
PROBE_FLAGS = ("probe_data", "probe_folders", "probe_weight", "probe_mixup",
               "probe_mixup_iterations", "probe_loss")
BETAVAE_FLAGS = ("c_dim", "beta", "likelihood")
IDGAN_FLAGS = ("vae_run_dir", "s_dim", "w_info", "d_learning_rate", "ema_decay")


def _range_text(low, low_ok, high, high_ok) -> str:
    if (low, low_ok, high) == (0.0, False, math.inf):
        return "positive and finite"
    parts = []
    if low > -math.inf:
        parts.append(f"{'>=' if low_ok else '>'} {low:g}")
    if high < math.inf:
        parts.append(f"{'<=' if high_ok else '<'} {high:g}")
    return "a finite number " + " and ".join(parts) if parts else "finite"


def check_floats(f):
    """Every float flag that is set: finite and within its range (FLOAT_RANGES)."""
    for name, (low, low_ok, high, high_ok) in FLOAT_RANGES.items():
        value = getattr(f, name)
        if value is None:
            continue
        inside = (value >= low if low_ok else value > low) and \
                 (value <= high if high_ok else value < high)
        if not math.isfinite(value) or not inside:
            raise UserError(f"--{name} must be {_range_text(low, low_ok, high, high_ok)}, "
                            f"got {value}")


def check_integers(f):
    for name in POSITIVE_INTEGERS:
        value = getattr(f, name)
        if value is not None and value <= 0:
            raise UserError(f"--{name} must be positive, got {value}")


def honour_cadences(values: dict) -> dict:
    """Round each cadence up to a multiple of steps_per_execution: callbacks run only at the
    end of a tf.function call, so other values could not be kept. Prints one line per change."""
    chunk = values["steps_per_execution"]
    for name in CADENCES:
        every = values[name]
        if every % chunk:
            rounded = -(-every // chunk) * chunk
            print(f"note: --{name}={every} rounded up to {rounded}, a multiple of "
                  f"--steps_per_execution={chunk} (callbacks run after each call of that many "
                  f"iterations)")
            values[name] = rounded
    return values


def _dataset_options(f) -> dict:
    """Dataset keyword options set on the command line (only those given)."""
    options = {}
    if f.attributes:
        options["attributes"] = tuple(f.attributes)
    if f.partitions:
        try:
            partitions = tuple(int(p) for p in f.partitions)
        except ValueError:
            raise UserError(f"--partitions must be integers 0, 1 or 2, got {f.partitions}") from None
        options[f"{f.split}_partitions"] = partitions
    if f.cache_dir:
        options["cache_dir"] = os.path.abspath(f.cache_dir)
    if f.attribute_normalization:
        options["normalization"] = f.attribute_normalization
    if f.mode_variance is not None:
        options["variance"] = f.mode_variance
    if f.mnist_source:
        options["source"] = f.mnist_source
    if f.class_ratio:
        try:
            options["ratio"] = tuple(float(r) for r in f.class_ratio)
        except ValueError:
            raise UserError(f"--class_ratio must be numbers such as 7,3, got {f.class_ratio}") from None
    return options


def _or(value, default):
    return default if value is None else value


def resolve(f=FLAGS) -> RunConfig:
    """Validated configuration from parsed flags; raises UserError naming the flag at fault."""
    if f.dataset not in DATASET_NAMES:
        raise UserError(f"--dataset={f.dataset} is unknown; choose one of: "
                        + ", ".join(DATASET_NAMES))
    if f.split not in ("train", "test"):
        raise UserError(f"--split must be train or test, got {f.split}")
    check_floats(f)
    check_integers(f)
    from tfgan_suite import distribute
    distribute.check_flags(f.strategy, f.cpu_devices)
    if f.strategy != "default" and f.model not in DISTRIBUTED_MODELS:
        raise UserError(f"--strategy={f.strategy} is available for "
                        f"{', '.join(DISTRIBUTED_MODELS)}; --model={f.model} trains on one device")
    if f.model == "slogan" and f.dataset not in SLOGAN_DEFAULTS:
        raise UserError(f"--model=slogan has no Appendix E configuration for --dataset={f.dataset}; "
                        f"choose one of: {', '.join(SLOGAN_DEFAULTS)}")
    loss = f.loss or _default_loss(f)
    if loss not in LOSSES_BY_MODEL[f.model]:
        raise UserError(f"--loss={loss} is not available for --model={f.model}; choose one of "
                        + ", ".join(LOSSES_BY_MODEL[f.model]))
    common = dict(model=f.model, dataset=f.dataset,
                  data_dir=f.data_dir and os.path.abspath(f.data_dir), split=f.split,
                  dataset_options=_dataset_options(f), seed=f.seed, loss=loss,
                  steps_per_execution=f.steps_per_execution, log_every=f.log_every,
                  sample_every=f.sample_every, checkpoint_every=f.checkpoint_every,
                  keep_checkpoints=f.keep_checkpoints, grid_rows=f.grid_rows,
                  download=f.download, deterministic=f.deterministic,
                  strategy=f.strategy, cpu_devices=f.cpu_devices,
                  sync_batch_norm=f.sync_batch_norm,
                  run_dir=os.path.abspath(f.run_dir or os.path.join("runs", f"{f.model}_{f.dataset}")),
                  export_dir=os.path.abspath(f.export_dir),
                  export_name=f.export_name or f"{f.model}_{f.dataset}", export=f.export)
    honour_cadences(common)
    from tfgan_suite import data   # imports TensorFlow: only once the cheap checks passed
    info = data.describe(f.dataset, **common["dataset_options"])  # rejects unknown or bad options
    if f.model != "infoscc":
        _refuse_other_model(f, INFOSCC_ONLY, "infoscc")
    if f.model in DISENTANGLED_MODELS:
        return _resolve_disentangled(f, common, info)
    # d_learning_rate is also icgan's; the other models refuse it with the icgan flags.
    _refuse_other_model(f, [n for n in (*BETAVAE_FLAGS, *IDGAN_FLAGS) if n != "d_learning_rate"],
                        "betavae or idgan")
    if f.model == "cwgan":
        return _resolve_cwgan(f, common, info.label_kind)
    if f.model == "icgan":
        return _resolve_icgan(f, common)
    if f.model == "infoscc":
        return _resolve_infoscc(f, common, info)
    return _resolve_slogan(f, common)


def _default_loss(f) -> str:
    if f.model in DISENTANGLED_LOSSES:
        return DISENTANGLED_LOSSES[f.model]
    if f.model == "infoscc":
        return INFOSCC_DEFAULTS["loss"]
    if f.model == "icgan":
        return ICGAN_ARCH_DEFAULTS[f.icgan_arch or "icgan"]["loss"]
    return (CWGAN_DEFAULTS if f.model == "cwgan" else SLOGAN_DEFAULTS[f.dataset])["loss"]


def _given(value) -> bool:
    """Set on the command line to something other than "off" (0 counts as set)."""
    return value is not None and value is not False and value != ""


def _refuse_other_model(f, names, owner):
    # `present`: also a boolean turned off on the command line (--nolearn_pi) is refused.
    given = [n for n in names if _given(getattr(f, n)) or f[n].present]
    if given:
        raise UserError(f"--{given[0]} is a {owner} setting; it needs --model={owner}"
                        + (" (SLOGAN trains with one critic update per iteration, Algorithm 1)"
                           if given[0] == "n_critic" else ""))


INFOSCC_ONLY = ("encoder_dir", "noise_dim", "n_basis", "base_channels", "max_channels",
                "discriminator", "patch_layers", "patch_channels", "cls_reg_every", "r1_every",
                "orth_weight", "diffaugment_p", "ema")


def _resolve_infoscc(f, common, info) -> InfoSCCConfig:
    """InfoSCC-GAN: the original's settings, the encoder directory checked before any work."""
    _refuse_other_model(f, (*SLOGAN_FLAGS, *PROBE_FLAGS), "slogan")
    cwgan_only = [n for n in CWGAN_ONLY if n not in ("beta1", "beta2", "diffaugment")]
    _refuse_other_model(f, cwgan_only, "cwgan")
    _refuse_other_model(f, ICGAN_ONLY, "icgan")
    if f.penalty not in (None, "none"):
        raise UserError(f"--penalty={f.penalty} is not used by infoscc: it regularises D with "
                        f"lazy R1 (--penalty_weight, --r1_every); --penalty=none turns R1 off")
    if not info.is_image:
        raise UserError(f"--model=infoscc needs an image dataset; --dataset={f.dataset} is not")
    defaults = {**INFOSCC_DEFAULTS, **INFOSCC_DATASET_DEFAULTS.get(f.dataset, {})}
    values = dict(common)
    for key, default in defaults.items():
        if key not in ("loss", "penalty"):
            values[key] = _or(getattr(f, key), default)
    values["penalty"] = "none" if f.penalty == "none" else "r1"
    for name in ("noise_dim", "n_basis", "base_channels", "max_channels", "patch_channels",
                 "cls_reg_every", "r1_every"):
        if values[name] <= 0:
            raise UserError(f"--{name} must be positive, got {values[name]}")
    if values["patch_layers"] < 0:
        raise UserError(f"--patch_layers must be >= 0, got {values['patch_layers']}")
    unknown = [p.strip() for p in values["diffaugment"].split(",")
               if p.strip() and p.strip() not in DIFFAUGMENT_NAMES]
    if unknown:
        raise UserError(f"--diffaugment: unknown DiffAugment policy {', '.join(unknown)}; "
                        f"choose from " + ", ".join(DIFFAUGMENT_NAMES))
    side = info.example_shape[0]
    if side % 2 or side < 8 or info.example_shape[0] != info.example_shape[1]:
        raise UserError(f"--model=infoscc needs square images with an even side of at least 8 "
                        f"(EigenGAN doubles from a 4-7 pixel start); --dataset={f.dataset} has "
                        f"{info.example_shape}")
    if not f.encoder_dir:
        raise UserError("--model=infoscc needs --encoder_dir: train the encoder and classifier "
                        f"first with python -m tfgan_suite.train_encoder --dataset={f.dataset} "
                        "--encoder_dir=DIR")
    from tfgan_suite import encoder_store
    values["encoder_dir"] = os.path.abspath(f.encoder_dir)
    meta = encoder_store.read_meta(values["encoder_dir"])
    encoder_store.check_matches(meta, values["encoder_dir"], info.example_shape,
                                info.label_names, info.label_kind)
    return InfoSCCConfig(**values)


def _resolve_cwgan(f, common, label_kind) -> CWGANConfig:
    _refuse_other_model(f, (*SLOGAN_FLAGS, *PROBE_FLAGS), "slogan")
    _refuse_other_model(f, ICGAN_ONLY, "icgan")
    values = dict(common)
    for key, default in {**CWGAN_DEFAULTS, **CWGAN_LOSS_DEFAULTS[common["loss"]]}.items():
        values.setdefault(key, _or(getattr(f, key), default))
    values["steps"] = f.steps
    if values["penalty"] not in ("gp", "none"):
        raise UserError(f"--penalty={values['penalty']} is not used by cwgan; choose gp or none")
    if values["original_gp"] and values["penalty"] != "gp":
        raise UserError("--original_gp needs --penalty=gp (it changes the gradient penalty)")
    unknown = [p.strip() for p in values["diffaugment"].split(",")
               if p.strip() and p.strip() not in DIFFAUGMENT_NAMES]
    if unknown:
        raise UserError(f"--diffaugment: unknown DiffAugment policy {', '.join(unknown)}; "
                        f"choose from "
                        + ", ".join(DIFFAUGMENT_NAMES))
    if values["aux_classifier_weight"] and label_kind not in ("onehot", "binary"):
        raise UserError(f"--aux_classifier_weight needs class or binary-attribute labels; "
                        f"--dataset={f.dataset} has {label_kind} labels")
    if values["relu_output"] and not f.dataset.startswith("mnist"):
        raise UserError("--relu_output reproduces the original MNIST generator; use it with an "
                        "MNIST dataset only")
    return CWGANConfig(**values)


def _resolve_slogan(f, common) -> SLOGANConfig:
    if f.n_critic not in (None, 1):
        raise UserError("--n_critic is a cwgan setting; SLOGAN trains with one critic update per "
                        "iteration (Algorithm 1)")
    _refuse_other_model(f, [n for n in CWGAN_ONLY if n != "n_critic"], "cwgan")
    _refuse_other_model(f, ICGAN_ONLY, "icgan")
    defaults = SLOGAN_DEFAULTS[f.dataset]
    values = dict(common, batch_size=_or(f.batch_size, defaults["batch_size"]),
                  z_dim=_or(f.z_dim, defaults["latent_dim"]),
                  penalty=_or(f.penalty, defaults["penalty"]),
                  penalty_weight=_or(f.penalty_weight, defaults["penalty_weight"]),
                  learning_rate=_or(f.learning_rate, defaults["learning_rate"]),
                  steps=_or(f.steps, SLOGAN_PAPER_STEPS))
    for flag_name, key in SLOGAN_FLAGS.items():
        values[key] = _or(getattr(f, flag_name), defaults[key])
    for key in ("generator_batch_factor", "encoder_weight_decay"):   # the original code's, fixed
        values[key] = defaults[key]
    if values["num_components"] < 2:
        raise UserError(f"--num_components must be at least 2, got {values['num_components']}")
    values["probe_data"] = f.probe_data and os.path.abspath(f.probe_data)
    values["probe_folders"] = tuple(f.probe_folders) if f.probe_folders else None
    for key, default in SLOGAN_PROBE_DEFAULTS.items():
        values[key] = _or(getattr(f, key), default)
    if not f.probe_data:
        given = [name for name in PROBE_FLAGS[1:] if _given(getattr(f, name))]
        if given:
            raise UserError(f"--{given[0]} needs --probe_data")
    config = SLOGANConfig(**values)
    if config.probe_data:
        # Probe data (Sec. 3.4): the set is read and checked here, before the dataset loads.
        from tfgan_suite import data
        from tfgan_suite.models.slogan import probe_objective
        probe_objective(config, data.describe(f.dataset, **config.dataset_options)).read()
    return config


def _resolve_icgan(f, common) -> ICGANConfig:
    """ICGAN / w/o IC / InfoGAN on ColorMNIST (paper defaults in ICGAN_DEFAULTS)."""
    _refuse_other_model(f, (*SLOGAN_FLAGS, *PROBE_FLAGS), "slogan")
    _refuse_other_model(f, [n for n in CWGAN_ONLY
                            if n not in ("epochs", "n_critic", "beta1", "beta2", "width")], "cwgan")
    if f.dataset != "colormnist":
        raise UserError(f"--model=icgan trains on ColorMNIST (its codes are the digit and the "
                        f"background colour): use --dataset=colormnist, not {f.dataset}")
    if common["dataset_options"].get("classifier_set"):
        raise UserError("the GAN trains on the digit images only; classifier_set is for the "
                        "digit classifier")
    arch = f.icgan_arch or "icgan"
    if f.no_ic and arch != "icgan":
        raise UserError("--no_ic removes the IC-Connections of --icgan_arch=icgan; InfoGAN has none")
    values = dict(common, arch=arch, ic=not f.no_ic)
    for key, default in {**ICGAN_DEFAULTS, **ICGAN_ARCH_DEFAULTS[arch]}.items():
        values.setdefault(key, _or(getattr(f, key, None), default))
    values["steps"] = f.steps
    if values["penalty"] not in ("gp", "none"):
        raise UserError(f"--penalty={values['penalty']} is not used by icgan; choose gp or none")
    from tfgan_suite.models.icgan import CODE_DIM
    if values["z_dim"] <= CODE_DIM:
        raise UserError(f"--z_dim={values['z_dim']} leaves no noise: ICGAN's latent holds "
                        f"{CODE_DIM} code dimensions (10 digit + 3 colour) plus noise; paper: 100")
    from tfgan_suite.data import colormnist
    options = colormnist.Options(**common["dataset_options"])
    size = colormnist.split_size(options, common["data_dir"], common["split"])
    epoch = max(1, size // values["batch_size"])
    values["lr_drop_every"] = max(1, int(round(values["lr_drop_epochs"] * epoch)))
    return ICGANConfig(**values)
def _resolve_disentangled(f, common, info):
    """betavae (stage 1) or idgan (stage 2, which names its stage-1 run in --vae_run_dir)."""
    _refuse_other_model(f, CWGAN_ONLY, "cwgan")
    _refuse_other_model(f, (*SLOGAN_FLAGS, *PROBE_FLAGS), "slogan")
    _refuse_other_model(f, [n for n in ICGAN_ONLY if n != "d_learning_rate"], "icgan")
    if tuple(info.example_shape[:2]) != (64, 64) or not info.is_image:
        raise UserError(f"--model={f.model} takes 64x64 images (the paper's networks); "
                        f"--dataset={f.dataset} has examples of shape {info.example_shape}. Use "
                        f"dsprites, color_dsprites, noisy_dsprites or celeba")
    if f.z_dim is not None:
        raise UserError(f"--z_dim is not used by --model={f.model}: set the code size with "
                        f"--c_dim (betavae) and the nuisance size with --s_dim (idgan)")
    if f.penalty not in (None, "none" if f.model == "betavae" else None):
        raise UserError(f"--penalty is fixed for --model={f.model} (idgan: R1 on real data, its "
                        f"weight --penalty_weight; betavae: none)")
    if f.model == "betavae":
        _refuse_other_model(f, IDGAN_FLAGS, "idgan")
        if f.penalty_weight is not None:
            raise UserError("--penalty_weight is an idgan setting (R1's gamma); betavae has no "
                            "discriminator")
        defaults = idgan_defaults.betavae_defaults(f.dataset)
        values = dict(common, penalty="none", penalty_weight=0.0)
        for key in ("batch_size", "learning_rate", "steps", "c_dim", "beta", "likelihood"):
            values[key] = _or(getattr(f, key), defaults[key])
        values.update(beta1=defaults["beta1"], beta2=defaults["beta2"], z_dim=values["c_dim"])
        return BetaVAEConfig(**values)
    _refuse_other_model(f, [n for n in BETAVAE_FLAGS if n != "c_dim"], "betavae")
    if not f.vae_run_dir:
        raise UserError("--model=idgan distils a trained beta-VAE: pass --vae_run_dir=<the run "
                        "directory of a --model=betavae run> (train one first with "
                        f"python -m tfgan_suite.train --model=betavae --dataset={f.dataset})")
    vae = check_vae_run(f.vae_run_dir, info)
    if f.c_dim is not None and f.c_dim != vae.c_dim:
        raise UserError(f"--c_dim={f.c_dim} differs from the c_dim {vae.c_dim} of the beta-VAE "
                        f"in --vae_run_dir; leave --c_dim out (idgan takes it from that run)")
    if f.s_dim is not None and f.s_dim < 0:
        raise UserError(f"--s_dim must be 0 or more, got {f.s_dim}")
    defaults = idgan_defaults.idgan_defaults(f.dataset)
    values = dict(common, penalty="r1", vae_run_dir=os.path.abspath(f.vae_run_dir),
                  c_dim=vae.c_dim)
    for key in ("batch_size", "learning_rate", "steps", "penalty_weight", "s_dim", "w_info",
                "d_learning_rate", "ema_decay"):
        values[key] = _or(getattr(f, key), defaults[key])
    values["z_dim"] = values["s_dim"] + values["c_dim"]
    return IDGANConfig(**values)


def check_vae_run(vae_run_dir: str, info) -> BetaVAEConfig:
    """The stage-1 run's config, checked: a betavae run with a checkpoint, on images of
    `info`'s shape. UserError otherwise (before any data is read)."""
    from tfgan_suite import runs

    if not os.path.isdir(vae_run_dir):
        raise UserError(f"--vae_run_dir={vae_run_dir} does not exist: pass the run directory of "
                        f"a trained --model=betavae run")
    vae = runs.read_config(vae_run_dir)
    if vae.model != "betavae":
        raise UserError(f"--vae_run_dir={vae_run_dir} holds a --model={vae.model} run; ID-GAN "
                        f"needs a --model=betavae run")
    from tfgan_suite import data
    vae_shape = tuple(data.describe(vae.dataset, **vae.dataset_options).example_shape)
    if vae_shape != tuple(info.example_shape):
        raise UserError(f"the beta-VAE in --vae_run_dir was trained on {vae.dataset} images "
                        f"{vae_shape}; --dataset={info.name} has {tuple(info.example_shape)}")
    if not os.path.isfile(os.path.join(vae_run_dir, "checkpoints", "checkpoint")):
        raise UserError(f"--vae_run_dir={vae_run_dir} has no checkpoint yet: train the beta-VAE "
                        f"first (python -m tfgan_suite.train --model=betavae "
                        f"--run_dir={vae_run_dir} ...)")
    return vae


def total_steps(config: RunConfig, num_examples) -> int:
    """--steps, or --epochs x (examples / batch size) generator iterations (original: 2,855
    iterations per CelebA epoch = 182,732 // 64)."""
    if config.steps:
        return int(config.steps)
    return max(1, int(config.epochs * (num_examples // config.batch_size)))


def write_json_atomic(path, obj):
    """Write `obj` as JSON so that `path` holds either the old or the whole new text."""
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(obj, fh, indent=2, sort_keys=True)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
