"""Train the feature network of a dataset's Frechet distance, whichever kind the dataset needs.

Datasets with one-hot class labels get the domain classifier (`domain_classifier`); datasets
with ground-truth factors and no labels (dSprites and its variants) get the factor classifier
of ID-GAN's dSprites FID (`factor_classifier`). Used by tools/train_domain_classifier.py and by
tfgan_suite.reproduce, which both save the model and its facts with `save`.
"""

from __future__ import annotations

import dataclasses
import os

from tfgan_suite.errors import UserError


@dataclasses.dataclass
class Trained:
    model: object                 # keras.Model
    test_accuracy: float          # classes: accuracy; factors: mean of the factors' accuracies
    summary: str                  # one line for consoles and reports

    def facts(self, dataset: str, steps: int) -> dict:
        return dict(dataset=dataset, steps=steps, test_accuracy=self.test_accuracy,
                    summary=self.summary)


def train_for_dataset(dataset: str, data_dir, steps: int, batch_size: int = 64,
                      learning_rate: float = 1e-3, seed: int = 0, train_split: str = "train",
                      eval_split: str = "test", options: dict = None) -> Trained:
    from tfgan_suite.data import load_dataset

    train = load_dataset(dataset, data_dir, train_split, **(options or {}))
    evaluation = load_dataset(dataset, data_dir, eval_split, **(options or {}))
    if getattr(train, "factor_sizes", None):
        return _train_factors(train, evaluation, steps, batch_size, learning_rate, seed)
    if train.info.label_kind != "onehot":
        raise UserError(f"--dataset={dataset} has {train.info.label_kind!r} labels and no "
                        "ground-truth factors; the classifier needs one-hot class labels")
    from tfgan_suite.metrics import attributes, domain_classifier

    model = domain_classifier.train_domain_classifier(
        train.examples, train.labels, steps, batch_size, seed, learning_rate)
    accuracy = attributes.onehot_accuracy(
        domain_classifier.DomainClassifier(model).logits(evaluation.examples), evaluation.labels)
    return Trained(model, float(accuracy), f"test accuracy {accuracy:.4f} (the class control "
                                            "real test images get)")


def _train_factors(train, evaluation, steps, batch_size, learning_rate, seed) -> Trained:
    from tfgan_suite.data import dsprites
    from tfgan_suite.metrics import domain_classifier, factor_classifier

    rows = factor_classifier.training_indices(len(train.grid), evaluation.grid_indices,
                                              factor_classifier.TRAIN_IMAGES, seed)
    model = factor_classifier.train_factor_classifier(
        train.grid[rows], dsprites.factor_classes(rows), train.factor_sizes, steps, batch_size,
        seed, learning_rate)
    logits = domain_classifier.DomainClassifier(model).logits(
        evaluation.grid[evaluation.grid_indices])
    accuracies = factor_classifier.factor_accuracies(
        logits, dsprites.factor_classes(evaluation.grid_indices), train.factor_sizes)
    per_factor = ", ".join(f"{name} {a:.3f}" for name, a in zip(train.factor_names, accuracies))
    return Trained(model, float(accuracies.mean()),
                   f"factor accuracy on the test split: {per_factor} (trained on "
                   f"{len(rows):,} other grid images)")


def save(trained: Trained, path: str, dataset: str, steps: int) -> None:
    """Write the model to `path` (.keras) and its facts to `path`.json, each under a temporary
    name first, so an interruption leaves no half file (the model, which readers look for, last)."""
    from tfgan_suite.config import write_json_atomic

    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    write_json_atomic(path + ".json", trained.facts(dataset, steps))
    partial = f"{path[:-len('.keras')]}.tmp-{os.getpid()}.keras"
    trained.model.save(partial)
    os.replace(partial, path)
