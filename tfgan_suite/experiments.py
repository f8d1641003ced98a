"""The papers' experiments that `python -m tfgan_suite.reproduce` runs: settings, metrics, and
the values the papers report for them.

Each experiment trains the paper's configuration (the suite's defaults for that model and
dataset, which follow the papers' appendices and the original code) in one or more variants,
evaluates the checkpoints written every `eval_every` iterations with the table's metrics, and
draws each curve against the paper's value.
"""

from __future__ import annotations

import dataclasses
from typing import Optional

from tfgan_suite.metrics.modes import REAL_HIGH_QUALITY, REAL_STD_RATIO


@dataclasses.dataclass(frozen=True)
class Curve:
    """One learning curve: the metric (a key of an evaluation record, or its prefix when the
    key carries the feature extractor's name, e.g. fid_inception...), and a reference line."""

    metric: str
    label: str
    reference: Optional[float] = None
    reference_label: str = ""        # e.g. "paper, Table 7" or "real data"
    higher_is_better: bool = True
    threshold: Optional[float] = None   # the report gives the first iteration that reaches it


@dataclasses.dataclass(frozen=True)
class Experiment:
    name: str
    title: str
    source: str                      # paper section / table
    train_flags: tuple               # flags of `python -m tfgan_suite.train`
    variants: dict                   # variant name -> extra training flags
    default_variants: tuple
    eval_every: int
    metrics: tuple                   # tfgan_suite.evaluate metric names
    curves: tuple
    num_samples: int = 10_000
    samples_per_class: int = 5_000
    features: str = "inception"
    eval_batch_size: int = 100
    # Metrics whose cost is dominated by a feature network over thousands of images: evaluated
    # every `costly_every` evaluations, against the real `costly_split`.
    costly_metrics: tuple = ()
    costly_every: int = 1
    costly_split: str = "test"
    needs_data: bool = False
    classifier: bool = False         # a domain classifier (trained when not given)
    classifier_options: tuple = ()   # (option, value) pairs of the classifier's dataset
    fid: bool = False                # the FID Inception weights
    steps_per_execution: int = 10
    notes: str = ""
    # Extra tfgan_suite.evaluate.Request settings, as (name, value) pairs (e.g. fvm_votes).
    evaluate_settings: tuple = ()
    # Flags of `python -m tfgan_suite.train_encoder` run once before training (InfoSCC-GAN's
    # stages 1-2); the runs then get --encoder_dir=<runs_dir>/encoders/<experiment>.
    encoder_flags: tuple = ()


def curve_key(metrics: dict, curve: Curve) -> Optional[str]:
    """The key of `metrics` that `curve` plots: the exact name, else the one name that starts
    with it followed by "_" (feature-extractor suffixes)."""
    if curve.metric in metrics:
        return curve.metric
    found = [k for k in metrics if k.startswith(curve.metric + "_")]
    return found[0] if len(found) == 1 else None


GAUSSIANS8 = Experiment(
    name="gaussians8",
    title="SLOGAN on 8 imbalanced 2-D Gaussians, with the U2C and pi ablations",
    source="Hwang et al., Sec. 4 / Fig. 1, Table 3 (synthetic row), Appendix E.2",
    train_flags=("--model=slogan", "--dataset=gaussians8", "--log_every=500"),
    variants={"slogan": (), "no_u2c": ("--u2c_weight=0",), "uniform_pi": ("--nolearn_pi",),
              # Fig. 11: wider modes (per-coordinate variance 0.05 and 0.1 instead of 0.01).
              "variance_0.05": ("--mode_variance=0.05",),
              "variance_0.1": ("--mode_variance=0.1",)},
    default_variants=("slogan", "no_u2c", "uniform_pi"),
    eval_every=5_000,
    metrics=("pi_error_matched", "mode_quality", "nmi"),
    curves=(
        Curve("pi_matched_l1", "pi error (L1, matched)", 0.0, "truth", higher_is_better=False),
        Curve("modes_covered", "modes covered (of 8)", 8.0, "all modes"),
        Curve("high_quality", "high-quality share (3 sd)", REAL_HIGH_QUALITY, "real data"),
        Curve("std_ratio_mean", "generated / real std (mean over modes)", REAL_STD_RATIO,
              "real data"),
        Curve("mean_offset_max", "largest mean offset (real sd)", 0.0, "real data",
              higher_is_better=False),
        Curve("reverse_kl", "reverse KL of mode shares", 0.0, "real data",
              higher_is_better=False),
        Curve("nmi", "NMI (real test points)", 1.0, "perfect clustering"),
    ),
    steps_per_execution=100,
    eval_batch_size=4096,
    notes="The paper shows this experiment as figures (Fig. 1; Table 3 gives scatter plots for "
          "the synthetic row), so the reference lines are the real data's own values. "
          "Variants: slogan (the paper), no_u2c (U2C weight 0, Table 3's ablation), uniform_pi "
          "(pi frozen at 1/K, DeLiGAN-like; Table 8's 'w/o rho update').",
)

MNIST2 = Experiment(
    name="mnist2",
    title="SLOGAN on MNIST-2 (digits 0 and 4 at 7:3)",
    source="Hwang et al., Table 7 (MNIST-2 7:3), Table 9 (w/o U2C), Appendix E.3",
    train_flags=("--model=slogan", "--dataset=mnist2", "--class_ratio=7,3"),
    variants={"slogan": (), "no_u2c": ("--u2c_weight=0",)},
    default_variants=("slogan",),
    eval_every=1_000,
    metrics=("pi_error_matched", "nmi", "ari", "fid", "icfid"),
    curves=(
        Curve("pi_majority_class", "pi of the 0s' component", 0.7, "truth (7:3)"),
        Curve("nmi", "NMI (KMeans on p(c|x), test split)", 0.92, "paper, Table 7"),
        Curve("fid_inception", "FID", 4.02, "paper, Table 7", higher_is_better=False),
        Curve("icfid_inception", "ICFID (Algorithm 2)", 5.91, "paper, Table 7",
              higher_is_better=False),
        Curve("ari", "ARI"),
    ),
    needs_data=True,
    fid=True,
    costly_metrics=("fid", "icfid"),
    costly_every=5,
    costly_split="train",
    notes="NMI, ARI and pi are measured on the test split (the paper clusters the test data); "
          "FID and ICFID against the training split (MNIST-2's test split holds 1,400 images, "
          "fewer than the 2,048 feature dimensions, which biases a Frechet distance). "
          "Paper (Table 7, mean of several runs at 100k iterations): NMI 0.92 +- 0.05, FID "
          "4.02 +- 0.86, ICFID 5.91 +- 1.06; without U2C (Table 9): NMI 0.25, FID 4.62, ICFID "
          "9.43. The paper's FID uses 10,000 generated images and ICFID 5,000 per component.",
)

CWGAN_MNIST = Experiment(
    name="cwgan_mnist",
    title="cWGAN-GP on MNIST, class control (paper settings)",
    source="Fabbri et al., Sec. V (MNIST); cameronfabbri/cWGANs",
    train_flags=("--model=cwgan", "--dataset=mnist"),
    variants={"paper": ()},
    default_variants=("paper",),
    eval_every=500,
    metrics=("attribute_accuracy", "classifier_fd"),
    curves=(
        Curve("attribute_accuracy", "class control (classifier accuracy on G(z, y))", 0.9,
              "0.9", threshold=0.9),
        Curve("frechet_classifier_distance", "Frechet classifier distance",
              higher_is_better=False),
    ),
    samples_per_class=1_000,
    features="classifier",
    needs_data=True,
    classifier=True,
    notes="The paper reports no number for MNIST; class control (the share of G(z, y) that a "
          "classifier trained on real MNIST assigns to y) is the measure of a conditional "
          "generator. The report marks the first evaluated iteration at 0.9 or more.",
)

# Quarter-width variants (every hidden layer's channels / 4, about 1/16 of the compute) for
# machines without an accelerator; the paper's networks are the unsuffixed variants.
_ICGAN_VARIANTS = {"icgan": (), "no_ic": ("--no_ic",), "infogan": ("--icgan_arch=infogan",)}
ICGAN_COLORMNIST = Experiment(
    name="icgan_colormnist",
    title="ICGAN on ColorMNIST: ICGAN, w/o IC and InfoGAN (image quality, digit and colour "
          "disentanglement)",
    source="Wang et al., Tables 1-3, Fig. 3, Sec. 4",
    train_flags=("--model=icgan", "--dataset=colormnist", "--mnist_source=mnist"),
    variants={**_ICGAN_VARIANTS,
              **{f"{name}_quarter": (*flags_, "--width=0.25")
                 for name, flags_ in _ICGAN_VARIANTS.items()},
              # The paper's G:D rate ratio 5:8 at PGGAN's rate 1e-3: the paper's own rates
              # (5e-2, 8e-2) diverge within ~100 iterations here (see the report).
              **{f"{name}_quarter_lr1e-3": (*flags_, "--width=0.25", "--learning_rate=1e-3",
                                            "--d_learning_rate=1.6e-3")
                 for name, flags_ in _ICGAN_VARIANTS.items() if name != "infogan"}},
    default_variants=("icgan", "no_ic", "infogan"),
    eval_every=1_000,
    metrics=("digit_accuracy", "hue_mse", "classifier_fd", "fid"),
    curves=(
        Curve("digit_accuracy", "digit accuracy (codes matched to digits)", 0.903,
              "paper, Table 2 (ICGAN)"),
        Curve("hue_mse", "Hue MSE (hue in [0, 1], best ring mapping)", 0.0001,
              "paper, Table 3 (ICGAN)", higher_is_better=False),
        Curve("frechet_classifier_distance", "Frechet distance, ColorMNIST classifier",
              higher_is_better=False),
        Curve("fid_inception", "FID (Inception)", 0.081, "paper, Table 1 (ICGAN)",
              higher_is_better=False),
    ),
    num_samples=5_000,
    features="classifier",
    needs_data=True,
    classifier=True,
    classifier_options=(("classifier_set", True), ("source", "mnist")),
    fid=True,
    costly_metrics=("fid",),
    costly_every=5,
    notes="Paper values (40 epochs of the full ColorMNIST on a TITAN X): FID (Table 1) ICGAN "
          "0.081 +- 0.001, w/o IC 0.116 +- 0.002, InfoGAN 0.413 +- 0.012; digit accuracy "
          "(Table 2) ICGAN 0.903 +- 0.001, w/o IC 0.685 +- 0.002, InfoGAN 0.153 +- 0.053; Hue "
          "MSE (Table 3, 900-step ring, [0, 1] units) ICGAN 0.0001, w/o IC 0.0312, random "
          "0.0319. The paper's FID scale (0.08) is not the usual Inception FID of 28x28 digits; "
          "its feature network is not stated. Digit accuracy uses 1,000-image rounds and the "
          "12-class ColorMNIST classifier (digits, solid colour, noise) trained here. Sample "
          "grids: rows are the 10 digit codes, columns the hues 0, 0.1, ..., 0.9.",
)

IDGAN_DSPRITES = Experiment(
    name="idgan_dsprites",
    title="ID-GAN on dSprites: the beta-VAE (stage 1), then the GAN distilled from it (stage 2)",
    source="Lee et al. 2020, Sec. 5.2 / Table 1 (dSprites row), Appendix C; 1Konny/idgan",
    train_flags=("--model=idgan", "--dataset=dsprites"),
    # The variants run in this order: stage 1 (its --model replaces the experiment's), then
    # stage 2, which reads the stage-1 run of the same seed.
    variants={"betavae": ("--model=betavae",),
              "idgan": ("--model=idgan",
                        "--vae_run_dir={runs_dir}/idgan_dsprites/betavae/seed{seed}")},
    default_variants=("betavae", "idgan"),
    eval_every=1_000,
    metrics=("mig", "fvm", "gilbo", "classifier_fd"),
    curves=(
        Curve("mig", "MIG (disentanglement_lib)"),
        Curve("fvm", "FactorVAE metric (eval votes)"),
        Curve("gilbo", "GILBO (nats)"),
        Curve("frechet_classifier_distance", "FID on a dSprites factor ConvNet (the paper's "
              "dSprites protocol)", higher_is_better=False),
    ),
    costly_metrics=("gilbo",),
    costly_every=5,
    features="classifier",
    classifier=True,
    evaluate_settings=(("mig_samples", 10_000), ("fvm_votes", 1_000), ("gilbo_steps", 1_000)),
    notes="ID-GAN's MIG and FVM are those of its distilled (frozen) encoder, i.e. the stage-1 "
          "representation, as in the paper; FID and GILBO measure the generators (the VAE's "
          "decoder means, ID-GAN's averaged G). FID is the paper's dSprites protocol: the "
          "Frechet distance on the features of a ConvNet trained to predict the true factors "
          "(tfgan_suite/metrics/factor_classifier.py; the paper's own network is unpublished), "
          "10,000 generated against the 10,000 test-split images (paper: 50,000 each). FVM "
          "uses 1,000 training / 500 evaluation votes (disentanglement_lib: 10,000 / 5,000) "
          "to keep CPU evaluations short; pass larger values to tfgan_suite.evaluate for the full protocol. The paper's schedule is "
          "500k beta-VAE and 300k ID-GAN iterations.",
)

INFOSCC_MNIST = Experiment(
    name="infoscc_mnist",
    title="InfoSCC-GAN on MNIST, digits as the attribute (CPU scale)",
    source="Kinakh et al., Sec. 3-4; vkinakh/InfoSCC-GAN (AFHQ generation config)",
    train_flags=("--model=infoscc", "--dataset=mnist"),
    variants={"original": ()},
    default_variants=("original",),
    eval_every=500,
    metrics=("attribute_control_accuracy", "attribute_accuracy", "classifier_fd", "fid"),
    curves=(
        Curve("attribute_control_accuracy", "attribute-control accuracy (own encoder + "
              "classifier)", 0.9, "0.9", threshold=0.9),
        Curve("attribute_accuracy", "class control (independent MNIST classifier)", 0.9, "0.9",
              threshold=0.9),
        Curve("frechet_classifier_distance", "Frechet classifier distance (not FID)",
              higher_is_better=False),
        Curve("fid_inception", "FID (Inception, 2,000 generated)", higher_is_better=False),
    ),
    costly_metrics=("fid",),
    costly_every=4,
    fid=True,
    num_samples=2_000,
    samples_per_class=200,
    features="classifier",
    needs_data=True,
    classifier=True,
    encoder_flags=("--dataset=mnist", "--backbone=small", "--encoder_width=16",
                   "--encoder_steps=600", "--batch_size=128", "--nosimclr_flip"),
    notes="The paper reports no MNIST numbers. For context only (other datasets, ResNet-50 "
          "encoders, 200k iterations on a GPU): AFHQ FID 11.59 and IS 11.06 with the patch "
          "discriminator and the original's quartic 'lsgan' loss (EigenGAN baseline FID 29.02); "
          "CelebA, five attributes, FID 27.84 with 93-99.9% attribute accuracy. Here the "
          "encoder is the small CPU backbone trained for a few hundred SimCLR steps, so the "
          "attribute-control accuracy is measured by a weaker classifier than the paper's; "
          "class control by an independently trained MNIST classifier is shown beside it. "
          "The distance curves: the Frechet distance on a domain classifier's features at "
          "every evaluation, and FID on Inception every 4th, both with 2,000 generated "
          "images against the 10,000 test images (FID with 2,000 samples is biased upwards "
          "against the usual 10,000 or 50,000; pass --num_samples for more).",
)

EXPERIMENTS = {e.name: e for e in (GAUSSIANS8, MNIST2, CWGAN_MNIST, ICGAN_COLORMNIST,
                                     IDGAN_DSPRITES, INFOSCC_MNIST)}
