"""What every dataset loader returns, and the one tf.data pipeline that feeds training.

Loaders (one module per dataset family) read the official on-disk format, decode and
crop once (in parallel tf.data maps), and return an `ArraySource`: uint8 images at the
training resolution (or float32 vectors for 2-D toy data) with float32 condition labels.
Training reads batches through `batch_pipeline`, which draws example *indices* from a
per-epoch stateless permutation. The pipeline therefore needs no iterator state in
checkpoints: the data position is one integer (examples consumed), and a resumed run
continues with exactly the batches an uninterrupted run would have seen.
"""

from __future__ import annotations

import dataclasses
from typing import Optional, Sequence

import numpy as np
import tensorflow as tf

from tfgan_suite.errors import UserError

LABEL_KINDS = ("onehot", "binary", "continuous", "none")


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
    """Static description of a dataset as the models see it.

    name: registry name (e.g. "celeba").
    example_shape: shape of one example, (H, W, C) for images, (D,) for vectors.
    label_names: one name per conditioning column (() when unlabelled).
    label_kind: "onehot" (class vector), "binary" (0/1 attributes), "continuous", "none".
    num_classes: number of ground-truth classes in `ArraySource.class_ids` (0 if none);
        used by clustering metrics (NMI/ARI, ICFID), not by conditional models.
    """

    name: str
    example_shape: tuple
    label_names: tuple = ()
    label_kind: str = "none"
    num_classes: int = 0

    def __post_init__(self):
        if self.label_kind not in LABEL_KINDS:
            raise ValueError(f"label_kind must be one of {LABEL_KINDS}, got {self.label_kind!r}")

    @property
    def label_dim(self) -> int:
        return len(self.label_names)

    @property
    def is_image(self) -> bool:
        return len(self.example_shape) == 3


@dataclasses.dataclass
class ArraySource:
    """A whole dataset split held as arrays (memory or np.memmap).

    examples: uint8 [N, H, W, C] images (pixels 0..255), or float32 [N, D] vectors
        already in model units (e.g. 2-D toy points scaled to (-1, 1)).
    labels: float32 [N, label_dim] condition vectors ([N, 0] when unlabelled).
    class_ids: int32 [N] ground-truth class per example, or None.
    """

    info: DatasetInfo
    examples: np.ndarray
    labels: np.ndarray
    class_ids: Optional[np.ndarray] = None

    def __post_init__(self):
        n = len(self.examples)
        if self.labels.shape != (n, self.info.label_dim):
            raise ValueError(
                f"labels shape {self.labels.shape} != ({n}, {self.info.label_dim}) for {self.info.name}")
        if tuple(self.examples.shape[1:]) != tuple(self.info.example_shape):
            raise ValueError(
                f"examples shape {self.examples.shape[1:]} != {self.info.example_shape} for {self.info.name}")
        if self.class_ids is not None and len(self.class_ids) != n:
            raise ValueError("class_ids must have one entry per example")

    def __len__(self) -> int:
        return len(self.examples)

    def subset(self, indices: Sequence[int]) -> "ArraySource":
        """The examples at `indices` (materialised in memory)."""
        idx = np.asarray(indices)
        return ArraySource(
            self.info, np.asarray(self.examples[idx]), np.asarray(self.labels[idx]),
            None if self.class_ids is None else np.asarray(self.class_ids[idx]))


def to_model_units(examples: np.ndarray) -> np.ndarray:
    """uint8 pixels -> float32 in [-1, 1] (x / 127.5 - 1, as the original code); floats pass."""
    if examples.dtype == np.uint8:
        return examples.astype(np.float32) / 127.5 - 1.0
    return examples.astype(np.float32, copy=False)


def epoch_permutation(num_examples: int, seed: int, epoch) -> tf.Tensor:
    """The order in which epoch `epoch` visits the examples (stateless, reproducible)."""
    seeds = tf.stack([tf.cast(seed, tf.int64), tf.cast(epoch, tf.int64)])
    return tf.random.experimental.stateless_shuffle(
        tf.range(num_examples, dtype=tf.int64), seed=seeds)


def require_one_batch(source: ArraySource, batch_size: int) -> None:
    """Refuse a split smaller than one batch, with the flag that fixes it."""
    if len(source) < batch_size:
        raise UserError(f"{source.info.name}: the split holds {len(source)} examples, fewer than "
                        f"one batch of {batch_size}: pass --batch_size={len(source)} or less, "
                        "or more data")


def batch_pipeline(source: ArraySource, batch_size: int, group: int = 1, seed: int = 0,
                   start: int = 0, shuffle: bool = True, shard=None) -> tf.data.Dataset:
    """Endless dataset of (x, y) batches in model units, starting after `start` examples.

    group > 1 stacks `group` consecutive batches into one element of shape
    [group, batch_size, ...]: a WGAN-GP step with n_critic critic updates consumes
    n_critic + 1 fresh batches at once (one per critic update, one for the generator's
    labels), exactly as the original code draws a new batch for each update.
    The position after k elements is start + k * group * batch_size examples.

    shard = (first, count, replicas): sharding by index for tf.distribute. Every input pipeline
    walks the same global order; each global batch is cut into `replicas` equal row slices and
    this pipeline yields slices first .. first + count - 1, one element each (tf.distribute
    hands consecutive elements to consecutive local replicas), of batch_size // replicas rows.
    Only those rows are read. The position property above holds for the global batch, so a
    resumed run reads the same examples whatever the number of replicas.
    """
    n = len(source)
    if batch_size <= 0 or group <= 0:
        raise ValueError("batch_size and group must be positive")
    require_one_batch(source, batch_size)
    first_epoch, offset = divmod(int(start), n)

    def order(epoch):
        if shuffle:
            return tf.data.Dataset.from_tensor_slices(epoch_permutation(n, seed, epoch))
        return tf.data.Dataset.range(n)

    indices = (tf.data.Dataset.range(first_epoch, np.iinfo(np.int64).max)
               .flat_map(order).skip(offset).batch(batch_size * group, drop_remainder=True))
    rows = batch_size
    if shard is not None:
        first, count, replicas = shard
        if batch_size % replicas:
            raise ValueError(f"batch size {batch_size} does not split into {replicas} replicas")
        rows = batch_size // replicas

        def own_slices(idx):   # [group * batch] -> [count, group * rows]
            mine = tf.reshape(idx, [group, replicas, rows])[:, first:first + count]
            return tf.reshape(tf.transpose(mine, [1, 0, 2]), [count, group * rows])
        indices = indices.map(own_slices).unbatch()

    examples, labels = source.examples, source.labels
    x_shape = (group, rows) + tuple(source.info.example_shape) if group > 1 else \
        (rows,) + tuple(source.info.example_shape)
    y_shape = x_shape[:-len(source.info.example_shape)] + (source.info.label_dim,)

    def gather(idx):
        # Sorted reads are much faster on a memmap; the order within a batch is restored after.
        order_ = np.argsort(idx)
        x = np.empty((len(idx),) + examples.shape[1:], examples.dtype)
        x[order_] = examples[idx[order_]]
        return to_model_units(x), labels[idx].astype(np.float32)

    def load(idx):
        x, y = tf.numpy_function(gather, [idx], [tf.float32, tf.float32], stateful=False)
        return tf.reshape(x, x_shape), tf.reshape(y, y_shape)

    return indices.map(load, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
