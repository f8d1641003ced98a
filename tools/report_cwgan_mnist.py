"""Reproduction report: cWGAN-GP on MNIST (Fabbri et al., Sec. V-B, Fig. 3) at a stated scale.

    python tools/report_cwgan_mnist.py --data_dir=/work/shared/data --steps=2000
    python tools/report_cwgan_mnist.py --steps=300            # offline: the mnist5k digits

Steps (each a suite CLI, quoted in the report with its wall time):
  1. the domain classifier (tools/train_domain_classifier.py), when --classifier is missing;
  2. training with flags/cwgan_mnist.flags (the paper's settings) and --steps/--batch_size/
     --n_critic; rerunning the same command resumes the run;
  3. evaluation: class control (attribute_accuracy: the classifier recognises the digit that
     y asked for), Frechet classifier distance, classifier score, intra-class classifier
     distance; FID as well when the FID Inception weights file exists;
  4. figures: the run's fixed-z sample grid, the digit sweep (rows = z, columns = y = 0..9) and
     the four-corner interpolation of (z, y) (the paper's Fig. 3).
Writes <report_root>/<name>/report.md with our numbers beside the paper's. The paper reports
no number for MNIST (figures only); the real-data values of the same metrics are given as the
yardstick.
"""

from __future__ import annotations

import os

from absl import app, flags

import reporting
from tfgan_suite import runs
from tfgan_suite.errors import UserError

FLAGS = flags.FLAGS
PAPER_ITERATIONS = 100 * (60_000 // 64)  # 100 epochs of the 60,000 training digits at batch 64


def define_flags():
    flags.DEFINE_string("data_dir", None, "Directory with MNIST (official IDX files or the classic "
                        "mnist.pkl.gz, e.g. /work/shared/data). Unset: the offline mnist5k digits.")
    flags.DEFINE_integer("steps", 2000, "Generator iterations (paper: 100 epochs = "
                         f"{PAPER_ITERATIONS:,}).")
    flags.DEFINE_integer("batch_size", 64, "Batch size (paper: 64).")
    flags.DEFINE_integer("n_critic", 5, "Critic updates per generator update (paper: 5).")
    flags.DEFINE_integer("seed", 0, "Training and evaluation seed.")
    flags.DEFINE_string("name", None, "Report name; default cwgan_<dataset>_<steps>.")
    flags.DEFINE_string("report_root", "reports", "Reports go to <report_root>/<name>/.")
    flags.DEFINE_string("classifier", None, "Domain classifier (.keras); trained when missing. "
                        "Default <report_root>/classifiers/<dataset>.keras.")
    flags.DEFINE_integer("classifier_steps", 2000, "Training minibatches for a new classifier.")
    flags.DEFINE_integer("num_samples", 10_000, "Generated digits for the distribution metrics.")
    flags.DEFINE_integer("samples_per_class", 1000, "Generated digits per class for class control "
                         "and the intra-class distance.")
    flags.DEFINE_string("fid_weights", None, "FID Inception weights; default the suite's default "
                        "path. FID is computed only when the file exists.")
    flags.DEFINE_integer("fid_num_samples", 10_000, "Generated digits for FID (papers: 10,000).")


def make_report() -> str:
    for name in ("steps", "batch_size", "n_critic", "num_samples", "samples_per_class",
                 "classifier_steps", "fid_num_samples"):
        if getattr(FLAGS, name) <= 0:
            raise UserError(f"--{name} must be positive")
    if FLAGS.data_dir and not os.path.isdir(FLAGS.data_dir):
        raise UserError(f"--data_dir={FLAGS.data_dir} is not a directory")
    from tfgan_suite.metrics.inception import default_weights_path

    dataset = "mnist" if FLAGS.data_dir else "mnist5k"
    data_dir = os.path.abspath(FLAGS.data_dir) if FLAGS.data_dir else None
    name = FLAGS.name or f"cwgan_{dataset}_{FLAGS.steps}"
    report = reporting.Report(os.path.join(FLAGS.report_root, name),
                              f"cWGAN-GP on {dataset.upper() if dataset == 'mnist' else dataset}: "
                              "reproduction report")
    classifier = os.path.abspath(FLAGS.classifier or os.path.join(
        FLAGS.report_root, "classifiers", f"{dataset}.keras"))
    fid_weights = os.path.abspath(FLAGS.fid_weights or default_weights_path())
    run_dir = report.path("run")
    data_flags = [f"--data_dir={data_dir}"] if data_dir else []

    classifier_accuracy = reporting.ensure_classifier(report, dataset, data_dir, classifier,
                                                      FLAGS.classifier_steps)
    report.run("train cWGAN-GP", [
        "-m", "tfgan_suite.train", "--flagfile=flags/cwgan_mnist.flags", f"--dataset={dataset}",
        *data_flags, f"--steps={FLAGS.steps}", f"--batch_size={FLAGS.batch_size}",
        f"--n_critic={FLAGS.n_critic}", f"--seed={FLAGS.seed}", f"--run_dir={run_dir}",
        "--export=false"])
    evaluate = ["-m", "tfgan_suite.evaluate", f"--run_dir={run_dir}", *data_flags,
                f"--seed={FLAGS.seed}"]
    report.run("evaluate with the domain classifier", [
        *evaluate, "--metrics=attribute_accuracy,classifier_fd,classifier_score,intra_fid",
        "--features=classifier", f"--classifier={classifier}",
        f"--num_samples={FLAGS.num_samples}", f"--samples_per_class={FLAGS.samples_per_class}"])
    jsonl = os.path.join(run_dir, "metrics.jsonl")
    classifier_record = reporting.last_record(jsonl)
    fid_record = None
    if os.path.isfile(fid_weights):
        report.run("evaluate FID", [*evaluate, "--metrics=fid", f"--fid_weights={fid_weights}",
                                    f"--num_samples={FLAGS.fid_num_samples}"])
        fid_record = reporting.last_record(jsonl)
    digits, corners = report.path("digit_sweep.png"), report.path("corners.png")
    report.run("figure: digit sweep", ["-m", "tfgan_suite.generate", f"--run_dir={run_dir}",
                                       "--mode=classes", "--rows=8", f"--seed={FLAGS.seed}",
                                       f"--output={digits}"])
    report.run("figure: four-corner interpolation", [
        "-m", "tfgan_suite.generate", f"--run_dir={run_dir}", "--mode=corners", "--frames=9",
        f"--seed={FLAGS.seed}", f"--output={corners}"])

    reference = reporting.real_data_reference(dataset, data_dir, classifier, FLAGS.seed)
    config = runs.read_config(run_dir)
    write_sections(report, config, dataset, classifier_record, fid_record, fid_weights, reference,
                   classifier_accuracy)
    return report.write()


def write_sections(report, config, dataset, record, fid_record, fid_weights, reference,
                   new_classifier_accuracy):
    steps = record["step"]
    train_seconds = report.seconds("train cWGAN-GP")
    per_class = record["details"]["attribute_accuracy"]["per_class"]
    settings = record["settings"]
    report.section("Setting", f"""
Dataset `{dataset}` ({'the 60,000 training digits, official split' if dataset == 'mnist' else
'the 4,500 training digits of the offline mnist5k subset'}); real test split for evaluation:
{reference['num_test']} digits. Networks, loss and optimiser as in the paper (flags/cwgan_mnist.flags:
WGAN-GP, lambda {config.penalty_weight:g}, Adam {config.learning_rate:g} / {config.beta1:g} /
{config.beta2:g}, z ~ N({config.z_mean:g}, 1) of size {config.z_dim}), with
n_critic = {config.n_critic}, batch {config.batch_size}.

Scale: **{steps:,} generator iterations** against the paper's 100 epochs = {PAPER_ITERATIONS:,}
iterations ({100 * steps / PAPER_ITERATIONS:.1f} %). Training command wall time this invocation:
{train_seconds:.0f} s on the machine below (a rerun resumes the run and only adds what is missing).
""")
    yardstick = "trained here" if new_classifier_accuracy is not None else "given"
    rows = [
        ["class control: attribute_accuracy (digit recognised = y asked)",
         record["metrics"]["attribute_accuracy"], "not reported (Fig. 3: y sets the digit)",
         f"classifier accuracy on real test digits: {reporting.fmt(reference['accuracy'])}"],
        [f"frechet_classifier_distance ({settings['num_samples']:,} generated vs "
         f"{settings['num_real']:,} real test)",
         record["metrics"]["frechet_classifier_distance"], "not reported",
         f"real train sample vs real test: {reporting.fmt(reference['frechet_classifier_distance'])}"],
        ["classifier_score (Inception-Score formula on the classifier)",
         record["metrics"]["classifier_score"], "not reported",
         f"real test digits: {reporting.fmt(reference['classifier_score'])} (at most 10)"],
        ["intra-class Frechet classifier distance (mean over digits)",
         record["metrics"]["intra_fid_classifier"], "not reported", ""],
    ]
    if fid_record is not None:
        name = next(k for k in fid_record["metrics"] if k.startswith("fid_"))
        rows.append([f"FID ({name}, {fid_record['settings']['num_samples']:,} generated vs "
                     f"{fid_record['settings']['num_real']:,} real)", fid_record["metrics"][name],
                     "not reported: the cWGAN-GP paper gives no FID", ""])
    fid_note = ("" if fid_record is not None else
                f"\nFID was not computed: no FID Inception weights at {fid_weights} "
                "(create them with tools/convert_fid_inception.py). The paper reports no FID anyway.")
    report.section("Results", f"""
{reporting.markdown_table(["metric", "ours", "paper", "yardstick"], rows)}

The paper evaluates MNIST only visually (Fig. 3: digit sweep with attribute swapping, four-corner
interpolation), so there is no paper number to match; the real-data column says what a perfect
generator would get. The classifier metrics use the domain classifier ({yardstick}:
`{settings['classifier']}`), never Inception, and are named accordingly.
Per-digit class control (0..9): {', '.join(f'{a:.3f}' for a in per_class)}.
Settings: {settings['num_samples']:,} generated digits for the distribution metrics,
{settings['samples_per_class']:,} per digit for class control, seed {settings['seed']}.
{fid_note}
""")
    figures = []
    grid = reporting.latest_sample_grid(os.path.join(report.dir, "run"))
    if grid:
        figures.append(report.figure(grid, "sample_grid.png", f"Fixed-z sample grid at iteration "
                                     f"{steps} (rows: z, columns: y = 0..9)"))
    figures.append("![digit sweep](digit_sweep.png)\n\n*Digit sweep (paper Fig. 3 left): each row "
                   "one z, columns y = 0..9.*")
    figures.append("![corners](corners.png)\n\n*Four-corner interpolation of z and y (paper Fig. 3 "
                   "right), 9 x 9 frames.*")
    report.section("Figures", "\n\n".join(figures))


if __name__ == "__main__":
    define_flags()
    app.run(reporting.cli_main(make_report))
