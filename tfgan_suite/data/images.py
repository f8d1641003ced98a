"""Decode, crop and resize image files once, in a parallel tf.data map, into a uint8 array.

Resizing is bilinear with antialiasing, which matches PIL's Image.resize(BILINEAR) (what the
original code's scipy.misc.imresize called) to within one grey level. JPEGs are decoded with
the accurate integer DCT, as PIL does.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import tensorflow as tf

from tfgan_suite.errors import UserError

DECODE_BATCH = 256


def _decode(contents, image_format: str):
    if image_format == "jpeg":
        return tf.io.decode_jpeg(contents, channels=3, dct_method="INTEGER_ACCURATE")
    return tf.io.decode_png(contents, channels=3)


def _process(path, image_format: str, size: int, crop: Optional[tuple],
             expected_hw: Optional[tuple]):
    image = _decode(tf.io.read_file(path), image_format)
    if expected_hw is not None:
        tf.debugging.assert_equal(
            tf.shape(image)[:2], tf.constant(expected_hw, tf.int32),
            message=f"image is not {expected_hw[0]} high and {expected_hw[1]} wide")
    if crop is not None:
        top, left, height, width = crop
        image = image[top:top + height, left:left + width]
    resized = tf.image.resize(image, (size, size), method="bilinear", antialias=True)
    return tf.cast(tf.clip_by_value(tf.round(resized), 0, 255), tf.uint8)


def _name_bad_file(paths: Sequence[str], process) -> None:
    """Decode `paths` one by one and raise a UserError naming the first that fails."""
    for path in paths:
        try:
            process(tf.constant(path))
        except (tf.errors.InvalidArgumentError, tf.errors.NotFoundError) as e:
            reason = e.message.strip().splitlines()[0]
            raise UserError(f"cannot use image {path!r}: {reason}. The file is corrupt, "
                            "truncated or not the dataset's official image; download it "
                            "again") from None


def decode_images(paths: Sequence[str], out: np.ndarray, image_format: str, size: int,
                  crop: Optional[tuple] = None, expected_hw: Optional[tuple] = None) -> None:
    """Fill out[i] (uint8 [size, size, 3]) from paths[i]: decode, crop (top, left, h, w), resize.

    expected_hw: (height, width) every file must have before cropping, or None for any size.
    A file that cannot be decoded, or has the wrong size, raises a UserError naming it.
    """
    def process(path):
        return _process(path, image_format, size, crop, expected_hw)

    dataset = (tf.data.Dataset.from_tensor_slices(tf.constant(list(paths), tf.string))
               .map(process, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
               .batch(DECODE_BATCH).prefetch(2))
    start = 0
    iterator = iter(dataset)
    while start < len(paths):
        try:
            batch = next(iterator).numpy()
        except tf.errors.OpError:
            # tf.data does not say which element failed: find it among this batch's files.
            _name_bad_file(paths[start:start + DECODE_BATCH], process)
            raise
        out[start:start + len(batch)] = batch
        start += len(batch)
