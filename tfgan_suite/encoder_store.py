"""The encoder directory of InfoSCC-GAN stages 1-2, written by `python -m
tfgan_suite.train_encoder` and read by `--model=infoscc --encoder_dir=...`.

Layout: encoder.json (how to rebuild the networks, what the classifier predicts, its test
accuracy), encoder.weights.h5, classifier.weights.h5, and clusters.npz (k-means centres of
the features, the "inner" attributes) when k-means ran. Written under a temporary name and
renamed, so a directory with encoder.json is always complete.
"""

from __future__ import annotations

import json
import os
import shutil

import numpy as np

from tfgan_suite.errors import UserError

META = "encoder.json"
ENCODER_WEIGHTS = "encoder.weights.h5"
CLASSIFIER_WEIGHTS = "classifier.weights.h5"
CLUSTERS = "clusters.npz"


def save(directory: str, encoder, classifier, meta: dict, centres=None):
    directory = os.path.abspath(directory)
    parent = os.path.dirname(directory)
    os.makedirs(parent, exist_ok=True)
    tmp = f"{directory}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    encoder.save_weights(os.path.join(tmp, ENCODER_WEIGHTS))
    classifier.save_weights(os.path.join(tmp, CLASSIFIER_WEIGHTS))
    if centres is not None:
        np.savez(os.path.join(tmp, CLUSTERS), centres=np.asarray(centres, np.float32))
    with open(os.path.join(tmp, META), "w", encoding="utf-8") as fh:
        json.dump(meta, fh, indent=2)
    if os.path.exists(directory):
        old = f"{directory}.old-{os.getpid()}"
        os.replace(directory, old)
        os.replace(tmp, directory)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, directory)


def read_meta(directory: str) -> dict:
    """encoder.json of `directory`; UserError saying how to make one when it is missing."""
    path = os.path.join(directory or "", META)
    if not directory or not os.path.isfile(path):
        raise UserError(f"--encoder_dir={directory} holds no trained encoder ({META} missing); "
                        f"train one first: python -m tfgan_suite.train_encoder "
                        f"--dataset=<the same dataset> --encoder_dir={directory or 'DIR'}")
    try:
        with open(path, encoding="utf-8") as fh:
            meta = json.load(fh)
    except (OSError, ValueError) as e:
        raise UserError(f"cannot read {path} ({e}); train the encoder again") from None
    for name in (ENCODER_WEIGHTS, CLASSIFIER_WEIGHTS):
        if not os.path.isfile(os.path.join(directory, name)):
            raise UserError(f"{directory} lacks {name}; train the encoder again")
    return meta


def check_matches(meta: dict, directory: str, image_shape, label_names, label_kind):
    """UserError unless the encoder was trained on images of this shape and its classifier
    predicts these conditions (or k-means clusters, which relabel any dataset)."""
    if tuple(meta["image_shape"]) != tuple(image_shape):
        raise UserError(f"{directory} holds an encoder for {tuple(meta['image_shape'])} images "
                        f"but the dataset has {tuple(image_shape)}; train an encoder on this "
                        f"dataset")
    if meta["attribute_source"] == "clusters":
        return
    if tuple(meta["label_names"]) != tuple(label_names) or meta["label_kind"] != label_kind:
        raise UserError(f"{directory}'s classifier predicts {meta['label_kind']} "
                        f"{meta['label_names']} but the dataset's conditions are {label_kind} "
                        f"{list(label_names)}; train the classifier with the same dataset and "
                        f"attributes")


def load(directory: str):
    """(encoder, classifier, meta, cluster centres or None), networks frozen."""
    from tfgan_suite import simclr

    meta = read_meta(directory)
    encoder = simclr.build_encoder(meta["image_shape"], meta["backbone"], meta["width"],
                                   meta["projection_dim"])
    encoder.load_weights(os.path.join(directory, ENCODER_WEIGHTS))
    classifier = simclr.build_classifier(meta["feature_dim"], len(meta["label_names"]))
    classifier.load_weights(os.path.join(directory, CLASSIFIER_WEIGHTS))
    encoder.trainable = False
    classifier.trainable = False
    centres = None
    if os.path.isfile(os.path.join(directory, CLUSTERS)):
        centres = np.load(os.path.join(directory, CLUSTERS))["centres"]
    return encoder, classifier, meta, centres
