"""Train the domain classifier whose features give the "frechet_classifier_distance".

    python tools/train_domain_classifier.py --dataset=mnist5k --output=classifiers/mnist.keras
    python tools/train_domain_classifier.py --dataset=dsprites --output=classifiers/dsprites.keras

Labelled datasets get a class classifier; dSprites and its variants get ID-GAN's factor
classifier (tfgan_suite/metrics/factor_classifier.py), the feature network of its dSprites FID.

Trains on the --train_split of the dataset, reports the accuracy on --eval_split, and writes a
Keras model file (.keras) that tfgan_suite.metrics.domain_classifier.DomainClassifier.load reads.
"""

from __future__ import annotations

import os

from absl import app, flags

from tfgan_suite import cli
from tfgan_suite.errors import UserError

FLAGS = flags.FLAGS


def define_flags():
    """Registered only when run as a script, so tests can import this file beside other CLIs."""
    flags.DEFINE_string("dataset", "mnist5k",
                        "Dataset name (tfgan_suite.data registry): one with one-hot labels, "
                        "or dsprites / color_dsprites / noisy_dsprites (factor classifier).")
    flags.DEFINE_string("data_dir", None, "Directory with the dataset's files (not needed for mnist5k).")
    flags.DEFINE_string("output", None, "Model file to write; must end in .keras.")
    flags.DEFINE_integer("steps", 2000, "Training minibatches.")
    flags.DEFINE_integer("batch_size", 64, "Minibatch size.")
    flags.DEFINE_float("learning_rate", 1e-3, "Adam learning rate.")
    flags.DEFINE_integer("seed", 0, "Seed for the initialisation and the batch order.")
    flags.DEFINE_string("train_split", "train", "Split to train on.")
    flags.DEFINE_string("eval_split", "test", "Split to report the accuracy on.")
    flags.DEFINE_multi_string("dataset_option", [], "A dataset option key=value (repeatable), "
                              "e.g. ICGAN's digit classifier: --dataset=colormnist "
                              "--dataset_option=classifier_set=true (12 classes).")


def run(dataset: str, data_dir, output: str, steps: int, batch_size: int, learning_rate: float,
        seed: int, train_split: str, eval_split: str, options: dict = None):
    """Train, save to `output` (and its facts to `output`.json); returns the `classifier_training.Trained` (model, accuracy)."""
    if not output or not output.endswith(".keras"):
        raise UserError(f"--output={output!r}: give a model file name ending in .keras")
    if steps <= 0 or batch_size <= 0:
        raise UserError("--steps and --batch_size must be positive")
    # Imported here so that flag errors are reported before TensorFlow loads.
    from tfgan_suite import quiet
    quiet.import_tensorflow()
    from tfgan_suite.metrics import classifier_training

    trained = classifier_training.train_for_dataset(
        dataset, data_dir, steps, batch_size, learning_rate, seed, train_split, eval_split,
        options)
    classifier_training.save(trained, output, dataset, steps)
    return trained


@cli.user_errors_exit
def main(argv):
    del argv
    options = dict(item.split("=", 1) for item in FLAGS.dataset_option if "=" in item)
    if len(options) != len(FLAGS.dataset_option):
        raise UserError(f"--dataset_option takes key=value, got {FLAGS.dataset_option}")
    trained = run(FLAGS.dataset, FLAGS.data_dir, FLAGS.output, FLAGS.steps, FLAGS.batch_size,
                  FLAGS.learning_rate, FLAGS.seed, FLAGS.train_split, FLAGS.eval_split, options)
    print(f"wrote {FLAGS.output}; {FLAGS.dataset}/{FLAGS.eval_split}: {trained.summary}")


if __name__ == "__main__":
    define_flags()
    app.run(main)
