"""Reproduce a paper's experiment: train its configuration (resuming), evaluate the checkpoints
written every K iterations with the table's metrics, and write learning curves and a report.

    python -m tfgan_suite.reproduce --experiment=gaussians8 --seeds=0,1,2
    python -m tfgan_suite.reproduce --experiment=mnist2 --data_dir=/data/mnist --budget_minutes=60
    python -m tfgan_suite.reproduce --experiment=cwgan_mnist --data_dir=/data/mnist --steps=2000

Experiments (tfgan_suite/experiments.py has their settings and the papers' values):
  gaussians8   SLOGAN on 8 imbalanced 2-D Gaussians; variants slogan, no_u2c, uniform_pi
               (default) and variance_0.05 / variance_0.1 (Fig. 11's wider modes)
  mnist2       SLOGAN on MNIST-2 (7:3), Table 7; variants slogan (default), no_u2c (Table 9)
  cwgan_mnist  Fabbri cWGAN-GP on MNIST with the paper's settings: class control
  icgan_colormnist  ICGAN on ColorMNIST (Tables 1-3); variants icgan, no_ic, infogan (default)
               and their quarter-width *_quarter twins for CPU-only machines;
               icgan_quarter_lr1e-3, no_ic_quarter_lr1e-3: quarter width at the paper's
               5:8 rate ratio scaled to PGGAN's 1e-3 (the paper's rates diverge here)
  infoscc_mnist  InfoSCC-GAN on MNIST (digits as the attribute): SimCLR encoder and classifier
               first, then attribute-control accuracy and Frechet-distance curves

Without --steps or --budget_minutes each run trains the paper's full schedule (100,000 SLOGAN
iterations; 100 cWGAN epochs). --steps=N stops at iteration N of that schedule (SLOGAN's decays
still follow the full length, so the run is on the paper's path, only shorter); the same
command with a larger N, or none, continues it.

Layout: <runs_dir>/<experiment>/<variant>/seed<N>/ is a training run directory (resumable with
`python -m tfgan_suite.train` too); its metrics.jsonl gets one record per evaluated checkpoint
and its TensorBoard logs the Metrics/* curves and the run's hyperparameters (HParams
dashboard). The report goes to <report_dir>: report.md, curves.png (metric against iteration,
the paper's value as a dashed line) and metrics.csv.

Stages (--stage): train, evaluate, report, or all (default; in that order). Rerunning continues
where the previous invocation stopped: training resumes from the newest checkpoint and
checkpoints already evaluated with the same metrics are skipped.
"""

from __future__ import annotations

import dataclasses
import math
import os
import shlex
import subprocess
import sys
from typing import Optional

from absl import app, flags

from tfgan_suite import cli
from tfgan_suite.errors import UserError
from tfgan_suite.experiments import EXPERIMENTS, Experiment

STAGES = ("all", "train", "evaluate", "report")
COMMANDS_FILE = "commands.jsonl"
FLAGS = flags.FLAGS


def define_flags():
    flags.DEFINE_enum("experiment", None, list(EXPERIMENTS), "Experiment to reproduce.")
    flags.DEFINE_list("variants", None, "Variants to run (default: the experiment's main ones; "
                      "see the module help).")
    flags.DEFINE_list("seeds", ["0"], "Seeds: one run per seed and variant.")
    flags.DEFINE_integer("steps", None, "Train up to this iteration of the paper's schedule "
                         "(default: the whole schedule).")
    flags.DEFINE_float("budget_minutes", None, "Training minutes per run in this invocation "
                       "(evaluation not counted); rerun to continue.")
    flags.DEFINE_string("data_dir", None, "Dataset directory (MNIST: idx files or mnist.pkl.gz).")
    flags.DEFINE_string("runs_dir", os.path.join("runs", "reproduce"), "Where the runs live.")
    flags.DEFINE_string("report_dir", None, "Where the report goes (default reports/<experiment>).")
    flags.DEFINE_integer("eval_every", None, "Evaluate every N iterations (default: the "
                         "experiment's; fixed when a run starts, as it sets the checkpoints kept).")
    flags.DEFINE_list("metrics", None, "Evaluate only these of the experiment's metrics (e.g. "
                      "the cheap ones at every checkpoint and FID at a coarser --eval_every).")
    flags.DEFINE_integer("num_samples", None, "Generated samples for fid / classifier_fd / "
                         "mode_quality (default: the paper's 10,000).")
    flags.DEFINE_integer("samples_per_class", None, "Generated samples per class or component "
                         "for icfid / attribute_accuracy (default: the experiment's).")
    flags.DEFINE_string("classifier", None, "Domain classifier (.keras) for cwgan_mnist; default "
                        "<runs_dir>/classifiers/<dataset>.keras, trained there when missing.")
    flags.DEFINE_integer("classifier_steps", 2_000, "Training steps of that classifier (batch 64).")
    flags.DEFINE_string("fid_weights", None, "FID Inception weights (default: as evaluate).")
    flags.DEFINE_integer("steps_per_execution", None, "Iterations per tf.function call "
                         "(default: the experiment's).")
    flags.DEFINE_enum("stage", "all", list(STAGES), "What to do (see the module help).")


@dataclasses.dataclass(frozen=True)
class Options:
    experiment: Experiment
    variants: tuple
    seeds: tuple
    steps: Optional[int]
    budget_minutes: Optional[float]
    data_dir: Optional[str]
    runs_dir: str
    report_dir: str
    eval_every: int
    metrics: tuple
    num_samples: int
    samples_per_class: int
    classifier: Optional[str]
    classifier_steps: int
    fid_weights: Optional[str]
    steps_per_execution: int
    stage: str

    def run_dir(self, variant: str, seed: int) -> str:
        return os.path.join(self.runs_dir, self.experiment.name, variant, f"seed{seed}")

    def runs(self):
        return [(v, s, self.run_dir(v, s)) for v in self.variants for s in self.seeds]


def options_from_flags(f) -> Options:
    """Validated options; every user error surfaces here, before any training."""
    if not f.experiment:
        raise UserError(f"--experiment is required; choose from: {', '.join(EXPERIMENTS)}")
    exp = EXPERIMENTS[f.experiment]
    variants = tuple(f.variants or exp.default_variants)
    unknown = [v for v in variants if v not in exp.variants]
    if unknown:
        raise UserError(f"--variants: {', '.join(unknown)} not a variant of {exp.name}; choose "
                        f"from {', '.join(exp.variants)}")
    try:
        seeds = tuple(dict.fromkeys(int(s) for s in f.seeds))
    except ValueError:
        raise UserError(f"--seeds must be integers such as 0,1,2, got {f.seeds}") from None
    if not seeds:
        raise UserError("--seeds: give at least one seed")
    for name in ("steps", "eval_every", "num_samples", "samples_per_class", "steps_per_execution",
                 "classifier_steps"):
        value = getattr(f, name)
        if value is not None and value <= 0:
            raise UserError(f"--{name} must be positive, got {value}")
    metrics = tuple(f.metrics or exp.metrics)
    if set(metrics) - set(exp.metrics):
        raise UserError(f"--metrics: {', '.join(sorted(set(metrics) - set(exp.metrics)))} not "
                        f"among {exp.name}'s metrics ({', '.join(exp.metrics)})")
    if f.budget_minutes is not None and not f.budget_minutes > 0:
        raise UserError(f"--budget_minutes must be positive, got {f.budget_minutes}")
    if exp.needs_data and f.stage != "report":
        if not f.data_dir:
            raise UserError(f"--experiment={exp.name} needs --data_dir (MNIST's idx files or "
                            "mnist.pkl.gz)")
        if not os.path.isdir(f.data_dir):
            raise UserError(f"--data_dir={f.data_dir} is not a directory")
    if f.classifier and not os.path.isfile(f.classifier):
        raise UserError(f"--classifier={f.classifier} does not exist")
    return Options(
        experiment=exp, variants=variants, seeds=seeds, steps=f.steps,
        budget_minutes=f.budget_minutes,
        data_dir=f.data_dir and os.path.abspath(f.data_dir), runs_dir=f.runs_dir,
        report_dir=f.report_dir or os.path.join("reports", exp.name),
        eval_every=f.eval_every or exp.eval_every, metrics=metrics,
        num_samples=f.num_samples or exp.num_samples,
        samples_per_class=f.samples_per_class or exp.samples_per_class,
        classifier=f.classifier, classifier_steps=f.classifier_steps, fid_weights=f.fid_weights,
        steps_per_execution=f.steps_per_execution or exp.steps_per_execution, stage=f.stage)


# ------------------------------------------------------------------------------------ training

def train_command(opts: Options, variant: str, seed: int) -> list:
    """The `python -m tfgan_suite.train` command of one run. Checkpoints fall every eval_every
    iterations and all of them are kept, so each can be evaluated."""
    exp = opts.experiment
    keep = 1_000_000 // opts.eval_every + 2       # every checkpoint of any schedule here
    # Checkpoints can only fall between tf.function calls: the call size divides eval_every.
    per_call = math.gcd(opts.steps_per_execution, opts.eval_every)
    # Variant flags may name another run of the same seed ({runs_dir}, {seed}; ID-GAN's stage 1).
    variant_flags = [flag.format(runs_dir=opts.runs_dir, seed=seed) for flag in exp.variants[variant]]
    command = [sys.executable, "-m", "tfgan_suite.train", *exp.train_flags,
               *variant_flags, f"--seed={seed}", f"--run_dir={opts.run_dir(variant, seed)}",
               "--export=false", f"--checkpoint_every={opts.eval_every}",
               f"--sample_every={opts.eval_every}", f"--keep_checkpoints={keep}",
               f"--steps_per_execution={per_call}"]
    if opts.data_dir:
        command.append(f"--data_dir={opts.data_dir}")
    if exp.encoder_flags:
        command.append(f"--encoder_dir={encoder_dir(opts)}")
    if opts.steps:
        command.append(f"--stop_at={opts.steps}")
    if opts.budget_minutes:
        command.append(f"--max_minutes={opts.budget_minutes}")
    return command


def encoder_dir(opts: Options) -> str:
    return os.path.join(opts.runs_dir, "encoders", opts.experiment.name)


def ensure_encoder(opts: Options) -> None:
    """InfoSCC-GAN's stages 1-2, once per experiment (skipped when the directory exists:
    encoder_store writes it atomically)."""
    exp = opts.experiment
    if not exp.encoder_flags or os.path.isfile(os.path.join(encoder_dir(opts), "encoder.json")):
        return
    command = [sys.executable, "-m", "tfgan_suite.train_encoder", *exp.encoder_flags,
               f"--encoder_dir={encoder_dir(opts)}"]
    if opts.data_dir:
        command.append(f"--data_dir={opts.data_dir}")
    print(f"\n== encoder for {exp.name}\n$ {shlex.join(command)}", flush=True)
    code = subprocess.call(command)
    if code != 0:
        raise UserError(f"training the encoder {encoder_dir(opts)} failed (exit status {code}); "
                        "its output is above")


def train_run(opts: Options, variant: str, seed: int) -> None:
    command = train_command(opts, variant, seed)
    print(f"\n== train {opts.experiment.name}/{variant}/seed{seed}\n$ {shlex.join(command)}",
          flush=True)
    code = subprocess.call(command)
    if code != 0:
        raise UserError(f"training {opts.run_dir(variant, seed)} failed (exit status {code}); "
                        "its output is above. Rerun the same command to resume.")


# ---------------------------------------------------------------------------------- evaluation

def ensure_classifier(opts: Options) -> Optional[str]:
    """The domain classifier the experiment needs: --classifier, else one trained on the
    dataset's train split (written atomically, so an interrupted training leaves nothing)."""
    if not opts.experiment.classifier:
        return None
    if opts.classifier:
        return opts.classifier
    dataset = opts.experiment.train_flags[1].split("=", 1)[1]
    path = os.path.join(opts.runs_dir, "classifiers", f"{dataset}.keras")
    if os.path.isfile(path):
        return path
    from tfgan_suite import quiet
    quiet.import_tensorflow()
    from tfgan_suite.metrics import classifier_training

    print(f"\n== domain classifier for {dataset} ({opts.classifier_steps} steps) -> {path}", flush=True)
    trained = classifier_training.train_for_dataset(
        dataset, opts.data_dir, opts.classifier_steps,
        options=dict(opts.experiment.classifier_options))
    print(trained.summary)
    classifier_training.save(trained, path, dataset, opts.classifier_steps)
    return path


def evaluated_checkpoints(records, metrics) -> set:
    return {r["source"]["checkpoint"] for r in records
            if "checkpoint" in r.get("source", {}) and set(metrics) <= set(r.get("requested", ()))}


def evaluate_run(opts: Options, run_dir: str, classifier: Optional[str]) -> int:
    """Evaluate the kept checkpoints that have no record yet: the experiment's metrics every
    eval_every iterations, its costly ones (FID-like) every costly_every evaluations on their
    split, each group also at the newest checkpoint. Returns how many evaluations ran."""
    exp = opts.experiment
    if not os.path.isdir(os.path.join(run_dir, "checkpoints")):
        print(f"{run_dir}: no checkpoints yet, nothing to evaluate")
        return 0
    groups = [(tuple(m for m in opts.metrics if m not in exp.costly_metrics), "test",
               opts.eval_every),
              (tuple(m for m in opts.metrics if m in exp.costly_metrics), exp.costly_split,
               opts.eval_every * exp.costly_every)]
    from tfgan_suite import runs

    model, config, _ = runs.load_trained_model(run_dir)     # once; each checkpoint restored
    manager = runs.checkpoint_manager(model, run_dir, config.keep_checkpoints)
    return sum(evaluate_group(opts, run_dir, model, manager, classifier, metrics, split, every)
               for metrics, split, every in groups if metrics)


def evaluate_group(opts: Options, run_dir: str, model, manager, classifier, metrics, split,
                   every) -> int:
    from tfgan_suite import eval_targets, evaluate, runs
    from tfgan_suite.metrics import real_features

    exp = opts.experiment
    request = evaluate.Request(
        metrics=metrics, run_dir=run_dir, data_dir=opts.data_dir, split=split,
        num_samples=opts.num_samples, samples_per_class=opts.samples_per_class,
        batch_size=exp.eval_batch_size, fid_weights=opts.fid_weights, classifier=classifier,
        features=exp.features, real_features_cache=real_features.default_directory(),
        **dict(exp.evaluate_settings))
    session = evaluate.Session.open(request)
    done = evaluated_checkpoints(runs.read_jsonl(os.path.join(run_dir, "metrics.jsonl")),
                                 session.request.metrics)
    paths = manager.checkpoints
    todo = [p for p in paths if os.path.basename(p) not in done and
            (p == paths[-1] or checkpoint_step(p) % every == 0)]
    for path in todo:
        manager.checkpoint.restore(path).expect_partial()
        target = eval_targets.model_target(session.target_info, model, session.source.labels,
                                           request.seed)
        record = session.measure(target, {"checkpoint": os.path.basename(path)})
        session.write(record)
        shown = ", ".join(f"{k} {v:.4g}" for k, v in record["metrics"].items())
        print(f"{run_dir} iteration {record['step']} ({record['elapsed_s']} s): {shown}",
              flush=True)
    return len(todo)


def checkpoint_step(path: str) -> int:
    return int(path.rsplit("-", 1)[1])


# ------------------------------------------------------------------------------------- driver

def reproduce(opts: Options) -> Optional[str]:
    """Run the stages; returns the report's path when one was written."""
    if opts.stage in ("all", "train"):
        ensure_encoder(opts)
        for variant, seed, _ in opts.runs():
            train_run(opts, variant, seed)
    if opts.stage in ("all", "evaluate"):
        from tfgan_suite import quiet
        quiet.import_tensorflow()
        classifier = ensure_classifier(opts)
        for _, _, run_dir in opts.runs():
            evaluate_run(opts, run_dir, classifier)
    if opts.stage in ("all", "report"):
        from tfgan_suite import reproduction_report
        return reproduction_report.write(opts)
    return None


def invocation(opts: Options) -> str:
    """The command that reproduces the report, without this machine's paths."""
    exp = opts.experiment
    parts = ["python", "-m", "tfgan_suite.reproduce", f"--experiment={exp.name}"]
    if opts.variants != exp.default_variants:
        parts.append(f"--variants={','.join(opts.variants)}")
    if opts.seeds != (0,):
        parts.append(f"--seeds={','.join(map(str, opts.seeds))}")
    if exp.needs_data:
        parts.append("--data_dir=<MNIST directory>")
    for name, default in (("steps", None), ("budget_minutes", None),
                          ("eval_every", exp.eval_every), ("num_samples", exp.num_samples),
                          ("samples_per_class", exp.samples_per_class)):
        value = getattr(opts, name)
        if value != default:
            parts.append(f"--{name}={value:g}" if isinstance(value, float) else
                         f"--{name}={value}")
    if opts.metrics != exp.metrics:
        parts.append(f"--metrics={','.join(opts.metrics)}")
    if opts.stage != "all":
        parts.append(f"--stage={opts.stage}")
    return " ".join(parts)


def log_invocation(opts: Options) -> None:
    """Append this command (without machine paths) to <runs_dir>/<experiment>/commands.jsonl,
    the history the report lists."""
    import datetime
    import json

    folder = os.path.join(opts.runs_dir, opts.experiment.name)
    os.makedirs(folder, exist_ok=True)
    record = dict(time=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                  command=invocation(opts))
    with open(os.path.join(folder, COMMANDS_FILE), "a", encoding="utf-8") as fh:
        fh.write(json.dumps(record) + "\n")


@cli.user_errors_exit
def main(argv):
    del argv
    opts = options_from_flags(FLAGS)
    if opts.stage != "report":
        log_invocation(opts)
    path = reproduce(opts)
    if path:
        print(f"\nwrote {path}")


if __name__ == "__main__":
    define_flags()
    app.run(main, flags_parser=cli.parse_flags)
