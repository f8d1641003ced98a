"""InfoSCC-GAN stages 1-2:  python -m tfgan_suite.train_encoder --dataset=mnist5k
    --encoder_dir=encoders/mnist5k [--backbone=small] [--clusters=10]

Stage 1 trains a SimCLR encoder from scratch (NT-Xent, tau 0.5, projection F-F-ReLU-128,
Adam 3e-4 with weight decay 1e-4 as PyTorch's coupled L2, cosine learning-rate decay to 0 over
--encoder_steps). Stage 2 freezes it, trains the linear attribute classifier on its features
(CE for class labels, BCE for binary attributes) and, with --clusters=K, runs k-means on the
features: the "inner" attributes (paper Sec. 3.4). --label_source=clusters trains the classifier
on the cluster ids instead of the dataset's labels, and InfoSCC-GAN then conditions on them.
The result goes to --encoder_dir (encoder_store.py), which `--model=infoscc` reads.

Stage 1 checkpoints every --checkpoint_every steps into <encoder_dir>.simclr; an interrupted
or --max_minutes / --stop_at-limited run continues when the same command is rerun
(encoder_checkpoint.py).
"""

from __future__ import annotations

import os
import time

from absl import app, flags, logging

from tfgan_suite import cli, config as config_lib
from tfgan_suite.errors import UserError

config_lib.define_flags()
FLAGS = flags.FLAGS
PAPER = dict(batch_size=256, learning_rate=3e-4, weight_decay=1e-4, temperature=0.5,
             projection_dim=128, backbone="resnet50")


def define_flags():
    if "backbone" in FLAGS:
        return
    flags.DEFINE_enum("backbone", None, ["resnet50", "small"], "Encoder backbone: resnet50 "
                      "(paper, 2048-d features) or small (a 3-block ResNet for CPU runs, "
                      "4 x --encoder_width features).")
    flags.DEFINE_integer("encoder_width", 32, "small backbone: channels of its first block.")
    flags.DEFINE_integer("encoder_steps", 10000, "SimCLR iterations (stage 1).")
    flags.DEFINE_integer("classifier_steps", 2000, "Linear-classifier iterations (stage 2).")
    flags.DEFINE_float("classifier_learning_rate", 1e-3, "Adam learning rate of the classifier.")
    flags.DEFINE_float("weight_decay", None, "Encoder L2 weight decay (PyTorch Adam's). "
                       "Paper 1e-4.")
    flags.DEFINE_float("temperature", None, "NT-Xent temperature tau. Paper 0.5.")
    flags.DEFINE_integer("projection_dim", None, "Projection head output size. Paper 128.")
    flags.DEFINE_integer("clusters", 0, "k-means clusters on the encoder features (inner "
                         "attributes); 0: none.")
    flags.DEFINE_enum("label_source", "dataset", ["dataset", "clusters"], "What the classifier "
                      "predicts: the dataset's labels or the k-means clusters (needs --clusters).")
    flags.DEFINE_boolean("simclr_flip", True, "Random horizontal flips among the SimCLR "
                         "augmentations (the original; turn off for digits).")


def train_encoder(dataset, encoder_dir, data_dir=None, dataset_options=None, backbone="resnet50",
                  width=32, projection_dim=128, batch_size=256, steps=10000,
                  learning_rate=3e-4, weight_decay=1e-4, temperature=0.5, classifier_steps=2000,
                  classifier_learning_rate=1e-3, clusters=0, label_source="dataset", flip=True,
                  seed=0, max_minutes=None, log_every=100, checkpoint_every=500,
                  stop_at=None) -> dict:
    """Stages 1-2 end to end; returns the metadata written to encoder.json.

    Stage 1 checkpoints every `checkpoint_every` steps and when stopped early (`max_minutes`,
    `stop_at`) into <encoder_dir>.simclr, and a rerun continues it (encoder_checkpoint.py)."""
    if not encoder_dir:
        raise UserError("--encoder_dir is required: where the encoder and classifier go")
    if label_source == "clusters" and clusters < 2:
        raise UserError("--label_source=clusters needs --clusters=K with K >= 2")
    for name, value in (("encoder_steps", steps), ("classifier_steps", classifier_steps),
                        ("batch_size", batch_size), ("encoder_width", width),
                        ("projection_dim", projection_dim), ("checkpoint_every", checkpoint_every)):
        if value <= 0:
            raise UserError(f"--{name} must be positive, got {value}")
    if stop_at is not None and not 0 < stop_at < steps:
        raise UserError(f"--stop_at={stop_at} must lie between 0 and --encoder_steps={steps}")
    if clusters < 0 or clusters == 1:
        raise UserError(f"--clusters must be 0 (none) or at least 2, got {clusters}")
    if not (temperature > 0 and learning_rate > 0 and weight_decay >= 0):
        raise UserError("--temperature and --learning_rate must be positive and --weight_decay "
                        ">= 0")
    import keras
    import numpy as np
    import tensorflow as tf

    from tfgan_suite import data, encoder_checkpoint, encoder_store, machine, simclr
    from tfgan_suite.data.base import batch_pipeline, to_model_units

    options = dict(dataset_options or {})
    info = data.describe(dataset, **options)
    if not info.is_image:
        raise UserError(f"--dataset={dataset} is not an image dataset")
    if label_source == "dataset" and info.label_kind not in ("onehot", "binary"):
        raise UserError(f"--dataset={dataset} has no class or attribute labels; use "
                        f"--clusters=K --label_source=clusters (inner attributes)")
    train = data.load_dataset(dataset, data_dir, "train", **options)
    try:
        test = data.load_dataset(dataset, data_dir, "test", **options)
    except UserError:
        test = None
    if len(train) < batch_size:
        raise UserError(f"--batch_size={batch_size} exceeds the {len(train)} training examples")
    keras.utils.set_random_seed(seed)
    print(f"machine: {machine.one_line()}", flush=True)

    # ---- stage 1: SimCLR
    encoder = simclr.build_encoder(info.example_shape, backbone, width, projection_dim)
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, steps)
    optimizer = keras.optimizers.Adam(schedule)
    seeds = keras.random.SeedGenerator(seed)
    variables = encoder.trainable_variables
    settings = dict(dataset=dataset, dataset_options=options, backbone=backbone, width=width,
                    projection_dim=projection_dim, batch_size=batch_size, steps=steps, learning_rate=learning_rate,
                    weight_decay=weight_decay, temperature=temperature, flip=flip, seed=seed)
    stage_one = encoder_checkpoint.StageOneCheckpoints(
        encoder_dir, settings, dict(encoder=encoder, optimizer=optimizer, seeds=seeds.state,
                                    step=tf.Variable(0, dtype=tf.int64)), optimizer, variables)

    @tf.function
    def step(images):
        seed_i, seed_j = tf.unstack(tf.cast(tf.random.experimental.stateless_split(
            tf.cast(seeds.next(), tf.int64), 2), tf.int32))
        view_i = simclr.simclr_view(images, seed_i, flip)
        view_j = simclr.simclr_view(images, seed_j, flip)
        with tf.GradientTape() as tape:
            _, z_i = encoder(view_i, training=True)
            _, z_j = encoder(view_j, training=True)
            loss = simclr.nt_xent(z_i, z_j, temperature)
            total = loss + weight_decay * simclr.l2_penalty(variables)
        optimizer.apply_gradients(zip(tape.gradient(total, variables), variables))
        return loss

    with stage_one.lock():
        done = start = stage_one.restore()
        if start:
            print(f"resuming SimCLR at step {start} of {steps} ({stage_one.directory})",
                  flush=True)
        began, loss = time.monotonic(), None
        # The data order depends on the step only, so a resumed run reads the same batches.
        for images, _ in batch_pipeline(train, batch_size, seed=seed,
                                        start=start * batch_size).take(steps - start):
            loss = float(step(images))
            done += 1
            if done % log_every == 0 or done == steps:
                print(f"simclr {done}/{steps}  nt_xent {loss:.4f}  "
                      f"{time.monotonic() - began:.0f}s", flush=True)
            out_of_time = max_minutes and time.monotonic() - began > 60 * max_minutes
            if done < steps and (out_of_time or done == stop_at):
                stage_one.save(done)
                print(f"simclr stopped after {done} of {steps} steps ("
                      f"{'--max_minutes' if out_of_time else '--stop_at'}); the encoder below is "
                      "that far; rerun the same command to continue", flush=True)
                break
            if done < steps and done % checkpoint_every == 0:
                stage_one.save(done)

    # ---- stage 2: features, k-means, linear classifier
    def features(source):
        out = []
        for start in range(0, len(source), 512):
            x = to_model_units(np.asarray(source.examples[start:start + 512]))
            out.append(encoder(x, training=False)[0].numpy())
        return np.concatenate(out)

    train_h = features(train)
    centres = None
    if clusters:
        from sklearn.cluster import KMeans
        kmeans = KMeans(n_clusters=clusters, n_init=10, random_state=seed).fit(train_h)
        centres = kmeans.cluster_centers_
    if label_source == "clusters":
        names, kind = tuple(f"cluster_{k}" for k in range(clusters)), "onehot"
        train_y = np.eye(clusters, dtype=np.float32)[nearest_centre(train_h, centres)]
    else:
        names, kind, train_y = info.label_names, info.label_kind, train.labels
    classifier = simclr.build_classifier(train_h.shape[1], len(names))
    c_opt = keras.optimizers.Adam(classifier_learning_rate)

    @tf.function
    def c_step(h, y):
        with tf.GradientTape() as tape:
            loss = simclr.classification_loss(classifier(h), y, kind)
        grads = tape.gradient(loss, classifier.trainable_variables)
        c_opt.apply_gradients(zip(grads, classifier.trainable_variables))
        return loss

    rng = np.random.default_rng(seed)
    c_batch = min(256, len(train_h))
    for _ in range(classifier_steps):
        idx = rng.choice(len(train_h), c_batch, replace=False)
        c_loss = float(c_step(train_h[idx], train_y[idx].astype(np.float32)))

    def accuracy(h, y):
        logits = classifier(h).numpy()
        if kind == "onehot":
            return float(np.mean(logits.argmax(1) == y.argmax(1)))
        return float(np.mean((logits > 0) == (y > 0.5)))

    meta = dict(dataset=dataset, dataset_options={k: list(v) if isinstance(v, tuple) else v
                                                  for k, v in options.items()},
                image_shape=list(info.example_shape), backbone=backbone, width=width,
                projection_dim=projection_dim, feature_dim=int(train_h.shape[1]),
                label_names=list(names), label_kind=kind, attribute_source=label_source,
                clusters=clusters, simclr_steps=done, batch_size=batch_size,
                temperature=temperature, learning_rate=learning_rate, weight_decay=weight_decay,
                final_nt_xent=loss, classifier_loss=c_loss,
                train_accuracy=accuracy(train_h, train_y), seed=seed)
    if test is not None:
        test_h = features(test)
        test_y = (np.eye(clusters, dtype=np.float32)[nearest_centre(test_h, centres)]
                  if label_source == "clusters" else test.labels)
        meta["test_accuracy"] = accuracy(test_h, test_y)
    encoder_store.save(encoder_dir, encoder, classifier, meta, centres)
    if done == steps:
        stage_one.finish()
    print(f"encoder and classifier written to {encoder_dir} (train accuracy "
          f"{meta['train_accuracy']:.3f}" + (f", test {meta['test_accuracy']:.3f})"
                                             if "test_accuracy" in meta else ")"))
    return meta


def nearest_centre(features, centres):
    """Index of the closest k-means centre (Euclidean) per row."""
    import numpy as np
    d = ((features[:, None, :] - centres[None]) ** 2).sum(-1)
    return np.argmin(d, axis=1)


@cli.user_errors_exit
def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)
    from tfgan_suite import quiet
    quiet.import_tensorflow()
    f = FLAGS
    options = config_lib._dataset_options(f)
    train_encoder(
        f.dataset, f.encoder_dir, f.data_dir and os.path.abspath(f.data_dir), options,
        backbone=f.backbone or PAPER["backbone"], width=f.encoder_width,
        projection_dim=f.projection_dim or PAPER["projection_dim"],
        batch_size=f.batch_size or PAPER["batch_size"], steps=f.encoder_steps,
        learning_rate=f.learning_rate or PAPER["learning_rate"],
        weight_decay=PAPER["weight_decay"] if f.weight_decay is None else f.weight_decay,
        temperature=f.temperature or PAPER["temperature"],
        classifier_steps=f.classifier_steps,
        classifier_learning_rate=f.classifier_learning_rate, clusters=f.clusters,
        label_source=f.label_source, flip=f.simclr_flip, seed=f.seed,
        max_minutes=f.max_minutes, checkpoint_every=f.checkpoint_every, stop_at=f.stop_at,
        log_every=f.log_every if FLAGS["log_every"].present else 100)


define_flags()

if __name__ == "__main__":
    app.run(main, flags_parser=cli.parse_flags)
