"""Checks on user input; every failure names the problem and the expected value.

Shape, rank and dtype problems raise ValueError at once. Value problems (NaN,
pixels out of range, labels out of range) raise ValueError in eager mode; in
a traced graph (`fit`, SavedModel signatures) they become
`tf.errors.InvalidArgumentError` with the same message, since a graph cannot
raise Python exceptions. So do ranks and sizes unknown while tracing (a
SavedModel signature takes inputs of any shape, so that a bad request gets
these messages rather than an error from deep inside the model).
"""

import numbers

import numpy as np
import tensorflow as tf

from tfp_realnvp.bijectors.preprocessing import PIXEL_LEVELS

PIXEL_UPPER_BOUND = PIXEL_LEVELS
#: The error for float images whose values all lie in [0, 1], not all whole.
UNIT_SCALE_MESSAGE = (
    "images are floats all in [0, 1], not all whole numbers, as images "
    "scaled to [0, 1] are; expected pixel values in [0, 256): multiply them "
    "by 255 (e.g. `images * 255`) or pass uint8 images. A batch of only "
    "black dequantized images also lies in [0, 1): score such images "
    "together with others, or as integer pixels (uint8).")


def _check_value(condition_fn, tensor, message):
  """Raises ValueError (eager) or adds an assertion (graph) that condition_fn(tensor) is all True.

  `message` is a str, or in a graph a string tensor (`_with_shape`).
  """
  if tf.executing_eagerly():
    if not np.all(condition_fn(tensor).numpy()):
      raise ValueError(message)
    return tensor
  assertion = tf.debugging.Assert(tf.reduce_all(condition_fn(tensor)),
                                  [message])
  with tf.control_dependencies([assertion]):
    return tf.identity(tensor)


def _with_shape(template, tensor):
  """`template` with its "{}" replaced by the shape of `tensor`: static if known, else when the graph runs."""
  if tensor.shape.is_fully_defined():
    return template.format(tensor.shape)
  return tf.strings.format(template, [tf.shape(tensor)], summarize=-1)


def _check_rank(tensor, rank, message):
  """Checks that `tensor` has rank `rank`; returns it with that rank static.

  Graph-time checks set the static shape with `set_shape`, not with
  `tf.ensure_shape`, whose own check Grappler may run before the
  assertion (so that TF's words, not ours, would reach the user).

  Args:
    tensor: a `tf.Tensor`, of unknown rank in a SavedModel signature.
    rank: the expected rank (int).
    message: the error message; "{}" in it shows the shape `tensor` has.
  """
  if tensor.shape.rank is None:
    tensor = _check_value(lambda t: tf.equal(tf.rank(t), rank), tensor,
                          _with_shape(message, tensor))
    tensor.set_shape([None] * rank)  # Static only: the assertion checks it.
    return tensor
  if tensor.shape.rank != rank:
    raise ValueError(message.format(tensor.shape))
  return tensor


def _batch_shape_text(event_shape):
  """"[N, H, W, C]": the expected shape of a batch of `event_shape` events, for messages."""
  return "[" + ", ".join(["N", *map(str, event_shape)]) + "]"


def _check_batch_size(tensor, batch_size, message):
  """`tensor` after a check that its first dimension is `batch_size` (an int or scalar tensor); "{}" in `message` shows its shape."""
  size_checked = _check_value(
      lambda n: tf.equal(n, tf.cast(batch_size, n.dtype)), tf.shape(tensor)[0],
      _with_shape(message, tensor))
  with tf.control_dependencies([size_checked]):
    return tf.identity(tensor)


def _check_shape(tensor, what, expected_event_shape):
  """Checks rank, event shape and N >= 1 of a batch [N, ...]; returns `tensor` with its shape made static.

  An empty batch is refused: the model's convolutions cannot run on one.
  What is unknown while tracing is checked when the graph runs.
  """
  expected = _batch_shape_text(expected_event_shape)
  tensor = _check_rank(tensor, len(expected_event_shape) + 1,
                       f"{what} must have rank {len(expected_event_shape) + 1}"
                       f" {expected}; got shape {{}}.")
  message = f"{what} must have shape {expected} with N >= 1; got shape {{}}."
  expected_shape = tf.TensorShape([None, *expected_event_shape])
  if (not tensor.shape.is_compatible_with(expected_shape)
      or tensor.shape[0] == 0):
    raise ValueError(message.format(tensor.shape))
  if tensor.shape.is_fully_defined():
    return tensor
  shape_checked = _check_value(
      lambda shape: (shape[0] > 0) & tf.reduce_all(
          tf.equal(shape[1:], tf.constant(expected_event_shape, tf.int32))),
      tf.shape(tensor), _with_shape(message, tensor))
  with tf.control_dependencies([shape_checked]):
    tensor = tf.identity(tensor)
  tensor.set_shape(expected_shape)  # Static only, as in `_check_rank`.
  return tensor


def _always_pixels(dtype):
  """Whether every value of `dtype` lies in [0, 256) (uint8): no check needed."""
  return dtype.is_integer and dtype.min >= 0 and dtype.max < PIXEL_UPPER_BOUND


def _in_pixel_range(pixels):
  """0 <= pixels < 256, compared in the pixels' own dtype (256 is exact in every float dtype)."""
  in_range = pixels >= 0
  if pixels.dtype.is_floating or pixels.dtype.max >= PIXEL_UPPER_BOUND:
    in_range &= pixels < tf.cast(PIXEL_UPPER_BOUND, pixels.dtype)
  return in_range


def _not_unit_scaled(pixels):
  """Whether the float `pixels` are not images scaled to [0, 1]: some exceed 1, or all are whole numbers (black 0.0 images)."""
  return tf.reduce_any(pixels > 1) | tf.reduce_all(pixels == tf.floor(pixels))


def images(pixels, image_shape, dtype, refuse_unit_scale=True):
  """Validates images of pixel values in [0, 256) and casts them to `dtype`.

  Float images whose values all lie in [0, 1], not all whole numbers, are
  refused (unless `refuse_unit_scale` is False): they are almost always
  images scaled to [0, 1] (the Keras habit), which would be scored as black
  images. Integer-valued images (uint8, or black float 0.0 images) are
  never refused for their scale.

  Args:
    pixels: array-like [N, H, W, C] with N >= 1, integer or float dtype,
      pixel values in [0, 256) (uint8 values or dequantized floats).
    image_shape: expected (H, W, C).
    dtype: float dtype of the result.
    refuse_unit_scale: False for pixels this package dequantized itself
      (black images plus noise lie in [0, 1) too).

  Returns:
    A new `dtype` tensor [N, H, W, C] (a fresh tensor, so that TFP's
    bijector cache never returns a result computed with older weights).

  Raises:
    ValueError: wrong rank or shape, an empty batch (N = 0), a non-numeric
      dtype, NaN or infinite values, values outside [0, 256), or float
      values all in [0, 1] and not all whole (`refuse_unit_scale`). In a
      graph (`fit`, SavedModel signatures) the value problems, and a rank
      or size unknown while tracing, raise
      `tf.errors.InvalidArgumentError` with the same message.
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
  if pixels.dtype.is_floating and refuse_unit_scale:
    pixels = _check_value(_not_unit_scaled, pixels, UNIT_SCALE_MESSAGE)
  # Casting can round a value just below 256 up to 256: clip it back.
  return tf.identity(clip_pixels(tf.cast(pixels, dtype)))


def latents(values, image_shape, dtype):
  """Validates latents [N, H, W, C] (the layout of `RealNVP.encode`) and casts to `dtype`.

  Args:
    values: array-like [N, H, W, C] with N >= 1, of a float dtype.
    image_shape: expected (H, W, C).
    dtype: float dtype of the result.

  Returns:
    A new `dtype` tensor [N, H, W, C].

  Raises:
    ValueError: wrong rank, shape or dtype, an empty batch (N = 0), or
      NaN/infinite values. In a graph the value problems, and a rank or
      size unknown while tracing, raise `tf.errors.InvalidArgumentError`
      with the same message.
  """
  values = tf.convert_to_tensor(values)
  if not values.dtype.is_floating:
    raise ValueError(f"latents must have a float dtype; got {values.dtype}.")
  values = _check_shape(values, "latents", image_shape)
  values = _check_value(tf.math.is_finite, tf.cast(values, dtype),
                        "latents contain NaN or infinite values.")
  return tf.identity(values)


def noise(values, image_shape, dtype, batch_size):
  """Validates the base noise v [N, H, W, C] of a dequantization: floats in [0, 1), one per pixel value.

  Every dequantization draws v ~ U[0, 1)^D (`tfp_realnvp.dequantization`);
  the uniform one adds it to the pixels, the variational one maps it
  through its flow first.

  Args:
    values: array-like [N, H, W, C] of a float dtype, values in [0, 1).
    image_shape: expected (H, W, C).
    dtype: float dtype of the result.
    batch_size: N of the images the noise goes with (int or scalar tensor).

  Returns:
    A new `dtype` tensor [N, H, W, C].

  Raises:
    ValueError: wrong rank, shape or dtype, an empty batch, N other than
      the images', or values that are NaN or outside [0, 1). In a graph the
      value and size problems raise `tf.errors.InvalidArgumentError` with
      the same message.
  """
  values = tf.convert_to_tensor(values)
  if not values.dtype.is_floating:
    raise ValueError(f"noise must have a float dtype (U[0, 1) draws); got "
                     f"{values.dtype}.")
  values = _check_shape(values, "noise", image_shape)
  values = _check_batch_size(
      values, batch_size, "noise must have the shape of the images, one value "
      "per pixel value; got shape {}.")
  values = _check_value(lambda v: (v >= 0) & (v < 1), values,
                        "noise must lie in [0, 1) (U[0, 1) draws); got "
                        "values outside it or NaN.")
  return tf.identity(tf.cast(values, dtype))


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
      unconditional one, of a non-integer dtype, not of rank 1, not of shape
      [N], or outside [0, num_classes). In a graph the size and value
      problems, and a rank unknown while tracing, raise
      `tf.errors.InvalidArgumentError` with the same message.
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
  class_labels = _check_rank(class_labels, 1,
                             "labels must have rank 1 [N]; got shape {}.")
  class_labels = _check_batch_size(
      class_labels, batch_size, "labels must have shape [N] with N the number "
      "of images; got shape {}.")
  class_labels = _check_value(
      lambda l: (l >= 0) & (l < num_classes), class_labels,
      f"labels must lie in [0, {num_classes}); got values outside it.")
  return tf.cast(class_labels, tf.int32)


def condition_given(values, condition_shape):
  """Checks that a condition is given exactly when the model takes one.

  Args:
    values: the condition, or None.
    condition_shape: the model's (K,) or (h, w, k), or None.

  Returns:
    bool: whether there is a condition to pass on.

  Raises:
    ValueError: a condition missing for a model that takes one (naming
      its shape), or given to a model that takes none.
  """
  if condition_shape is None:
    if values is not None:
      raise ValueError("This model takes no condition (condition_shape="
                       "None); condition must be None.")
    return False
  if values is None:
    raise ValueError(f"This model is conditioned on a condition of shape "
                     f"{_batch_shape_text(condition_shape)}: condition is "
                     f"required.")
  return True


def condition(values, condition_shape, dtype, batch_size):
  """Validates the condition of a model with `condition_shape` (None: the model takes none).

  Args:
    values: array-like [N] + condition_shape of an integer or float dtype
      (e.g. a low-resolution image, `tfp_realnvp.conditions`), or None.
    condition_shape: the model's (K,) or (h, w, k), or None.
    dtype: float dtype of the result.
    batch_size: N of the images the condition goes with (int or scalar
      tensor).

  Returns:
    A new `dtype` tensor [N] + condition_shape, or None for a model without
    a condition.

  Raises:
    ValueError: a condition missing for a model that takes one, given to a
      model that takes none, of a non-numeric dtype, of the wrong rank or
      shape, with another N than the images, or with NaN or infinite
      values. In a graph the size and value problems, and a rank or size
      unknown while tracing, raise `tf.errors.InvalidArgumentError` with
      the same message.
  """
  if not condition_given(values, condition_shape):
    return None
  values = tf.convert_to_tensor(values)
  if not (values.dtype.is_integer or values.dtype.is_floating):
    raise ValueError(f"condition must have an integer or float dtype; got "
                     f"{values.dtype}.")
  values = _check_shape(values, "condition", tuple(condition_shape))
  values = _check_batch_size(
      values, batch_size, f"condition must have shape "
      f"{_batch_shape_text(condition_shape)} with N the number of images; "
      f"got shape {{}}.")
  values = _check_value(tf.math.is_finite, tf.cast(values, dtype),
                        "condition contains NaN or infinite values.")
  return tf.identity(values)


def repeated_condition(values, condition_shape, count):
  """One condition per sample: a single condition (condition_shape or [1] + condition_shape) repeated `count` times.

  Args:
    values: array-like condition_shape, [1] + condition_shape or
      [count] + condition_shape, or None.
    condition_shape: the model's (K,) or (h, w, k), or None.
    count: int N >= 1, the samples.

  Returns:
    A tensor [count] + condition_shape (unchecked beyond its rank; the
    model's `condition` check follows), or `values` itself when it is None
    or has a batch axis of another size than 1.
  """
  if values is None or condition_shape is None:
    return values
  values = tf.convert_to_tensor(values)
  if values.shape.rank == len(condition_shape):
    values = values[None]
  if values.shape.rank == len(condition_shape) + 1 and values.shape[0] == 1:
    values = tf.repeat(values, count, axis=0)
  return values


def positive_int(value, name):
  """Checks a count (samples, columns, batch size): an int >= 1.

  Args:
    value: the count; Python and numpy ints are accepted, bools, floats
      (even 3.0) and strings are not.
    name: the argument's name, for the error message.

  Returns:
    int, `value`.

  Raises:
    ValueError: `value` is not an int, or is < 1.
  """
  if (isinstance(value, bool) or not isinstance(value, numbers.Integral)
      or value < 1):
    raise ValueError(f"{name} must be an int >= 1; got {value!r}.")
  return int(value)


def seed(value):
  """Checks a sampling seed: an int or None.

  Args:
    value: int (Python or numpy) for reproducible samples, or None for
      fresh ones.

  Returns:
    `value` as an int, or None.

  Raises:
    ValueError: a seed that is not an int (a float such as 1.5, a bool, a
      string).
  """
  if value is None:
    return None
  if isinstance(value, bool) or not isinstance(value, numbers.Integral):
    raise ValueError(f"seed must be an int (the same seed gives the same "
                     f"samples) or None (fresh samples); got {value!r}.")
  return int(value)


def _not_numbers_error(values):
  """The ValueError for temperatures that are not numbers (strings, bools), in the words of both temperature checks."""
  return ValueError(f"temperature must be a float > 0 or a sequence of "
                    f"floats > 0 (the latents' standard deviation); got "
                    f"{values!r}.")


def temperature_values(values):
  """Checks sampling temperatures given as numbers: one or more, each finite and > 0.

  The numpy counterpart of `temperatures` (which checks tensors, also in a
  graph), for the arguments of `TrainedModel.sample` and the sample grid.

  Args:
    values: a number or a sequence (array) of numbers, standard deviations
      of the latents (unit: prior standard deviations; 1 samples the
      model's density).

  Returns:
    float64 numpy [N], N >= 1 (a number gives [1]).

  Raises:
    ValueError: values that are not numbers (strings, bools), nested
      sequences, no value at all, or values <= 0, NaN or infinite.
  """
  try:
    array = np.asarray(values)
  except ValueError:  # Ragged sequences.
    array = np.asarray(None)
  if array.dtype.kind not in "iuf":  # Not bool, str, bytes, object, complex.
    raise _not_numbers_error(values)
  array = np.atleast_1d(array.astype(np.float64))
  if array.ndim != 1 or not array.size:
    raise ValueError(f"Give one or more temperatures; got {values!r}.")
  bad = [float(t) for t in array if not (np.isfinite(t) and t > 0)]
  if bad:
    raise ValueError(f"temperature must be finite and > 0 (the latents' "
                     f"standard deviation; 1 samples the model, 0.7-0.8 gives "
                     f"smoother images); got {bad}.")
  return array


def temperatures(values, dtype, per_image=False):
  """Validates sampling temperatures: a scalar or a vector [N], each finite and > 0.

  Args:
    values: float scalar or [N], standard deviations of the latents.
    dtype: float dtype of the result.
    per_image: whether one temperature per image is required, [N] with
      N >= 1 (the `sample` signature, where they give the batch size),
      rather than a scalar or [N].

  Returns:
    `dtype` tensor of the same shape.

  Raises:
    ValueError: values that are not numbers (strings, bools, a sequence
      mixing numbers and strings; the words of `temperature_values`); rank
      above 1 (not 1 for `per_image`, or N = 0); values <= 0 or NaN
      (InvalidArgumentError in a graph, as are a rank or size unknown
      while tracing).
  """
  try:
    tensor = tf.convert_to_tensor(values)
  except (TypeError, ValueError) as error:  # Numbers mixed with strings.
    raise _not_numbers_error(values) from error
  if not (tensor.dtype.is_floating or tensor.dtype.is_integer):
    raise _not_numbers_error(values)  # Strings, bools.
  values = tensor
  if per_image:
    values = _check_shape(values, "temperature", ())
  elif values.shape.rank is None or values.shape.rank > 1:
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
