"""One way to load a trained model, whatever its file: `.keras`, `.weights.h5` with its config, or a SavedModel.

`load` returns a `TrainedModel`, which answers `log_prob`, `bits_per_dim`,
`sample`, `encode` and `decode` the same way for each kind of file; the
`sample`, `evaluate` and `export` jobs use it. A SavedModel is run through
its signatures with plain TensorFlow, exactly as TF Serving would run it
(no class of this package is needed); its image shape and class count come
from the `tfp_realnvp.json` that `export_saved_model` writes beside it (for
exports without that file, from the signatures and variables).

Keras files are checked before they are trusted: a `.keras` archive or a
checkpoint that cannot be read raises an error naming the file, and the
weights of a file must be exactly those of the model its config builds
(Keras itself would skip weights the model lacks and leave the model's
other weights as initialized, without a word).
"""

import abc
import os
import tempfile
import zipfile
import zlib

import h5py
import keras
import numpy as np
import tensorflow as tf

from tfp_realnvp import _compat
from tfp_realnvp import validation
from tfp_realnvp.dequantization import UNIFORM
from tfp_realnvp.dequantization import discrete_log_prob_from_draws
from tfp_realnvp.export import ASSETS_EXTRA
from tfp_realnvp.export import MODEL_INFO_FILE
from tfp_realnvp.latents import standard_normal_latents
from tfp_realnvp.model import RealNVP
from tfp_realnvp.runs import read_json

KERAS_SUFFIX = ".keras"
CHECKPOINT_SUFFIX = ".weights.h5"
#: What `load` accepts, for error messages.
ACCEPTED = ("a .keras file, a .weights.h5 checkpoint with its config.json, or "
            "a SavedModel version directory")
#: Samples per call of the flow in `TrainedModel.sample`, so that memory
#: holds one batch's activations (the s/t networks' feature maps), whatever
#: the number of samples.
SAMPLE_BATCH_SIZE = 256

# What to do with a damaged or mismatched file, for error messages.
_KERAS_FILE_REMEDY = ("Use another copy of it, load the run's "
                      "checkpoints/best.weights.h5 with its config.json "
                      "instead, or retrain.")
_CHECKPOINT_REMEDY = ("Use another checkpoint (the run's model.keras, "
                      "backup/ or an earlier copy) or retrain.")
_CONFIG_REMEDY = ("Pass the config.json written by the same run as the "
                  "checkpoint (train writes it into the run directory).")
# What h5py raises for a file it cannot read: OSError (not HDF5, truncated),
# RuntimeError and KeyError (damaged metadata, e.g. a heap), ValueError.
_H5_ERRORS = (OSError, RuntimeError, KeyError, ValueError,
              zipfile.BadZipFile, zlib.error)  # (a damaged archive member)


class TrainedModel(abc.ABC):
  """A trained Real NVP behind one interface (`load`, `from_keras`).

  Pixels are float [N, H, W, C] in [0, 256); labels int [N] in [0, K) for a
  conditional model (ignored by an unconditional one); a condition float
  [N] + condition_shape for a model with one (`RealNVP`'s
  `condition_shape`; every method takes `condition=`); log-densities in
  nats, bits/dim = -log_prob / (D ln 2).

  Attributes:
    image_shape: (H, W, C) the model takes, or None when an older SavedModel
      does not say.
    num_classes: K of a conditional model when known, else None.
    conditional: whether the model needs a class label per image.
    condition_shape: the shape of the condition the model needs per image,
      (K,) or (h, w, k), or None.
    dequantization: the model's `ModelConfig.dequantization` ("uniform"
      for SavedModels of version 0.2.0 and earlier).
    info: the SavedModel's `tfp_realnvp.json` (`export.model_info`), or
      None (Keras models, older exports).
    keras_model: the `RealNVP` for Keras files and checkpoints, else None.
  """

  def __init__(self, image_shape, num_classes, conditional, info=None,
               keras_model=None, dequantization=UNIFORM,
               condition_shape=None):
    """Records what the model is.

    Args:
      image_shape, num_classes, conditional, info, keras_model: as the
        attributes of the same names.
      dequantization, condition_shape: as the attributes of the same names.
    """
    self.condition_shape = (None if condition_shape is None
                            else tuple(condition_shape))
    self.image_shape = None if image_shape is None else tuple(image_shape)
    self.num_classes = num_classes
    self.conditional = conditional
    self.dequantization = dequantization
    self.info = info
    self.keras_model = keras_model

  @abc.abstractmethod
  def log_prob(self, images, labels=None, condition=None):
    """Log-densities of `images` [N] in nats (the model's `log_prob`).

    Args:
      images: float pixels [N, H, W, C] in [0, 256).
      labels: int [N] for a conditional model, else None (or ignored).
      condition: float [N] + condition_shape for a model with a condition,
        else None.

    Returns:
      float32 tensor [N], nats.

    Raises:
      ValueError: labels missing for a conditional model, or values the
        Keras model rejects (its checks: shape, range, NaN, labels).
      tf.errors.InvalidArgumentError: values a SavedModel rejects (the
        message names the problem).
    """

  @abc.abstractmethod
  def bits_per_dim(self, images, labels=None, condition=None):
    """Bits/dim [N] of `images`; arguments as `log_prob`.

    Args:
      images, labels, condition: as in `log_prob`.

    Returns:
      float32 tensor [N], bits/dim.
    """

  @abc.abstractmethod
  def log_importance_weight(self, images, noise, labels=None, condition=None):
    """One draw of the bound on log P(x): log p(x + u) - log q(u | x) [N] nats (`RealNVP.log_importance_weight`).

    Args:
      images: pixels [N, H, W, C] in [0, 256), floored to integers x.
      noise: float [N, H, W, C], the dequantization's base noise v in
        [0, 1).
      labels, condition: as in `log_prob`.

    Returns:
      float32 tensor [N], nats.

    Raises:
      ValueError, tf.errors.InvalidArgumentError: as `log_prob`, or for
        noise of the wrong shape or outside [0, 1).
    """

  def discrete_log_prob(self, images, labels=None, num_samples=1, seed=None,
                        condition=None):
    """A lower bound on log P(x) [N] of integer images, from `num_samples` draws (`RealNVP.discrete_log_prob`).

    The same draws (for a seed) and the same combination of them
    (`tfp_realnvp.dequantization.discrete_log_prob_from_draws`) for every
    kind of file.

    Args:
      images: pixels [N, H, W, C] in [0, 256), floored to integers x.
      labels, condition: as in `log_prob`.
      num_samples: int K >= 1, draws of the dequantization noise.
      seed: int for reproducible draws, or None.

    Returns:
      float32 tensor [N], nats.

    Raises:
      ValueError: num_samples not an int >= 1, a seed that is not an int
        or None, or as `log_importance_weight`.
    """
    num_samples = validation.positive_int(num_samples, "num_samples")
    images = tf.cast(images, tf.float32)
    return discrete_log_prob_from_draws(
        lambda noise: self.log_importance_weight(images, noise, labels,
                                                 condition),
        tf.shape(images), self.dequantization, num_samples,
        validation.seed(seed))

  def sample(self, temperature, labels=None, seed=None,
             batch_size=SAMPLE_BATCH_SIZE, condition=None):
    """One image per temperature: x = decode(T z), z ~ N(0, I).

    With an int seed, z = `standard_normal_latents([N, H, W, C], seed)` for
    every kind of file and every batch size, so a SavedModel gives the
    images of the `.keras` model it was exported from (up to float32
    rounding, ~1e-4 pixel levels). The flow runs on `batch_size` samples at
    a time (`sample_batches`): memory holds the N latents and images and
    one batch's activations.

    Args:
      temperature: float [N] (or one float for one sample), each finite and
        > 0: the latents' standard deviations.
      labels: int [N] for a conditional model, else None.
      seed: int, or None for fresh latents (a SavedModel then samples
        through its `sample` signature, as TF Serving would).
      batch_size: int >= 1, samples per call of the flow.
      condition: for a model with a condition, one per temperature
        [N] + condition_shape or one for all (condition_shape); else None.

    Returns:
      float numpy [N, H, W, C] (float32; a float64 Keras model's dtype),
      pixels in [0, 256).

    Raises:
      ValueError: as `sample_batches`.
    """
    return np.concatenate(list(self.sample_batches(temperature, labels, seed,
                                                   batch_size, condition)))

  def sample_batches(self, temperature, labels=None, seed=None,
                     batch_size=SAMPLE_BATCH_SIZE, condition=None):
    """The images of `sample`, drawn and returned one batch at a time.

    The arguments are checked here, before any sampling; the iterator then
    runs the flow once per batch, so a caller can show progress or write
    the images as they come.

    Args:
      temperature, labels, seed, batch_size, condition: as in `sample`.

    Returns:
      An iterator over float numpy [B, H, W, C] batches of pixels in
      [0, 256), in the order of `temperature`: B = batch_size, the last
      batch B <= batch_size; their concatenation is `sample`'s result.

    Raises:
      ValueError: temperatures that are not numbers, not finite or <= 0 (or
        none), a seed that is not an int or None, batch_size not an int
        >= 1, labels (or a condition) missing for a conditional model or
        not one per temperature, or (seeded) a SavedModel that does not tell its image
        shape.
    """
    temperature = validation.temperature_values(temperature).astype(
        np.float32)
    seed = validation.seed(seed)
    batch_size = validation.positive_int(batch_size, "batch_size")
    conditions = self._sample_conditions(labels, condition, len(temperature))
    latents = (None if seed is None else
               self._seeded_latents(len(temperature), seed))
    return self._batches(temperature, conditions, latents, batch_size)

  def _batches(self, temperature, conditions, latents, batch_size):
    for start in range(0, len(temperature), batch_size):
      batch = slice(start, start + batch_size)
      yield self._sample_batch(
          temperature[batch],
          {name: value[batch] for name, value in conditions.items()},
          None if latents is None else latents[batch])

  def _sample_conditions(self, labels, condition, count):
    """The `_condition_args` of `count` samples (one condition repeated, if given once), checked before any batch."""
    if labels is not None and np.shape(labels) != (count,):
      raise ValueError(f"labels must have shape [{count}], one per "
                       f"temperature; got shape {list(np.shape(labels))}.")
    condition = validation.repeated_condition(condition, self.condition_shape,
                                              count)
    conditions = self._condition_args(labels, condition)
    if "condition" in conditions and conditions["condition"].shape[:1] != (
        count,):
      raise ValueError(
          f"condition must have shape [{count}, "
          f"{', '.join(map(str, self.condition_shape))}], one per "
          f"temperature, or one condition for all; got shape "
          f"{list(conditions['condition'].shape)}.")
    return conditions

  @abc.abstractmethod
  def _seeded_latents(self, count, seed):
    """z = `standard_normal_latents([count, H, W, C], seed)` in the dtype of `decode`."""

  @abc.abstractmethod
  def _sample_batch(self, temperature, conditions, latents):
    """Images (numpy) of one batch: decode(T z) of `latents`, or of fresh ones when None; `conditions` from `_condition_args`."""

  def _decoded_samples(self, latents, temperature, conditions):
    """decode(T z) as numpy pixels clipped into [0, 256): T float32 [B], z [B, H, W, C]."""
    scaled = latents * tf.cast(temperature, latents.dtype)[:, None, None, None]
    return validation.clip_pixels(self.decode(scaled, **conditions)).numpy()

  @abc.abstractmethod
  def encode(self, images, labels=None, condition=None):
    """Latents [N, H, W, C] of `images` (the flow's inverse).

    Args:
      images, labels, condition: as in `log_prob`.

    Returns:
      float32 tensor [N, H, W, C].
    """

  @abc.abstractmethod
  def decode(self, latents, labels=None, condition=None):
    """Images [N, H, W, C] of `latents`, the inverse of `encode`.

    Args:
      latents: float [N, H, W, C].
      labels, condition: as in `log_prob`.

    Returns:
      float32 tensor [N, H, W, C] of pixels.
    """

  def _condition_args(self, labels, condition):
    """The labels and condition the model takes, as a dict of tensors (the names of its inputs).

    Raises:
      ValueError: labels missing for a class-conditional model; a condition
        missing for a model with one, or given to a model without.
    """
    args = {}
    if self.conditional:
      if labels is None:
        raise ValueError(
            f"The model is class-conditional: labels are required, an int "
            f"tensor [N] with values in [0, {self.num_classes or 'K'}).")
      args["labels"] = tf.cast(labels, tf.int64)
    if validation.condition_given(condition, self.condition_shape):
      args["condition"] = tf.convert_to_tensor(condition)
    return args


class _KerasBacked(TrainedModel):
  """A `RealNVP` in memory; log-densities through one `tf.function` for every batch size (eager calls are ~10x slower)."""

  def __init__(self, model):
    super().__init__(model.image_shape, model.num_classes,
                     model.num_classes is not None, keras_model=model,
                     dequantization=model.config.dequantization,
                     condition_shape=model.condition_shape)
    pixels = tf.TensorSpec([None, *model.image_shape], model.dtype)
    self._condition_specs = {}
    if self.conditional:
      self._condition_specs["labels"] = tf.TensorSpec([None], tf.int64)
    if self.condition_shape is not None:
      self._condition_specs["condition"] = tf.TensorSpec(
          [None, *self.condition_shape], model.dtype)
    self._log_prob = self._function(model.log_prob, [pixels])
    self._bits_per_dim = self._function(model.bits_per_dim, [pixels])
    self._log_importance_weight = self._function(model.log_importance_weight,
                                                 [pixels, pixels])

  def _function(self, method, specs):
    """`method` traced once for every batch size: positional `specs`, then the labels and condition by name."""
    names = list(self._condition_specs)
    count = len(specs)
    return tf.function(
        lambda *args: method(*args[:count], **dict(zip(names, args[count:]))),
        input_signature=specs + list(self._condition_specs.values()))

  def _args(self, *tensors, labels=None, condition=None):
    dtype = self.keras_model.dtype
    conditions = self._condition_args(labels, condition)
    if "condition" in conditions:
      conditions["condition"] = tf.cast(conditions["condition"], dtype)
    return [tf.cast(tensor, dtype) for tensor in tensors] + list(
        conditions.values())

  def log_prob(self, images, labels=None, condition=None):
    return self._log_prob(*self._args(images, labels=labels,
                                      condition=condition))

  def bits_per_dim(self, images, labels=None, condition=None):
    return self._bits_per_dim(*self._args(images, labels=labels,
                                          condition=condition))

  def log_importance_weight(self, images, noise, labels=None, condition=None):
    return self._log_importance_weight(*self._args(
        images, noise, labels=labels, condition=condition))

  def _seeded_latents(self, count, seed):
    # The draw of `RealNVP.sample`: the same seed gives its images.
    return standard_normal_latents([count, *self.image_shape], seed,
                                   self.keras_model.dtype)

  def _sample_batch(self, temperature, conditions, latents):
    if latents is None:
      return self.keras_model.sample_at_temperatures(
          tf.constant(temperature, self.keras_model.dtype),
          **conditions).numpy()
    return self._decoded_samples(latents, temperature, conditions)

  def encode(self, images, labels=None, condition=None):
    return self.keras_model.encode(images, labels, condition)

  def decode(self, latents, labels=None, condition=None):
    return self.keras_model.decode(latents, labels, condition)


class _SavedModelBacked(TrainedModel):
  """A SavedModel of `export_saved_model`, called through its signatures."""

  def __init__(self, loaded, info):
    self._loaded = loaded  # Owns the variables the signatures read.
    self._signatures = loaded.signatures
    inputs = self._signatures["log_prob"].structured_input_signature[1]
    conditional = "labels" in inputs
    condition_shape = None
    if info is not None:
      image_shape, num_classes = info["image_shape"], info["num_classes"]
      dequantization = info["model_config"].get("dequantization", UNIFORM)
      condition_shape = info.get("condition_shape")
    else:
      image_shape = _signature_image_shape(loaded)
      num_classes = _variable_num_classes(loaded) if conditional else None
      dequantization = UNIFORM
    if "condition" in inputs and condition_shape is None:
      raise ValueError("The SavedModel takes a condition but its "
                       f"assets.extra/{MODEL_INFO_FILE} does not give the "
                       "condition's shape; export it again.")
    super().__init__(image_shape, num_classes, conditional, info=info,
                     dequantization=dequantization,
                     condition_shape=condition_shape)

  def _call(self, name, output, **inputs):
    if name not in self._signatures:
      raise ValueError(f"The SavedModel has no {name!r} signature; it was not "
                       f"written by export_saved_model.")
    if "condition" in inputs:  # The signatures take float32 conditions.
      inputs["condition"] = tf.cast(inputs["condition"], tf.float32)
    return self._signatures[name](**inputs)[output]

  def log_prob(self, images, labels=None, condition=None):
    return self._call("log_prob", "log_prob",
                      images=tf.cast(images, tf.float32),
                      **self._condition_args(labels, condition))

  def bits_per_dim(self, images, labels=None, condition=None):
    return self._call("log_prob", "bits_per_dim",
                      images=tf.cast(images, tf.float32),
                      **self._condition_args(labels, condition))

  def log_importance_weight(self, images, noise, labels=None, condition=None):
    images = tf.cast(images, tf.float32)
    noise = tf.cast(noise, tf.float32)
    if "discrete_log_prob" not in self._signatures:
      # Exports of version 0.2.0 and earlier: uniform dequantization, log q
      # = 0 (as `UniformDequantization`, after the noise check it makes).
      if self.image_shape is not None:
        noise = validation.noise(noise, self.image_shape, tf.float32,
                                 tf.shape(images)[0])
      return self.log_prob(validation.clip_pixels(tf.floor(images) + noise),
                           labels, condition)
    return self._call("discrete_log_prob", "discrete_log_prob",
                      images=images, noise=noise,
                      **self._condition_args(labels, condition))

  def _seeded_latents(self, count, seed):
    if self.image_shape is None or None in self.image_shape:
      raise ValueError("The SavedModel does not tell its image shape, which "
                       "seeded sampling needs; pass seed=None.")
    return standard_normal_latents([count, *self.image_shape], seed)

  def _sample_batch(self, temperature, conditions, latents):
    if latents is None:
      images = self._call("sample", "images",
                          temperature=tf.constant(temperature, tf.float32),
                          **conditions)
      return validation.clip_pixels(images).numpy()
    return self._decoded_samples(latents, temperature, conditions)

  def encode(self, images, labels=None, condition=None):
    return self._call("encode", "latents", images=tf.cast(images, tf.float32),
                      **self._condition_args(labels, condition))

  def decode(self, latents, labels=None, condition=None):
    return self._call("decode", "images",
                      latents=tf.cast(latents, tf.float32),
                      **self._condition_args(labels, condition))


def _signature_image_shape(loaded):
  """(H, W, C) from the decode signature's output, where the trace fixed it; else None."""
  if "decode" not in loaded.signatures:
    return None
  shape = loaded.signatures["decode"].structured_outputs["images"].shape
  return None if shape.rank != 4 else tuple(shape[1:].as_list())


def _variable_num_classes(loaded):
  """K from a conditional s/t network's one-hot input layer (kernel [K, filters]); None if absent.

  Only for exports older than `MODEL_INFO_FILE`, which states K.
  """
  for variable in loaded.variables:
    if "conditional_dense/kernel" in variable.name:
      return int(variable.shape[0])
  return None


def from_keras(model):
  """The `TrainedModel` of a `RealNVP` in memory.

  Args:
    model: a `tfp_realnvp.RealNVP`.

  Returns:
    A `TrainedModel` whose `keras_model` is `model`; `sample` runs the
    model eagerly (one call of the flow per batch, no tracing).
  """
  return _KerasBacked(model)


def load(path, config_path=None):
  """Loads a trained model from a `.keras` file, a `.weights.h5` checkpoint or a SavedModel directory.

  Args:
    path: the model file, or the SavedModel version directory (holding
      saved_model.pb), local or on any TensorFlow filesystem.
    config_path: `config.json` (`RealNVP.get_config()`, which `train`
      writes) for a `.weights.h5` checkpoint.

  Returns:
    A `TrainedModel`.

  Raises:
    OSError: nothing at `path`, or no file at `config_path`.
    ValueError: a file that is neither a Keras model nor a SavedModel, a
      checkpoint without `config_path`, a SavedModel without a `log_prob`
      signature, or a damaged or mismatched Keras file or config
      (`load_keras_model`).
  """
  path = str(path)
  if tf.io.gfile.isdir(path):
    loaded = load_saved_model(path, ["log_prob"])
    return _SavedModelBacked(loaded, read_model_info(path))
  return from_keras(load_keras_model(path, config_path))


def load_keras_model(path, config_path=None):
  """Loads a `RealNVP` from a `.keras` file or a `.weights.h5` checkpoint, checking that its weights fit.

  Keras's own loading skips the weights of a file that the model lacks
  and leaves the model's weights that the file lacks as initialized (a
  checkpoint of a conditional model read with an unconditional config
  answers wrong densities without a word). Here the variables of the file
  (paths and shapes in its HDF5 tree; the optimizer's state is left out)
  must be exactly those that the model built from the config saves, or
  nothing loads.

  Args:
    path: a `.keras` file (architecture and weights), or a `.weights.h5`
      checkpoint (weights only); local or any TF filesystem.
    config_path: JSON file holding `RealNVP.get_config()` (`train` writes
      `config.json`); required for `.weights.h5` checkpoints.

  Returns:
    The `RealNVP`.

  Raises:
    ValueError: unknown file type; a checkpoint without `config_path`; a
      file that is damaged or unreadable (not a zip archive or HDF5 file,
      truncated, a damaged heap), a `.keras` file of another model or whose
      config does not match its weights; a `config_path` that is not JSON
      or not a RealNVP config, or that builds a model whose weights differ
      from the checkpoint's (each message names the file, what is wrong and
      what to do).
    OSError: a missing file, or a missing `config_path`.
  """
  path = str(path)
  if not tf.io.gfile.exists(path):
    raise OSError(f"No model file at {path!r}.")
  if path.endswith(KERAS_SUFFIX):
    return _load_keras_file(path)
  if path.endswith(CHECKPOINT_SUFFIX):
    if not config_path:
      raise ValueError(f"{path!r} holds weights only: pass the model's config "
                       f"JSON (config.json next to it) as config_path/--config.")
    return _load_checkpoint(path, str(config_path))
  raise ValueError(f"Expected {ACCEPTED}; got {path!r}.")


def _load_keras_file(path):
  """The `RealNVP` of a `.keras` archive whose config matches its weights."""
  found = _archive_weight_shapes(path)
  try:
    model = keras.models.load_model(path)
  except (*_H5_ERRORS, TypeError) as error:
    first_line = str(error).strip().split("\n")[0].rstrip(":")
    raise _damaged(path, f"Keras cannot load it ({first_line})",
                   _KERAS_FILE_REMEDY) from error
  if not isinstance(model, RealNVP):
    raise ValueError(f"{path} holds a {type(model).__name__}, not a RealNVP; "
                     f"pass a .keras file of tfp_realnvp (train's model.keras, "
                     f"RealNVP.save).")
  differences = _weight_differences(found, _model_weight_shapes(model))
  if differences:
    raise _damaged(path, "the config inside it does not match its weights: "
                   + "; ".join(differences), _KERAS_FILE_REMEDY)
  return model


def _load_checkpoint(path, config_path):
  """The `RealNVP` of `config_path` with the weights of the checkpoint at `path`, which must match."""
  with tf.io.gfile.GFile(path, "rb") as file:
    found = _readable_weight_shapes(file, path, "it", _CHECKPOINT_REMEDY)
  model = _model_from_config_file(config_path)
  differences = _weight_differences(found, _model_weight_shapes(model))
  if differences:
    raise ValueError(f"{config_path} does not match {path}: "
                     f"{'; '.join(differences)}. {_CONFIG_REMEDY}")
  try:
    model.load_weights(path)
  except _H5_ERRORS as error:  # Damaged values behind readable metadata.
    raise _damaged(path, f"Keras cannot read its weights ({error})",
                   _CHECKPOINT_REMEDY) from error
  return model


def _model_from_config_file(config_path):
  """A new `RealNVP` built from the `get_config()` JSON at `config_path`."""
  try:
    config = read_json(config_path)
  except ValueError as error:  # Not JSON: the message names the file.
    raise ValueError(f"{error} {_CONFIG_REMEDY}") from error
  if not isinstance(config, dict) or "image_shape" not in config:
    got = (f"an object with keys {sorted(config)}" if isinstance(config, dict)
           else f"a JSON {type(config).__name__}")
    raise ValueError(f"{config_path} is not a RealNVP config: expected the "
                     f"JSON object of RealNVP.get_config() (image_shape, "
                     f"num_classes and the ModelConfig fields); got {got}. "
                     f"{_CONFIG_REMEDY}")
  try:
    return RealNVP.from_config(config)
  except (TypeError, ValueError) as error:
    raise ValueError(f"{config_path} is not a valid RealNVP config ({error}). "
                     f"{_CONFIG_REMEDY}") from error


def _archive_weight_shapes(path):
  """{variable path: shape} of the weights inside the `.keras` archive at `path`."""
  with tf.io.gfile.GFile(path, "rb") as file:
    try:
      archive = zipfile.ZipFile(file)
    except zipfile.BadZipFile as error:
      raise _damaged(path, f"it is not a readable zip archive, as .keras "
                     f"files are ({error}; truncated or overwritten?)",
                     _KERAS_FILE_REMEDY) from error
    member = _compat.KERAS_WEIGHTS_MEMBER
    with archive:
      if member not in archive.namelist():
        raise _damaged(path, f"the archive has no {member}",
                       _KERAS_FILE_REMEDY)
      with archive.open(member) as weights:
        return _readable_weight_shapes(weights, path, f"its {member}",
                                       _KERAS_FILE_REMEDY)


def _readable_weight_shapes(file, path, what, remedy):
  """`_weight_shapes` of the weights file `file` (a binary file object), or an error naming `path`.

  `what` (the part of the file at `path` that `file` is) and `remedy` go
  into the error for a file that h5py cannot read.
  """
  try:
    with h5py.File(file, "r") as weights:
      return _weight_shapes(weights)
  except _H5_ERRORS as error:
    raise _damaged(path, f"{what} is not a readable HDF5 weights file "
                   f"({error})", remedy) from error


def _weight_shapes(weights):
  """{variable path: shape} of an open Keras weights file (`h5py.File`), training state left out."""
  shapes = {}

  def record(name, node):
    if (isinstance(node, h5py.Dataset)
        and name.split("/")[0] not in _compat.KERAS_TRAINING_STATE_GROUPS):
      shapes[name] = tuple(node.shape)

  weights.visititems(record)
  return shapes


def _model_weight_shapes(model):
  """{variable path: shape} of what `model.save_weights` writes, training state left out."""
  with tempfile.TemporaryDirectory() as directory:
    path = os.path.join(directory, "model" + CHECKPOINT_SUFFIX)
    model.save_weights(path)
    with h5py.File(path, "r") as weights:
      return _weight_shapes(weights)


def _weight_differences(found, expected):
  """What differs between a file's and a model's weights ({path: shape} each), as phrases; [] if nothing."""
  extra = sorted(set(found) - set(expected))
  missing = sorted(set(expected) - set(found))
  reshaped = sorted(name for name in set(found) & set(expected)
                    if found[name] != expected[name])
  differences = []
  if extra:
    differences.append(
        f"the file has {len(extra)} weights the model lacks ("
        + _listed([f"{name} {list(found[name])}" for name in extra]) + ")")
  if missing:
    differences.append(
        f"the model has {len(missing)} weights the file lacks ("
        + _listed([f"{name} {list(expected[name])}" for name in missing])
        + ")")
  if reshaped:
    differences.append(
        f"shapes differ for {len(reshaped)} weights ("
        + _listed([f"{name} {list(found[name])} in the file vs "
                   f"{list(expected[name])} in the model"
                   for name in reshaped]) + ")")
  return differences


def _listed(items, limit=3):
  """The first `limit` items joined by commas, then how many more."""
  shown = items[:limit]
  if len(items) > limit:
    shown.append(f"and {len(items) - limit} more")
  return ", ".join(shown)


def _damaged(path, reason, remedy):
  """The ValueError for a file at `path` that cannot be read: why, and what to do."""
  return ValueError(f"{path} is damaged or unreadable: {reason}. {remedy}")


def load_saved_model(path, signature_names):
  """Loads a SavedModel written by `export_saved_model`, with plain TensorFlow.

  Args:
    path: the SavedModel version directory (holding saved_model.pb), local
      or on any TensorFlow filesystem.
    signature_names: names of the signatures the caller needs.

  Returns:
    The loaded object; `loaded.signatures[name]` are its concrete functions
    (keep `loaded` referenced while calling them: it owns the variables).

  Raises:
    ValueError: a directory without saved_model.pb, or a SavedModel without
      one of `signature_names`.
  """
  path = str(path)
  if not tf.io.gfile.exists(os.path.join(path, "saved_model.pb")):
    raise ValueError(f"{path!r} is a directory without saved_model.pb; pass "
                     f"{ACCEPTED}.")
  loaded = tf.saved_model.load(path)
  missing = [name for name in signature_names
             if name not in loaded.signatures]
  if missing:
    raise ValueError(f"The SavedModel at {path!r} has no {' or '.join(missing)}"
                     f" signature; it was not written by export_saved_model.")
  return loaded


def read_model_info(version_dir):
  """The configuration and provenance `export_saved_model` wrote beside a SavedModel.

  Args:
    version_dir: the SavedModel version directory.

  Returns:
    dict (`tfp_realnvp.export.model_info`), or None for an export without
    `assets.extra/tfp_realnvp.json` (older versions).

  Raises:
    ValueError: a `tfp_realnvp.json` that is not valid JSON or lacks the
      image shape or class count.
  """
  path = os.path.join(str(version_dir), ASSETS_EXTRA, MODEL_INFO_FILE)
  if not tf.io.gfile.exists(path):
    return None
  try:
    info = read_json(path)
    np.asarray(info["image_shape"], np.int64), info["num_classes"]  # pylint: disable=expression-not-assigned
  except (ValueError, KeyError, TypeError) as error:
    raise ValueError(f"{path} is corrupt ({error}); it should hold the JSON "
                     f"that export_saved_model writes.") from error
  return info

