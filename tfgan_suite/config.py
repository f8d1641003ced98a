"""Training flags (absl), their validation, and the resolved run configuration.

Every flag's help names its allowed values and the paper's default. Flags left at None take
the default of the chosen model / loss ("paper default"), resolved in `resolve()`; the
resolved configuration is what the run directory records and what a resume is checked against.
"""

from __future__ import annotations

import json
import os

from absl import flags

from tfgan_suite import augment, data
from tfgan_suite.errors import UserError
from tfgan_suite.models.slogan_defaults import DATASET_DEFAULTS as SLOGAN_DEFAULTS, PAPER_STEPS \
    as SLOGAN_PAPER_STEPS

MODELS = ("cwgan", "slogan")
LOSSES_BY_MODEL = {"cwgan": ("wgan", "gan", "lsgan"), "slogan": ("wgan", "hinge")}

# cameronfabbri/cWGANs: per-loss critic steps and Adam settings (lr, beta1, beta2).
CWGAN_LOSS_DEFAULTS = {
    "wgan": dict(n_critic=5, learning_rate=1e-4, beta1=0.0, beta2=0.9, penalty="gp"),
    "gan": dict(n_critic=1, learning_rate=2e-4, beta1=0.5, beta2=0.999, penalty="none"),
    "lsgan": dict(n_critic=1, learning_rate=1e-3, beta1=0.5, beta2=0.999, penalty="none"),
}

FLAGS = flags.FLAGS

# Keys of the resolved config that must not change when a run resumes.
RESUME_INVARIANTS = ("model", "dataset", "data_dir", "split", "batch_size", "seed", "z_dim",
                     "loss", "n_critic", "dataset_options", "width")


def define_flags():
    """Define the training flags once (importing several CLIs in one process is safe)."""
    if "model" in FLAGS:
        return
    flags.DEFINE_enum("model", "cwgan", MODELS, "Model: cwgan (Fabbri cWGAN-GP) or slogan.")
    flags.DEFINE_string("dataset", "mnist5k",
                        "Dataset, one of: " + ", ".join(data.DATASET_NAMES) +
                        ". mnist5k is the real MNIST subset shipped with the install (offline).")
    flags.DEFINE_string("data_dir", None, "Directory holding the dataset in its official format "
                        "(not needed for mnist5k and gaussians8).")
    flags.DEFINE_boolean("download", False, "Download the dataset into --data_dir first where a "
                         "standard source exists (mnist, mnist2, fmnist, fmnist5, cifar10, cifar2; "
                         "MD5-checked). CelebA and EFIGI: download by hand.")
    flags.DEFINE_string("split", "train", "Dataset split to train on: train or test.")
    flags.DEFINE_string("run_dir", None, "Run directory (checkpoints, TensorBoard logs, samples, "
                        "resolved flags). Default runs/<model>_<dataset>. Rerunning the same "
                        "command resumes from its last checkpoint.")
    flags.DEFINE_string("export_dir", "exports", "SavedModels go to <export_dir>/<name>/<version>/.")
    flags.DEFINE_string("export_name", None, "Model name under --export_dir; default <model>_<dataset>.")
    flags.DEFINE_boolean("export", True, "Export the generator as a SavedModel when training ends.")
    flags.DEFINE_integer("steps", None, "Generator iterations to train in total (each runs n_critic "
                         "critic updates). Default: cwgan --epochs worth of iterations; slogan "
                         "100,000 (paper).")
    flags.DEFINE_float("epochs", 100.0, "Epochs (dataset size / batch size generator iterations) "
                       "when --steps is unset. Paper: 100; the original code's default: 25.")
    flags.DEFINE_integer("batch_size", None, "Batch size (> 0). Paper: 64 (SLOGAN synthetic: "
                         "128, as its original code).")
    flags.DEFINE_integer("seed", 0, "Random seed (data order, initial weights, z stream).")
    flags.DEFINE_integer("z_dim", None, "Latent size (> 0). cwgan paper: 100; slogan: 64 "
                         "(synthetic, MNIST, FMNIST), 128 (CIFAR, CelebA).")
    flags.DEFINE_float("z_mean", -1.0, "z ~ N(z_mean, 1). The original trains CelebA/MNIST with "
                       "-1 (np.random.normal(-1, 1)); export and generation use the same prior.")
    flags.DEFINE_string("loss", None, "Adversarial loss. cwgan: wgan (paper), gan, lsgan; "
                        "slogan: wgan, hinge.")
    flags.DEFINE_enum("penalty", None, ["gp", "lp", "alp", "none"],
                      "Critic regulariser. cwgan: gp for wgan (paper), none for gan/lsgan. "
                      "slogan: lp (synthetic, MNIST, FMNIST), alp (CIFAR, CelebA), as Appendix E.")
    flags.DEFINE_float("penalty_weight", 10.0, "Penalty weight lambda (> 0). Paper: 10.")
    flags.DEFINE_boolean("original_gp", False, "Reproduce the original cWGAN gradient penalty "
                         "(one eps per batch, norm over image axis 1 only) instead of the correct one.")
    flags.DEFINE_integer("n_critic", None, "Critic updates per generator update. Paper: 5 for wgan; "
                         "the original uses 1 for gan and lsgan.")
    flags.DEFINE_integer("generator_updates", 1, "Generator updates per iteration. 1; the original "
                         "MNIST code runs 2 (a quirk).")
    flags.DEFINE_float("learning_rate", None, "Adam learning rate. cwgan paper: 1e-4 (wgan); "
                       "original: 2e-4 (gan), 1e-3 (lsgan). slogan: eta of Appendix E per dataset "
                       "(G and E; D uses 4 eta), decayed linearly to 0.")
    flags.DEFINE_float("beta1", None, "Adam beta1. Paper: 0.0 (wgan); original: 0.5 (gan, lsgan).")
    flags.DEFINE_float("beta2", None, "Adam beta2. Paper: 0.9 (wgan); original: 0.999 (gan, lsgan).")
    flags.DEFINE_float("bn_momentum", 0.999, "Generator BatchNorm moving-average momentum. "
                       "Original: 0.999 (tf.contrib decay).")
    flags.DEFINE_boolean("relu_output", False, "Original MNIST generator: BN + ReLU output with "
                         "pixels in [0, 1] instead of tanh in [-1, 1].")
    flags.DEFINE_boolean("batch_stats_at_inference", False, "Sample with BatchNorm batch statistics "
                         "as the original always does (default: moving averages).")
    flags.DEFINE_float("width", 1.0, "cwgan: scales the channels of every hidden layer of G and "
                       "D. Paper: 1; the quick start trains narrower networks (0.25).")
    flags.DEFINE_string("diffaugment", "", "cwgan: DiffAugment policy for everything the critic "
                        "sees, a comma list of color, translation, cutout. Paper: none.")
    flags.DEFINE_integer("steps_per_execution", 10, "Iterations per tf.function call (> 0). More "
                         "amortise Keras' per-call overhead (about 0.1 s here); callbacks "
                         "(logging, samples, checkpoints, NaN guard) then run every this many.")
    flags.DEFINE_integer("log_every", 10, "Write TensorBoard scalars every N iterations (> 0).")
    flags.DEFINE_integer("sample_every", 500, "Write the fixed-z sample grid every N iterations "
                         "(> 0). Original: 500.")
    flags.DEFINE_integer("checkpoint_every", 500, "Checkpoint every N iterations (> 0). Original: 500.")
    flags.DEFINE_integer("keep_checkpoints", 3, "Checkpoints kept (> 0).")
    flags.DEFINE_integer("grid_rows", 8, "Rows (fixed z vectors) of the sample grid (> 0).")
    # SLOGAN (Hwang et al.); defaults per dataset from Appendix E, see models/slogan.py.
    flags.DEFINE_integer("num_components", None, "slogan: mixture components K. Paper: 8 "
                         "(synthetic), 10 (MNIST, FMNIST, CIFAR-10), 2 (MNIST-2, CIFAR-2, CelebA), "
                         "5 (FMNIST-5).")
    flags.DEFINE_integer("feature_dim", None, "slogan: encoder output size. Paper: 64 / 128 (CIFAR, "
                         "CelebA).")
    flags.DEFINE_float("gumbel_temperature", None, "slogan: Gumbel-softmax tau. Paper: 0.01; "
                       "original synthetic code: 0.1.")
    flags.DEFINE_float("u2c_weight", None, "slogan: lambda, the U2C loss weight (decayed by the "
                       "schedule). Paper: 4 synthetic/MNIST-2, 10 MNIST/FMNIST, 1 others.")
    flags.DEFINE_float("feature_scale", None, "slogan: s of Eq. 66. Paper: 2 synthetic, 8 MNIST, "
                       "1 FMNIST, 4 others.")
    flags.DEFINE_float("angular_margin", None, "slogan: m of Eq. 66 (decayed by the schedule). "
                       "Paper: 0.5 (0 for FMNIST).")
    flags.DEFINE_float("prior_learning_rate", None, "slogan: gamma for Sigma and rho (mu uses 10 "
                       "gamma), decayed linearly. Paper: 1e-2 synthetic, 2e-3 MNIST/CIFAR, 1e-3 "
                       "FMNIST, 4e-3 FMNIST-5, 6e-4 CelebA.")
    flags.DEFINE_float("schedule_end", None, "slogan: lambda and m are multiplied by "
                       "max(0, 1 + t (end - 1) / T). Original: 0 (CIFAR), -4 (synthetic).")
    flags.DEFINE_boolean("simclr", None, "slogan: SimCLR on DiffAugment'ed generated images. "
                         "Default on for colour datasets (paper D.4; the original CIFAR code).")
    flags.DEFINE_enum("sigma_grad_scale", "paper", ["paper", "original"], "slogan: the Sigma "
                      "gradient of Eq. 5 (paper: 1/2 sym(E[S]), the exact gradient) or the "
                      "original code's (no 1/2: a step twice as large).")
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
    flags.DEFINE_boolean("probe_mixup", False, "slogan: mixup within each component's probe set "
                         "(Algorithm 3, App. D.3).")
    flags.DEFINE_integer("probe_mixup_iterations", None, "slogan: mixup iterations T (> 0). "
                         "Paper: 5 (App. D.3).")
    flags.DEFINE_enum("probe_loss", None, ["per_probe", "pooled"], "slogan: L_m as Eq. 11 per "
                      "probe, summed over components (per_probe, default), or as the last line "
                      "of Algorithm 3, pooling the j-th probes of all components (pooled).")
    # Dataset options (see tfgan_suite/data for each dataset's details).
    flags.DEFINE_list("attributes", None, "CelebA attributes to condition on. Paper: Bald, Bangs, "
                      "Black_Hair, Blond_Hair, Eyeglasses, Heavy_Makeup, Male, Pale_Skin, Smiling.")
    flags.DEFINE_list("partitions", None, "CelebA partitions (0 train, 1 validation, 2 test) to "
                      "use. Default for split=train: 0,1 as the paper; 0,2 reproduces the original.")
    flags.DEFINE_string("cache_dir", None, "Where prepared (decoded, cropped) images are cached. "
                        "Default <data_dir>/tfgan_cache.")
    flags.DEFINE_string("attribute_normalization", None, "EFIGI attribute scaling: none "
                        "(original) or minmax.")
    flags.DEFINE_list("class_ratio", None, "Imbalance ratio for mnist2 / cifar2 / fmnist5, e.g. 7,3.")


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
        options["cache_dir"] = f.cache_dir
    if f.attribute_normalization:
        options["normalization"] = f.attribute_normalization
    if f.class_ratio:
        try:
            options["ratio"] = tuple(float(r) for r in f.class_ratio)
        except ValueError:
            raise UserError(f"--class_ratio must be numbers such as 7,3, got {f.class_ratio}") from None
    return options


def resolve(f=FLAGS) -> dict:
    """Validated configuration from parsed flags; raises UserError naming the flag at fault."""
    if f.dataset not in data.DATASET_NAMES:
        raise UserError(f"--dataset={f.dataset} is unknown; choose one of: "
                        + ", ".join(data.DATASET_NAMES))
    if f.split not in ("train", "test"):
        raise UserError(f"--split must be train or test, got {f.split}")
    for name in ("steps_per_execution", "log_every", "sample_every", "checkpoint_every",
                 "keep_checkpoints", "grid_rows", "generator_updates"):
        if getattr(f, name) <= 0:
            raise UserError(f"--{name} must be positive, got {getattr(f, name)}")
    if f.steps is not None and f.steps <= 0:
        raise UserError(f"--steps must be positive, got {f.steps}")
    if f.epochs <= 0:
        raise UserError(f"--epochs must be positive, got {f.epochs}")
    if f.penalty_weight < 0:
        raise UserError(f"--penalty_weight must be >= 0, got {f.penalty_weight}")

    if f.model == "slogan" and f.dataset not in SLOGAN_DEFAULTS:
        raise UserError(f"--model=slogan has no Appendix E configuration for --dataset={f.dataset}; "
                        f"choose one of: {', '.join(SLOGAN_DEFAULTS)}")
    defaults = SLOGAN_DEFAULTS[f.dataset] if f.model == "slogan" else dict(
        batch_size=64, latent_dim=100, loss="wgan")
    loss = f.loss or defaults["loss"]
    if loss not in LOSSES_BY_MODEL[f.model]:
        raise UserError(f"--loss={loss} is not available for --model={f.model}; choose one of "
                        + ", ".join(LOSSES_BY_MODEL[f.model]))
    config = dict(model=f.model, dataset=f.dataset, data_dir=f.data_dir and os.path.abspath(f.data_dir),
                  split=f.split, batch_size=_or(f.batch_size, defaults["batch_size"]), seed=f.seed,
                  z_dim=_or(f.z_dim, defaults["latent_dim"]), z_mean=f.z_mean, loss=loss,
                  penalty_weight=f.penalty_weight, generator_updates=f.generator_updates,
                  bn_momentum=f.bn_momentum, relu_output=f.relu_output,
                  batch_stats_at_inference=f.batch_stats_at_inference, original_gp=f.original_gp,
                  log_every=f.log_every, sample_every=f.sample_every,
                  checkpoint_every=f.checkpoint_every, keep_checkpoints=f.keep_checkpoints,
                  grid_rows=f.grid_rows, steps=f.steps, epochs=f.epochs,
                  steps_per_execution=f.steps_per_execution, download=f.download,
                  dataset_options=_dataset_options(f))
    for name in ("batch_size", "z_dim"):
        if config[name] <= 0:
            raise UserError(f"--{name} must be positive, got {config[name]}")
    if f.model == "cwgan":
        _resolve_cwgan(f, config)
    else:
        _resolve_slogan(f, config, defaults)
    if config["learning_rate"] <= 0:
        raise UserError(f"--learning_rate must be positive, got {config['learning_rate']}")
    data.describe(f.dataset, **config["dataset_options"])  # rejects unknown or bad options
    config["run_dir"] = os.path.abspath(f.run_dir or os.path.join("runs", f"{f.model}_{f.dataset}"))
    config["export_dir"] = os.path.abspath(f.export_dir)
    config["export_name"] = f.export_name or f"{f.model}_{f.dataset}"
    config["export"] = f.export
    return config


def _or(value, default):
    return default if value is None else value


def _resolve_cwgan(f, config):
    defaults = CWGAN_LOSS_DEFAULTS[config["loss"]]
    for key in ("n_critic", "learning_rate", "beta1", "beta2", "penalty"):
        config[key] = _or(getattr(f, key), defaults[key])
    if config["penalty"] not in ("gp", "none"):
        raise UserError(f"--penalty={config['penalty']} is not used by cwgan; choose gp or none")
    if config["original_gp"] and config["penalty"] != "gp":
        raise UserError("--original_gp needs --penalty=gp (it changes the gradient penalty)")
    config["diffaugment"] = f.diffaugment
    if not (0 < f.width <= 4):   # also refuses NaN
        raise UserError(f"--width must be in (0, 4], got {f.width}")
    config["width"] = f.width
    try:
        augment.parse_policy(f.diffaugment)
    except ValueError as e:
        raise UserError(f"--diffaugment: {e}") from None
    if config["n_critic"] <= 0:
        raise UserError(f"--n_critic must be positive, got {config['n_critic']}")
    if f.relu_output and not f.dataset.startswith("mnist"):
        raise UserError("--relu_output reproduces the original MNIST generator; use it with an "
                        "MNIST dataset only")
    slogan_only = [k for k in (*SLOGAN_FLAGS, *PROBE_FLAGS) if getattr(f, k) is not None]
    if f.probe_mixup:
        slogan_only.append("probe_mixup")
    if slogan_only:
        raise UserError(f"--{slogan_only[0]} is a SLOGAN setting; it needs --model=slogan")


SLOGAN_FLAGS = {"num_components": "num_components", "feature_dim": "feature_dim",
                "gumbel_temperature": "tau", "u2c_weight": "u2c_weight",
                "feature_scale": "feature_scale", "angular_margin": "margin",
                "prior_learning_rate": "prior_learning_rate", "schedule_end": "schedule_end",
                "simclr": "simclr"}


PROBE_FLAGS = ("probe_data", "probe_folders", "probe_weight", "probe_mixup_iterations", "probe_loss")


def _resolve_slogan(f, config, defaults):
    for flag_name, key in SLOGAN_FLAGS.items():
        config[key] = _or(getattr(f, flag_name), defaults[key])
    config["learning_rate"] = _or(f.learning_rate, defaults["learning_rate"])
    config["penalty"] = _or(f.penalty, defaults["penalty"])
    config["sigma_grad_scale"] = f.sigma_grad_scale
    for key in ("generator_batch_factor", "encoder_weight_decay"):   # the original code's, fixed
        config[key] = defaults[key]
    config["n_critic"] = 1
    config["steps"] = _or(f.steps, SLOGAN_PAPER_STEPS)
    cwgan_only = [name for name in ("original_gp", "relu_output", "batch_stats_at_inference",
                                    "diffaugment") if getattr(f, name)]
    if f.width != 1.0:
        cwgan_only.append("width")
    if f.n_critic not in (None, 1) or cwgan_only:
        raise UserError(f"--{cwgan_only[0] if cwgan_only else 'n_critic'} is a cwgan setting; "
                        f"SLOGAN trains with one critic update per iteration (Algorithm 1)")
    if config["num_components"] < 2:
        raise UserError(f"--num_components must be at least 2, got {config['num_components']}")
    for key in ("tau", "feature_scale", "prior_learning_rate"):
        if config[key] <= 0:
            raise UserError(f"--{key if key != 'tau' else 'gumbel_temperature'} must be positive")
    # Probe data (Sec. 3.4): the set is read and checked here, before the dataset loads.
    from tfgan_suite import probe
    from tfgan_suite.models.slogan import probe_objective
    config["probe_data"] = f.probe_data and os.path.abspath(f.probe_data)
    config["probe_folders"] = f.probe_folders
    config["probe_weight"] = _or(f.probe_weight, 1.0)
    config["probe_mixup"] = f.probe_mixup
    config["probe_mixup_iterations"] = _or(f.probe_mixup_iterations, probe.MIXUP_ITERATIONS)
    config["probe_loss"] = f.probe_loss or "per_probe"
    if not f.probe_data:
        given = [name for name in PROBE_FLAGS[1:] if getattr(f, name) is not None]
        if given or f.probe_mixup:
            raise UserError(f"--{given[0] if given else 'probe_mixup'} needs --probe_data")
        return
    for key in ("probe_weight", "probe_mixup_iterations"):
        if config[key] <= 0:
            raise UserError(f"--{key} must be positive, got {config[key]}")
    probe_objective(config, data.describe(f.dataset, **config["dataset_options"])).read()


def total_steps(config, num_examples) -> int:
    """--steps, or --epochs x (examples / batch size) generator iterations (original: 2,855
    iterations per CelebA epoch = 182,732 // 64)."""
    if config["steps"]:
        return int(config["steps"])
    return max(1, int(config["epochs"] * (num_examples // config["batch_size"])))


def write_json_atomic(path, obj):
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(obj, fh, indent=2, sort_keys=True)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
