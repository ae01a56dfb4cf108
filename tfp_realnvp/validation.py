"""Checks on user input; every failure names the problem and the expected value.

Shape, rank and dtype problems raise ValueError at once. Value problems (NaN,
pixels out of range, labels out of range) raise ValueError in eager mode; in
a traced graph (`fit`, SavedModel signatures) they become
`tf.errors.InvalidArgumentError` with the same message, since a graph cannot
raise Python exceptions.
"""

import numpy as np
import tensorflow as tf

from tfp_realnvp.bijectors.preprocessing import PIXEL_LEVELS

PIXEL_UPPER_BOUND = PIXEL_LEVELS


def _check_value(condition_fn, tensor, message):
  """Raises ValueError (eager) or adds an assertion (graph) that condition_fn(tensor) is all True."""
  if tf.executing_eagerly():
    if not np.all(condition_fn(tensor).numpy()):
      raise ValueError(message)
    return tensor
  assertion = tf.debugging.Assert(tf.reduce_all(condition_fn(tensor)),
                                  [message])
  with tf.control_dependencies([assertion]):
    return tf.identity(tensor)


def _check_shape(tensor, what, expected_event_shape):
  """Checks rank and event shape; returns `tensor` with its shape made static.

  A dimension unknown while tracing (a SavedModel signature takes any shape,
  so that bad requests get this message) is checked when the graph runs.
  """
  shape = tensor.shape
  expected = "[N, " + ", ".join(str(d) for d in expected_event_shape) + "]"
  if shape.rank is None or shape.rank != len(expected_event_shape) + 1:
    raise ValueError(f"{what} must have rank {len(expected_event_shape) + 1} "
                     f"{expected}; got shape {shape}.")
  if not shape[1:].is_compatible_with(expected_event_shape):
    raise ValueError(f"{what} must have shape {expected}; got {shape}.")
  if shape[1:].is_fully_defined():
    return tensor
  dims_checked = _check_value(
      lambda dims: tf.reduce_all(tf.equal(dims, expected_event_shape)),
      tf.shape(tensor)[1:], f"{what} must have shape {expected}.")
  with tf.control_dependencies([dims_checked]):
    tensor = tf.identity(tensor)
  return tf.ensure_shape(tensor, [None, *expected_event_shape])


def _always_pixels(dtype):
  """Whether every value of `dtype` lies in [0, 256) (uint8): no check needed."""
  return dtype.is_integer and dtype.min >= 0 and dtype.max < PIXEL_UPPER_BOUND


def _in_pixel_range(pixels):
  """0 <= pixels < 256, compared in the pixels' own dtype (256 is exact in every float dtype)."""
  in_range = pixels >= 0
  if pixels.dtype.is_floating or pixels.dtype.max >= PIXEL_UPPER_BOUND:
    in_range &= pixels < tf.cast(PIXEL_UPPER_BOUND, pixels.dtype)
  return in_range


def images(pixels, image_shape, dtype):
  """Validates images of pixel values in [0, 256) and casts them to `dtype`.

  Args:
    pixels: array-like [N, H, W, C], integer or float dtype.
    image_shape: expected (H, W, C).
    dtype: float dtype of the result.

  Returns:
    A new `dtype` tensor [N, H, W, C] (a fresh tensor, so that TFP's
    bijector cache never returns a result computed with older weights).

  Raises:
    ValueError: wrong rank or shape, a non-numeric dtype, NaN or infinite
      values, or values outside [0, 256).
  """
  pixels = tf.convert_to_tensor(pixels)
  if not (pixels.dtype.is_integer or pixels.dtype.is_floating):
    raise ValueError(f"images must have an integer (e.g. uint8) or float "
                     f"dtype holding pixels in [0, 256); got {pixels.dtype}.")
  pixels = _check_shape(pixels, "images", image_shape)
  if pixels.dtype.is_floating:
    pixels = _check_value(tf.math.is_finite, pixels,
                          "images contain NaN or infinite values; expected "
                          "finite pixel values in [0, 256).")
  if not _always_pixels(pixels.dtype):
    pixels = _check_value(
        _in_pixel_range, pixels, "images contain pixel values outside "
        "[0, 256); expected uint8 values or dequantized floats in [0, 256).")
  # Casting can round a value just below 256 up to 256: clip it back.
  return tf.identity(clip_pixels(tf.cast(pixels, dtype)))


def latents(values, image_shape, dtype):
  """Validates latents [N, H, W, C] (the layout of `RealNVP.encode`) and casts to `dtype`.

  Args:
    values: array-like [N, H, W, C] of a float dtype.
    image_shape: expected (H, W, C).
    dtype: float dtype of the result.

  Returns:
    A new `dtype` tensor [N, H, W, C].

  Raises:
    ValueError: wrong rank, shape or dtype, or NaN/infinite values.
  """
  values = tf.convert_to_tensor(values)
  if not values.dtype.is_floating:
    raise ValueError(f"latents must have a float dtype; got {values.dtype}.")
  values = _check_shape(values, "latents", image_shape)
  values = _check_value(tf.math.is_finite, tf.cast(values, dtype),
                        "latents contain NaN or infinite values.")
  return tf.identity(values)


def labels(class_labels, num_classes, batch_size):
  """Validates class labels for a model with `num_classes` classes (None: unconditional).

  Args:
    class_labels: array-like int [N], or None.
    num_classes: int, or None for an unconditional model.
    batch_size: N of the images the labels go with (int or scalar tensor).

  Returns:
    int32 tensor [N], or None for an unconditional model.

  Raises:
    ValueError: labels missing for a conditional model, given to an
      unconditional one, of a non-integer dtype, not of shape [N], or outside
      [0, num_classes).
  """
  if num_classes is None:
    if class_labels is not None:
      raise ValueError("This model is unconditional (num_classes=None); "
                       "labels must be None.")
    return None
  if class_labels is None:
    raise ValueError(f"This model is class-conditional: labels are required, "
                     f"an int tensor [N] with values in [0, {num_classes}).")
  class_labels = tf.convert_to_tensor(class_labels)
  if not class_labels.dtype.is_integer:
    raise ValueError(f"labels must have an integer dtype; got "
                     f"{class_labels.dtype}.")
  if class_labels.shape.rank != 1:
    raise ValueError(f"labels must have shape [N]; got {class_labels.shape}.")
  size_checked = _check_value(
      lambda n: tf.equal(n, tf.cast(batch_size, n.dtype)),
      tf.shape(class_labels)[0],
      "labels must have shape [N] with N the number of images; got "
      f"shape {class_labels.shape}.")
  with tf.control_dependencies([size_checked]):
    class_labels = tf.identity(class_labels)
  class_labels = _check_value(
      lambda l: (l >= 0) & (l < num_classes), class_labels,
      f"labels must lie in [0, {num_classes}); got values outside it.")
  return tf.cast(class_labels, tf.int32)


def temperatures(values, dtype):
  """Validates sampling temperatures: a scalar or a vector [N], each finite and > 0.

  Args:
    values: float scalar or [N], standard deviations of the latents.
    dtype: float dtype of the result.

  Returns:
    `dtype` tensor of the same shape.

  Raises:
    ValueError: rank above 1; values <= 0 or NaN (InvalidArgumentError in a
      graph).
  """
  values = tf.convert_to_tensor(values)
  if values.shape.rank is None or values.shape.rank > 1:
    raise ValueError(f"temperature must be a scalar or a vector [N]; got "
                     f"shape {values.shape}.")
  values = tf.cast(values, dtype)
  return _check_value(lambda t: tf.math.is_finite(t) & (t > 0), values,
                      "temperature must be finite and > 0.")


def clip_pixels(pixels):
  """Clips float pixels [N, H, W, C] into [0, 256).

  The logit transform's range reaches slightly beyond [0, 256), and rounding
  can turn values just below 256 into 256 itself; the result keeps the dtype.

  Args:
    pixels: float `tf.Tensor` of pixel values, any shape.

  Returns:
    tf.Tensor: of `pixels`' shape and dtype, values in [0, 256); the
    largest is the dtype's largest number below 256.
  """
  largest_pixel = np.nextafter(PIXEL_UPPER_BOUND, 0,
                               dtype=pixels.dtype.as_numpy_dtype)
  return tf.clip_by_value(pixels, 0.0, largest_pixel)
