"""The report of `python -m tfgan_suite.reproduce`: learning curves against the papers' values,
the final values side by side, and what each run cost.

Everything is read back from the run directories (metrics.jsonl, training_time.jsonl), so the
report can be rebuilt at any time (--stage=report) and says only what was measured.
"""

from __future__ import annotations

import csv
import glob
import json
import math
import os
import shutil

import numpy as np

from tfgan_suite import runs
from tfgan_suite.errors import UserError
from tfgan_suite.experiments import Curve, curve_key


def collect(opts) -> dict:
    """{(variant, seed): {"points": {step: metrics}, "time": [records], "settings": {...}}}."""
    found = {}
    for variant, seed, run_dir in opts.runs():
        records = [r for r in runs.read_jsonl(os.path.join(run_dir, "metrics.jsonl"))
                   if "checkpoint" in r.get("source", {})]
        if not records:
            continue
        points = {}
        for record in records:    # records of one step merge; a newer value of a metric wins
            points.setdefault(int(record["step"]), {}).update(record["metrics"])
        settings = {", ".join(r["requested"]): r["settings"] for r in records}
        found[(variant, seed)] = dict(
            points=dict(sorted(points.items())), settings=settings,
            time=runs.read_jsonl(os.path.join(run_dir, runs.TRAINING_TIME_FILE)))
    return found


def series(run: dict, curve: Curve):
    steps, values = [], []
    for step, metrics in run["points"].items():
        key = curve_key(metrics, curve)
        if key is not None and metrics[key] is not None and math.isfinite(metrics[key]):
            steps.append(step)
            values.append(metrics[key])
    return steps, values


def seconds_per_1k(run: dict):
    """(training seconds per 1,000 iterations, machine, cores) over the run's invocations."""
    records = run["time"]
    iterations = sum(r["end_iteration"] - r["start_iteration"] for r in records)
    if not iterations:
        return None, None, None
    seconds = sum(r["seconds"] for r in records)
    return 1000.0 * seconds / iterations, records[-1]["machine"], records[-1]["cores"]


def plot_curves(opts, found: dict, path: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curves = opts.experiment.curves
    cols = min(3, len(curves))
    rows = -(-len(curves) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 3.6 * rows), squeeze=False)
    colours = dict(zip(opts.variants, plt.rcParams["axes.prop_cycle"].by_key()["color"]))
    for ax, curve in zip(axes.flat, curves):
        for (variant, seed), run in sorted(found.items()):
            steps, values = series(run, curve)
            if steps:
                ax.plot(steps, values, marker=".", color=colours[variant], alpha=0.85,
                        label=f"{variant} seed {seed}",
                        linestyle=("-", "--", ":", "-.")[seed % 4])
        handles, labels = ax.get_legend_handles_labels()
        if curve.reference is not None:
            line = ax.axhline(curve.reference, color="black", linestyle=(0, (4, 3)),
                              linewidth=1.2)
            ax.legend([line], [f"{curve.reference_label} ({curve.reference:.3g})"], fontsize=7)
        ax.set_title(curve.label, fontsize=10)
        ax.set_xlabel("iteration")
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(curves):]:
        ax.axis("off")
    fig.suptitle(opts.experiment.title, fontsize=11)
    fig.legend(handles, labels, loc="lower center", ncol=min(6, max(1, len(labels))),
               fontsize=8)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    fig.savefig(path, dpi=90)
    plt.close(fig)


def write_csv(opts, found: dict, path: str) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["experiment", "variant", "seed", "iteration", "metric", "value"])
        for (variant, seed), run in sorted(found.items()):
            for step, metrics in run["points"].items():
                for name, value in sorted(metrics.items()):
                    out.writerow([opts.experiment.name, variant, seed, step, name, value])


def fmt(value) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    return f"{value:.4g}"


def final_table(opts, found: dict) -> tuple:
    """Markdown rows: each curve's value at the last iteration every run of a variant reached,
    mean +- standard deviation over the seeds (each seed listed)."""
    header = ["metric", "reference"] + [v for v in opts.variants]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    reached = {}
    for variant in opts.variants:
        ends = [max(run["points"]) for (v, _), run in found.items() if v == variant]
        reached[variant] = min(ends) if ends else None
    for curve in opts.experiment.curves:
        cells = [curve.label, "" if curve.reference is None else
                 f"{curve.reference:.4g} ({curve.reference_label})"]
        for variant in opts.variants:
            values = []
            for (v, seed), run in sorted(found.items()):
                if v != variant or reached[v] not in run["points"]:
                    continue
                key = curve_key(run["points"][reached[v]], curve)
                if key is not None:
                    values.append(run["points"][reached[v]][key])
            values = [x for x in values if x is not None and math.isfinite(x)]
            if not values:
                cells.append("n/a")
            elif len(values) == 1:
                cells.append(fmt(values[0]))
            else:
                cells.append(f"{np.mean(values):.4g} +- {np.std(values, ddof=1):.2g} "
                             f"({', '.join(fmt(x) for x in values)})")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines), reached


def threshold_lines(opts, found: dict) -> list:
    out = []
    for curve in opts.experiment.curves:
        if curve.threshold is None:
            continue
        for (variant, seed), run in sorted(found.items()):
            steps, values = series(run, curve)
            hit = next((s for s, v in zip(steps, values) if v >= curve.threshold), None)
            last = steps[-1] if steps else 0
            out.append(f"- {variant} seed {seed}: {curve.label} "
                       + (f"first reached {curve.threshold:g} at iteration {hit}." if hit else
                          f"had not reached {curve.threshold:g} by iteration {last} "
                          f"(last value {fmt(values[-1]) if values else 'n/a'})."))
    return out


def copy_samples(opts, found: dict) -> list:
    """Markdown showing each variant's newest sample figure (first seed), copied beside the
    report: the training's fixed-z grid (images) or scatter plot (2-D points)."""
    shown = []
    for variant in opts.variants:
        seeds = sorted(s for v, s in found if v == variant)
        if not seeds:
            continue
        figures = sorted(glob.glob(os.path.join(opts.run_dir(variant, seeds[0]), "samples",
                                                "step_*.png")))
        if figures:
            name = f"samples_{variant}_seed{seeds[0]}_{os.path.basename(figures[-1])}"
            shutil.copyfile(figures[-1], os.path.join(opts.report_dir, name))
            shown += [f"![{variant}]({name})", "",
                      f"*{variant}, seed {seeds[0]}, {os.path.basename(figures[-1])[:-4]}: "
                      f"{SAMPLE_CAPTION}*", ""]
    return shown


SAMPLE_CAPTION = ("rows are fixed latent vectors, columns the classes or mixture components; for "
                  "2-D data grey points are real, colours the samples of each component")


def command_history(opts) -> list:
    """The reproduce commands run for this experiment, in order, repeats folded."""
    from tfgan_suite.reproduce import COMMANDS_FILE
    lines, previous = [], None
    for record in runs.read_jsonl(os.path.join(opts.runs_dir, opts.experiment.name,
                                               COMMANDS_FILE)):
        if record["command"] == previous:
            lines[-1][1] += 1
        else:
            lines.append([record["command"], 1])
        previous = record["command"]
    return [f"{i}. `{command}`" + (f" (run {n} times)" if n > 1 else "")
            for i, (command, n) in enumerate(lines, 1)]


def settings_lines(opts, found: dict) -> list:
    keys = ("split", "num_real", "num_samples", "samples_per_class", "features", "seed",
            "fid_resize")
    if not (opts.experiment.fid or opts.experiment.classifier):   # point data: no images
        keys = tuple(k for k in keys if k not in ("samples_per_class", "features"))
    groups = {}
    for run in found.values():
        for requested, settings in run["settings"].items():
            groups[requested] = ", ".join(f"{k} {settings[k]}" for k in keys if k in settings)
    lines = [f"- {requested}: {text}" for requested, text in sorted(groups.items())]
    for run in found.values():
        for settings in run["settings"].values():
            if "classifier" in settings and os.path.isfile(settings["classifier"] + ".json"):
                with open(settings["classifier"] + ".json", encoding="utf-8") as fh:
                    facts = json.load(fh)
                return lines + [f"- domain classifier `{os.path.basename(settings['classifier'])}`"
                                f": trained {facts['steps']} steps on the {facts['dataset']} "
                                f"train split, " + facts.get(
                                    "summary", f"test accuracy {facts['test_accuracy']:.4f} (the "
                                    "class control real test images get)")]
    return lines


def write(opts) -> str:
    """Write report.md, curves.png and metrics.csv into opts.report_dir; returns report.md."""
    exp = opts.experiment
    found = collect(opts)
    os.makedirs(opts.report_dir, exist_ok=True)
    if not found:
        raise_missing(opts)
    plot_curves(opts, found, os.path.join(opts.report_dir, "curves.png"))
    write_csv(opts, found, os.path.join(opts.report_dir, "metrics.csv"))
    table, reached = final_table(opts, found)
    run_rows = ["| variant | seed | iterations | evaluated checkpoints | training s / 1k it | "
                "machine (cores used) |", "|---|---|---|---|---|---|"]
    for (variant, seed), run in sorted(found.items()):
        per_1k, machine, cores = seconds_per_1k(run)
        run_rows.append(f"| {variant} | {seed} | {max(run['points'])} | {len(run['points'])} | "
                        f"{fmt(per_1k)} | {machine or 'not recorded'}"
                        f"{f' ({cores})' if cores else ''} |")
    parts = [
        f"# {exp.title}", "",
        f"Source: {exp.source}.", "",
        "Commands (run from the repository root, in this order):", "",
        *(command_history(opts) or ["(none recorded)"]), "",
        "## Final values", "",
        "At the last iteration every seed of a variant reached ("
        + ", ".join(f"{v}: {reached[v]}" for v in opts.variants if reached[v]) + "); "
        "mean +- standard deviation over seeds, each seed in brackets.", "",
        table, "",
    ]
    thresholds = threshold_lines(opts, found)
    if thresholds:
        parts += thresholds + [""]
    parts += ["## Learning curves", "", "![learning curves](curves.png)", "",
              "All values per iteration: [metrics.csv](metrics.csv).", "",
              "## Samples", "", *copy_samples(opts, found),
              "## Runs", "", *run_rows, "",
              "Training time is the wall time of `fit()` per 1,000 iterations, start-up and "
              "tracing included, evaluation excluded.", "",
              "## Evaluation settings", "",
              "Per group of metrics (`python -m tfgan_suite.evaluate --help` defines them):", "",
              *settings_lines(opts, found), "", "## Notes", "", exp.notes, ""]
    path = os.path.join(opts.report_dir, "report.md")
    partial = f"{path}.tmp-{os.getpid()}"
    with open(partial, "w", encoding="utf-8") as fh:
        fh.write("\n".join(parts))
    os.replace(partial, path)
    return path


def raise_missing(opts):
    where = os.path.join(opts.runs_dir, opts.experiment.name)
    raise UserError(f"no evaluated checkpoint under {where} for variants "
                    f"{', '.join(opts.variants)} and seeds {', '.join(map(str, opts.seeds))}: "
                    "run the train and evaluate stages first")

