"""SLOGAN attribute manipulation with probe data (Hwang et al., Sec. 3.4, Eq. 11, App. D.3,
Algorithm 3).

A probe set gives M_c real images with the desired attribute for each latent component c. The
loss L_m pulls each probe's encoding E(x_c^i) towards its component's mean mu_c and away from the
other means, with the feature scale s and additive angular margin m of U2C (Eq. 66, App. D.3):

    logit_ik = s cos(theta_ik + m)  if k = c_i (ArcFace, contrastive.additive_angular_margin)
               s cos(theta_ik)      otherwise,     cos theta_ik = E(x_i) . mu_k / |E(x_i)| |mu_k|

Two readings of the paper are offered (`LOSS_FORMS`):
  "per_probe" (default, Eq. 11): L_m = sum_c 1/M_c sum_{i in c} -log softmax_k(logit_i)[c],
      Eq. 11 for every component's probe set, summed over the components. With s = 1, m = 0 it
      is Eq. 11 verbatim.
  "pooled" (the last line of Algorithm 3, written there for K = 2 and generalised here): the
      j-th probes of all K components are pooled into one ratio,
      L_m = 1/(M (T+1)) sum_j -log( sum_c exp(logit^j_cc) / sum_c sum_k exp(logit^j_ck) ),
      which needs the same number M of probes in every component.

Mixup (Algorithm 3, Zhang et al. 2018): each of T iterations (T = 5, App. D.3) mixes every
component's probe set with a random permutation of itself, X_bar_c <- X_bar_c U
Mixup(X_c, Permute(X_c)), so X_bar_c holds M_c (T + 1) images. Both images of a pair come from
the same component, so the mixed target is that component again: mixup's soft label
lambda y + (1 - lambda) y' equals the hard label and no soft target is needed. The paper gives no
Beta(alpha, alpha) parameter; lambda ~ U(0, 1) (alpha = 1, the mixup paper's CIFAR setting), one
lambda per mixed image, and new permutations and lambdas at every training step.

Which parameters learn from L_m (Sec. 3.4 says mu, Sigma, G and E; Algorithm 3 says E, G and mu):
L_m is a function of E's weights and of mu only. The probe images are real data, not G(z), and
do not depend on z, so dL_m/dG = 0, and the Stein estimators of Eqs. 3-6 (which act through
dl/dz) give mu and Sigma nothing from it; Sigma does not appear in L_m at all. What remains, and
what models/slogan.py applies: E minimises weight * L_m with its optimizer, and mu takes the
direct autodiff gradient weight * dL_m/dmu in the same plain gradient-descent step (and at the
same rate, 10 gamma) as its Stein gradient. G and Sigma get exactly zero and are not touched.

Accepted probe data (`load_probe_set`), brought to the dataset's training shape and kept as
uint8 (models convert to [-1, 1] with data.base.to_model_units):
  * a folder with one subfolder per component, named 0 .. K-1 (or any names listed in component
    order with --probe_folders), each holding PNG or JPEG files (.png, .jpg, .jpeg; hidden files
    are ignored, anything else is an error). Images must have the training resolution; they are
    decoded to the dataset's channels (RGB -> grey for MNIST-like data, grey -> RGB for colour
    data). For CelebA the aligned 178x218 JPEG/PNG of img_align_celeba are accepted too and are
    cropped and resized exactly as the CelebA loader does (data/celeba.py CROP, data/images.py).
  * an .npz file with "images" uint8 [N, H, W, C] at the training shape and "components" int [N]
    in 0 .. K-1.
"""

from __future__ import annotations

import dataclasses
import os
import zipfile
from typing import Optional, Sequence

import numpy as np
import tensorflow as tf

from tfgan_suite import contrastive
from tfgan_suite.data import celeba, images as image_files
from tfgan_suite.data.base import DatasetInfo, to_model_units
from tfgan_suite.errors import UserError

LOSS_FORMS = ("per_probe", "pooled")
MIXUP_ITERATIONS = 5          # T of Algorithm 3 (App. D.3)
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")
NPZ_KEYS = ("images", "components")


@dataclasses.dataclass(frozen=True)
class ProbeSet:
    """Probe images uint8 [N, H, W, C] and their components int32 [N], sorted by component
    (file order kept within a component)."""

    images: np.ndarray
    components: np.ndarray


# ---------------------------------------------------------------- reading


def _decode(path: str, channels: int) -> tf.Tensor:
    """uint8 [H, W, channels] of a PNG or JPEG file (JPEG with the accurate DCT, as the loaders)."""
    try:
        contents = tf.io.read_file(path)
        if tf.io.is_jpeg(contents):
            return tf.io.decode_jpeg(contents, channels=channels, dct_method="INTEGER_ACCURATE")
        return tf.io.decode_png(contents, channels=channels)
    except (tf.errors.InvalidArgumentError, tf.errors.NotFoundError) as e:
        reason = e.message.strip().splitlines()[0]
        raise UserError(f"cannot read probe image {path!r}: {reason}. Replace it with a valid "
                        "PNG or JPEG file") from None


def read_image_files(paths: Sequence[str], info: DatasetInfo) -> np.ndarray:
    """uint8 [len(paths), H, W, C] at info.example_shape; see the module doc for what is accepted.

    Raw 218x178 CelebA images go through data.images.decode_images with the CelebA loader's crop,
    so they come out exactly as the training images do.
    """
    height, width, channels = info.example_shape
    out = np.empty((len(paths),) + tuple(info.example_shape), np.uint8)
    raw = []
    for i, path in enumerate(paths):
        image = _decode(path, channels)
        hw = tuple(int(s) for s in image.shape[:2])
        if hw == (height, width):
            out[i] = image.numpy()
        elif info.name == "celeba" and hw == celeba.IMAGE_HW:
            raw.append(i)
        else:
            also = (f", or the aligned {celeba.IMAGE_HW[1]}x{celeba.IMAGE_HW[0]} CelebA images"
                    if info.name == "celeba" else "")
            raise UserError(f"probe image {path!r} is {hw[1]}x{hw[0]} (width x height) but "
                            f"{info.name} trains on {width}x{height} images{also}; resize the "
                            "probe images to the training resolution")
    if raw:
        fmt = ["jpeg" if tf.io.is_jpeg(tf.io.read_file(paths[i])) else "png" for i in raw]
        for kind in sorted(set(fmt)):
            rows = [i for i, f in zip(raw, fmt) if f == kind]
            block = np.empty((len(rows),) + tuple(info.example_shape), np.uint8)
            image_files.decode_images([paths[i] for i in rows], block, kind, height,
                                      crop=celeba.CROP, expected_hw=celeba.IMAGE_HW)
            out[rows] = block
    return out


def _component_folders(path: str, num_components: int, folders: Optional[Sequence[str]]) -> list:
    subfolders = sorted(e for e in os.listdir(path)
                        if not e.startswith(".") and os.path.isdir(os.path.join(path, e)))
    if folders is None:
        expected = [str(c) for c in range(num_components)]
        if sorted(subfolders) != sorted(expected):
            raise UserError(
                f"probe folder {path!r} holds {len(subfolders)} subfolder(s) {subfolders}, but "
                f"there are {num_components} latent components: it needs exactly the subfolders "
                f"{', '.join(expected)} (one per component), or name yours in component order "
                "with --probe_folders")
        return [os.path.join(path, name) for name in expected]
    folders = list(folders)
    if len(folders) != num_components or len(set(folders)) != len(folders):
        raise UserError(f"--probe_folders lists {len(folders)} folder(s) {folders} but there are "
                        f"{num_components} latent components (--num_components): list each "
                        "component's folder once, in component order")
    missing = [name for name in folders if name not in subfolders]
    if missing:
        raise UserError(f"--probe_folders: {missing} are not subfolders of {path!r} (it holds "
                        f"{subfolders})")
    return [os.path.join(path, name) for name in folders]


def _image_paths(folder: str) -> list:
    paths = []
    for name in sorted(os.listdir(folder)):
        if name.startswith("."):
            continue
        full = os.path.join(folder, name)
        if not (os.path.isfile(full) and name.lower().endswith(IMAGE_EXTENSIONS)):
            raise UserError(f"probe folder {folder!r} holds {name!r}, which is not a PNG or JPEG "
                            f"file ({', '.join(IMAGE_EXTENSIONS)}); remove it")
        paths.append(full)
    return paths


def _read_folder(path, info, num_components, folders) -> tuple:
    paths, components = [], []
    for c, folder in enumerate(_component_folders(path, num_components, folders)):
        found = _image_paths(folder)
        paths += found
        components += [c] * len(found)
    return read_image_files(paths, info), np.asarray(components, np.int32)


def _read_npz(path, info, num_components) -> tuple:
    try:
        with np.load(path, allow_pickle=False) as archive:
            missing = [k for k in NPZ_KEYS if k not in archive.files]
            if missing:
                raise UserError(f"probe file {path!r} lacks the array(s) {missing}; it needs "
                                "'images' (uint8 [N, H, W, C]) and 'components' (int [N])")
            images, components = archive["images"], archive["components"]
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        raise UserError(f"cannot read probe file {path!r} ({e}); write it with "
                        "numpy.savez(path, images=..., components=...)") from None
    shape = (len(images),) + tuple(info.example_shape)
    if images.dtype != np.uint8 or images.shape != shape:
        raise UserError(f"probe file {path!r}: 'images' is {images.dtype} {list(images.shape)}; "
                        f"{info.name} needs uint8 [N, {', '.join(map(str, info.example_shape))}] "
                        "(pixels 0..255 at the training resolution)")
    if not np.issubdtype(components.dtype, np.integer) or components.shape != (len(images),):
        raise UserError(f"probe file {path!r}: 'components' must be integers, one per image; got "
                        f"{components.dtype} {list(components.shape)}")
    bad = sorted(set(components[(components < 0) | (components >= num_components)].tolist()))
    if bad:
        raise UserError(f"probe file {path!r}: components {bad} do not exist; there are "
                        f"{num_components} latent components (0..{num_components - 1})")
    return images, components.astype(np.int32)


def load_probe_set(path: str, info: DatasetInfo, num_components: int,
                   folders: Optional[Sequence[str]] = None, min_per_component: int = 1,
                   equal_counts: bool = False) -> ProbeSet:
    """Read and check a probe set (folder or .npz, see the module doc); UserError on bad input."""
    if not info.is_image:
        raise UserError(f"--probe_data needs an image dataset; {info.name} examples have shape "
                        f"{info.example_shape}")
    if not os.path.exists(path):
        raise UserError(f"--probe_data {path!r} does not exist: pass a folder with one subfolder "
                        "of images per latent component, or an .npz file")
    if os.path.isdir(path):
        images, components = _read_folder(path, info, num_components, folders)
    elif path.endswith(".npz"):
        if folders is not None:
            raise UserError("--probe_folders names subfolders of a probe folder; "
                            f"--probe_data {path!r} is an .npz file")
        images, components = _read_npz(path, info, num_components)
    else:
        raise UserError(f"--probe_data {path!r} is neither a folder nor an .npz file")
    counts = np.bincount(components, minlength=num_components)
    if counts.min() < min_per_component:
        raise UserError(f"too few probe images in {path!r}: components 0..{num_components - 1} "
                        f"have {counts.tolist()}; each needs at least {min_per_component} (1, or 2 "
                        "with --probe_mixup, which mixes every probe with another of its "
                        "component)")
    if equal_counts and len(set(counts.tolist())) > 1:
        raise UserError(f"probe images in {path!r} per component: {counts.tolist()}; the pooled "
                        "loss (Algorithm 3) pairs the j-th probe of every component, so give "
                        "every component the same number")
    order = np.argsort(components, kind="stable")
    return ProbeSet(np.ascontiguousarray(images[order]), components[order])


# ---------------------------------------------------------------- mixup (Algorithm 3)


def mixup_draws(components, iterations: int, seed) -> tuple:
    """Random draws of Algorithm 3's T mixup iterations for probes sorted by component.

    Returns (partners int32 [T, N], lambdas float32 [T, N]): partners[t] is a uniformly random
    permutation within every component (Permute(X_c)), lambdas ~ U(0, 1). `seed`: stateless [2].
    """
    components = tf.convert_to_tensor(components, tf.int32)
    n = tf.shape(components)[0]
    seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), 2)
    keys = tf.random.stateless_uniform([iterations, n], seed=seeds[0], dtype=tf.float64)
    # Sorting component + key (key in [0, 1)) orders by component, randomly within one; because
    # the probes are sorted by component, position i and its partner share the component.
    partners = tf.argsort(tf.cast(components, tf.float64)[None, :] * 2.0 + keys, axis=1)
    lambdas = tf.random.stateless_uniform([iterations, n], seed=seeds[1])
    return tf.cast(partners, tf.int32), lambdas


def mixup_probes(images, components, partners, lambdas) -> tuple:
    """X_bar = X U {lambda_t X + (1 - lambda_t) X[partners_t]}_{t=1..T} (Algorithm 3 lines 3-6).

    images float [N, ...] (model units), components int [N], partners/lambdas [T, N].
    Returns images [(T + 1) N, ...] (block t = 0 the probes themselves, block t the t-th mixup)
    and their components (each mixed image keeps its component: both parents share it).
    """
    images = tf.convert_to_tensor(images, tf.float32)
    lam = tf.reshape(lambdas, tf.concat([tf.shape(lambdas), tf.ones([tf.rank(images) - 1],
                                                                     tf.int32)], 0))
    mixed = lam * images[None] + (1.0 - lam) * tf.gather(images, partners)     # [T, N, ...]
    blocks = tf.concat([images[None], mixed], axis=0)
    repeats = tf.shape(blocks)[0]
    return (tf.reshape(blocks, tf.concat([[-1], tf.shape(images)[1:]], 0)),
            tf.tile(tf.convert_to_tensor(components, tf.int32), [repeats]))


# ---------------------------------------------------------------- L_m (Eq. 11, Algorithm 3)


def manipulation_logits(features, mu, components, scale, margin):
    """[N, K] logits: s cos(theta_ik + m) for k = c_i, s cos(theta_ik) for the other k."""
    cos = contrastive.cosine_similarity_matrix(features, mu)                   # [N, K]
    onehot = tf.one_hot(components, tf.shape(mu)[0], dtype=cos.dtype)
    target = tf.reduce_sum(cos * onehot, axis=1)
    with_margin = contrastive.additive_angular_margin(target, scale, margin)
    return scale * cos + onehot * (with_margin - scale * target)[:, None]


def per_probe_loss(logits, components, num_components):
    """Eq. 11 summed over components: sum_c 1/M_c sum_{i in c} -log softmax(logits_i)[c_i]."""
    nll = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=components, logits=logits)
    counts = tf.reduce_sum(tf.one_hot(components, num_components, dtype=logits.dtype), axis=0)
    return tf.reduce_sum(nll / tf.gather(counts, components))


def pooled_loss(logits, components, num_components):
    """Algorithm 3's last line for K components: the j-th probes of all components in one ratio.

    j is a probe's rank within its component (probes laid out as mixup_probes returns them);
    every component must hold the same number N / K of probes (load_probe_set checks it).
    L_m = mean_j -log( sum_c exp(logit^j_{c c}) / sum_c sum_k exp(logit^j_{c k}) ).
    The exponentials are shifted by the largest logit, which cancels in the ratio.
    """
    onehot = tf.one_hot(components, num_components, dtype=tf.int32)
    rank = tf.reduce_sum(tf.cumsum(onehot, axis=0) * onehot, axis=1) - 1
    pairs = tf.shape(logits)[0] // num_components      # static under XLA, unlike max(rank) + 1
    exp = tf.exp(logits - tf.stop_gradient(tf.reduce_max(logits)))
    positive = tf.reduce_sum(exp * tf.cast(onehot, exp.dtype), axis=1)
    numerator = tf.math.unsorted_segment_sum(positive, rank, pairs)
    denominator = tf.math.unsorted_segment_sum(tf.reduce_sum(exp, axis=1), rank, pairs)
    return -tf.reduce_mean(tf.math.log(numerator / denominator))


class ProbeObjective:
    """The attribute manipulation term of a SLOGAN run: settings plus the probe set.

    The set is read (and checked) by `read`, which the model calls when its train step is first
    traced; building a model for export or sampling never touches the probe files.
    """

    def __init__(self, path: str, info: DatasetInfo, num_components: int,
                 folders: Optional[Sequence[str]] = None, weight: float = 1.0,
                 mixup: bool = False, mixup_iterations: int = MIXUP_ITERATIONS,
                 loss_form: str = "per_probe"):
        if loss_form not in LOSS_FORMS:
            raise ValueError(f"loss_form must be one of {LOSS_FORMS}, got {loss_form!r}")
        if mixup_iterations < 1:
            raise ValueError(f"mixup_iterations must be positive, got {mixup_iterations}")
        self.path, self.info, self.num_components = path, info, int(num_components)
        self.folders = None if folders is None else tuple(folders)
        self.weight, self.mixup = float(weight), bool(mixup)
        self.mixup_iterations, self.loss_form = int(mixup_iterations), loss_form
        self._probe_set = None

    @tf.autograph.experimental.do_not_convert      # plain Python file reading, also when traced
    def read(self) -> ProbeSet:
        """The probe set, read on first use. Mixup needs two probes per component (a partner)."""
        if self._probe_set is None:
            self._probe_set = load_probe_set(
                self.path, self.info, self.num_components, self.folders,
                min_per_component=2 if self.mixup else 1,
                equal_counts=self.loss_form == "pooled")
        return self._probe_set

    def batch(self, seed=None) -> tuple:
        """(images float32 [-1, 1], components int32) of one step: the whole probe set, or with
        mixup its (T + 1)-fold augmentation drawn from stateless `seed`."""
        with tf.init_scope():          # read files eagerly even while a train step is traced
            probe_set = self.read()
        images = tf.constant(to_model_units(probe_set.images))
        components = tf.constant(probe_set.components)
        if not self.mixup:
            return images, components
        partners, lambdas = mixup_draws(components, self.mixup_iterations, seed)
        return mixup_probes(images, components, partners, lambdas)

    def loss(self, features, mu, components, scale, margin):
        """L_m (module doc) of encoded probes `features` [N, e] against the means mu [K, e]."""
        logits = manipulation_logits(features, mu, components, scale, margin)
        if self.loss_form == "pooled":
            return pooled_loss(logits, components, self.num_components)
        return per_probe_loss(logits, components, self.num_components)
