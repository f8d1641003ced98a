"""Shared machinery of the reproduction reports (tools/report_cwgan_mnist.py, tools/report_slogan.py).

Each step of a report is one of the suite's CLIs run as a subprocess, so the report quotes the
exact command behind every number (anyone can rerun it) and times it; the step's output goes to
the terminal and to <report_dir>/log.txt. Numbers come from the evaluation records the CLI
appends to metrics.jsonl, and the report is Markdown with PNG figures beside it.
"""

from __future__ import annotations

import datetime
import glob
import importlib.metadata
import json
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from tfgan_suite import cli  # noqa: E402
from tfgan_suite.errors import UserError  # noqa: E402


def shell(args) -> str:
    """A copy-pasteable command line ("python" stands for the interpreter named under Machine)."""
    args = ["python" if a == sys.executable else a for a in args]
    return shlex.join(args)


def fmt(value, digits: int = 4) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def markdown_table(header, rows) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(fmt(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def machine() -> str:
    """CPU, cores, memory, accelerator and the software versions, for the report's Machine part."""
    from tfgan_suite import machine as machine_info
    described = machine_info.describe()
    isa = ("AMX" if described["amx"] else "AVX-512" if described["avx512f"]
           else "AVX2" if described["avx2"] else "no AVX2")
    onednn = {True: "on", False: "off", None: "unknown"}[described["onednn"]]
    cpu = f"{described['cpu']} ({isa}, oneDNN {onednn})"
    memory = ""
    try:
        with open("/proc/meminfo", encoding="utf-8") as fh:
            kib = int(re.search(r"MemTotal:\s+(\d+)", fh.read()).group(1))
        memory = f", {kib / 2**20:.0f} GiB memory"
    except (OSError, AttributeError):
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    gpu = "NVIDIA GPU present" if shutil.which("nvidia-smi") else "no GPU (CPU only)"
    versions = []
    for package in ("tensorflow", "tensorflow-cpu", "keras", "numpy", "scikit-learn", "scipy"):
        try:
            versions.append(f"{package} {importlib.metadata.version(package)}")
        except importlib.metadata.PackageNotFoundError:
            continue
    return (f"{cpu}, {cores} cores available{memory}; {gpu}; {platform.system()} "
            f"{platform.release()}; Python {platform.python_version()}; "
            + ", ".join(versions))


def last_record(jsonl_path: str) -> dict:
    """The newest evaluation record in a metrics.jsonl."""
    with open(jsonl_path, encoding="utf-8") as fh:
        lines = [line for line in fh if line.strip()]
    if not lines:
        raise UserError(f"{jsonl_path} holds no evaluation record")
    return json.loads(lines[-1])


def latest_sample_grid(run_dir: str):
    """Path of the run's newest samples/step_*.png, or None."""
    grids = sorted(glob.glob(os.path.join(run_dir, "samples", "step_*.png")))
    return grids[-1] if grids else None


class Report:
    """Runs the steps of one report, collects its sections and writes <report_dir>/report.md."""

    def __init__(self, report_dir: str, title: str):
        self.dir = os.path.abspath(report_dir)
        os.makedirs(self.dir, exist_ok=True)
        self.title = title
        self.started = time.time()
        self.steps = []      # (title, command line, seconds)
        self.sections = []   # (heading, markdown body)
        self.log_path = os.path.join(self.dir, "log.txt")

    def path(self, name: str) -> str:
        return os.path.join(self.dir, name)

    def run(self, title: str, args) -> str:
        """Run `python args...` from the repository root; returns its output, raises on failure."""
        command = [sys.executable, *args]
        line = shell(command)
        print(f"\n== {title}\n$ {line}", flush=True)
        start = time.time()
        output = []
        with open(self.log_path, "a", encoding="utf-8") as log:
            log.write(f"\n== {title}\n$ {line}\n")
            proc = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True)
            for text in proc.stdout:
                sys.stdout.write(text)
                log.write(text)
                output.append(text)
            code = proc.wait()
        seconds = time.time() - start
        self.steps.append((title, line, seconds))
        if code != 0:
            raise UserError(f"step '{title}' failed with exit status {code}; its output is in "
                            f"{self.log_path}. Command: {line}")
        return "".join(output)

    def seconds(self, title: str) -> float:
        return sum(s for t, _, s in self.steps if t == title)

    def section(self, heading: str, body: str) -> None:
        self.sections.append((heading, body.strip()))

    def figure(self, source: str, name: str, caption: str) -> str:
        """Copy a PNG into the report directory; returns the Markdown that shows it."""
        shutil.copyfile(source, self.path(name))
        return f"![{caption}]({name})\n\n*{caption}*"

    def write(self) -> str:
        invoked = shell([sys.executable, *sys.argv])
        parts = [f"# {self.title}", "",
                 f"Generated {datetime.datetime.now().isoformat(timespec='seconds')} by `{invoked}` "
                 f"(total wall time {time.time() - self.started:.0f} s).", ""]
        for heading, body in self.sections:
            parts += [f"## {heading}", "", body, ""]
        parts += ["## Commands", "",
                  "Every number above comes from these commands, run in this order from the "
                  "repository root (wall time of each on the machine below):", ""]
        parts += [f"{i}. {title} ({seconds:.0f} s)\n\n   ```\n   {line}\n   ```"
                  for i, (title, line, seconds) in enumerate(self.steps, 1)]
        parts += ["", "## Machine", "", machine(), ""]
        path = self.path("report.md")
        with open(path, "w", encoding="utf-8") as fh:
            fh.write("\n".join(parts))
        return path


def ensure_classifier(report: Report, dataset: str, data_dir, path: str, steps: int):
    """The domain classifier at `path`, trained first (a report step) when missing.

    Returns its accuracy on the dataset's test split when trained here, else None."""
    if os.path.isfile(path):
        return None
    args = ["tools/train_domain_classifier.py", f"--dataset={dataset}", f"--output={path}",
            f"--steps={steps}"]
    if data_dir:
        args.append(f"--data_dir={data_dir}")
    output = report.run(f"domain classifier for {dataset}", args)
    found = re.search(r"accuracy on \S+: ([0-9.]+)", output)
    return float(found.group(1)) if found else None


def real_data_reference(dataset: str, data_dir, classifier_path: str, seed: int = 0) -> dict:
    """What the classifier metrics give for REAL data, the yardstick for generated data:
    the test split's classifier accuracy and classifier score, and the Frechet classifier
    distance between a train sample of test-split size and the test split."""
    import numpy as np

    from tfgan_suite import data
    from tfgan_suite.metrics import attributes, frechet, inception_score
    from tfgan_suite.metrics.domain_classifier import DomainClassifier

    classifier = DomainClassifier.load(classifier_path)
    test = data.load_dataset(dataset, data_dir, "test")
    train = data.load_dataset(dataset, data_dir, "train")
    pick = np.sort(np.random.default_rng(seed).choice(len(train), min(len(train), len(test)),
                                                      replace=False))
    test_features, test_logits = classifier.features_and_logits(test.examples)
    train_features = classifier(np.asarray(train.examples[pick]))
    return {"accuracy": attributes.onehot_accuracy(test_logits, test.labels),
            "classifier_score": inception_score.inception_score(test_logits)[0],
            "frechet_classifier_distance": frechet.frechet_distance_from_features(
                train_features, test_features),
            "num_test": len(test)}


def cli_main(make_report):
    """An absl main that builds the report and prints where it went."""
    @cli.user_errors_exit
    def main(argv):
        del argv
        print(f"\nwrote {make_report()}")
    return main
