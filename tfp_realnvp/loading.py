"""One way to load a trained model, whatever its file: `.keras`, `.weights.h5` with its config, or a SavedModel.

`load` returns a `TrainedModel`, which answers `log_prob`, `bits_per_dim`,
`sample`, `encode` and `decode` the same way for each kind of file; the
`sample`, `evaluate` and `export` jobs use it. A SavedModel is run through
its signatures with plain TensorFlow, exactly as TF Serving would run it
(no class of this package is needed); its image shape and class count come
from the `tfp_realnvp.json` that `export_saved_model` writes beside it (for
exports without that file, from the signatures and variables).
"""

import abc
import os

import keras
import numpy as np
import tensorflow as tf

from tfp_realnvp import validation
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


class TrainedModel(abc.ABC):
  """A trained Real NVP behind one interface (`load`, `from_keras`).

  Pixels are float [N, H, W, C] in [0, 256); labels int [N] in [0, K) for a
  conditional model (ignored by an unconditional one); log-densities in
  nats, bits/dim = -log_prob / (D ln 2).

  Attributes:
    image_shape: (H, W, C) the model takes, or None when an older SavedModel
      does not say.
    num_classes: K of a conditional model when known, else None.
    conditional: whether the model needs a class label per image.
    info: the SavedModel's `tfp_realnvp.json` (`export.model_info`), or
      None (Keras models, older exports).
    keras_model: the `RealNVP` for Keras files and checkpoints, else None.
  """

  def __init__(self, image_shape, num_classes, conditional, info=None,
               keras_model=None):
    """Records what the model is.

    Args:
      image_shape, num_classes, conditional, info, keras_model: as the
        attributes of the same names.
    """
    self.image_shape = None if image_shape is None else tuple(image_shape)
    self.num_classes = num_classes
    self.conditional = conditional
    self.info = info
    self.keras_model = keras_model

  @abc.abstractmethod
  def log_prob(self, images, labels=None):
    """Log-densities of `images` [N] in nats (the model's `log_prob`).

    Args:
      images: float pixels [N, H, W, C] in [0, 256).
      labels: int [N] for a conditional model, else None (or ignored).

    Returns:
      float32 tensor [N], nats.

    Raises:
      ValueError: labels missing for a conditional model, or values the
        Keras model rejects (its checks: shape, range, NaN, labels).
      tf.errors.InvalidArgumentError: values a SavedModel rejects (the
        message names the problem).
    """

  @abc.abstractmethod
  def bits_per_dim(self, images, labels=None):
    """Bits/dim [N] of `images`; arguments as `log_prob`.

    Args:
      images, labels: as in `log_prob`.

    Returns:
      float32 tensor [N], bits/dim.
    """

  @abc.abstractmethod
  def sample(self, temperature, labels=None, seed=None):
    """One image per temperature: x = decode(T z), z ~ N(0, I).

    With an int seed, z = `standard_normal_latents([N, H, W, C], seed)` for
    every kind of file, so a SavedModel gives the images of the `.keras`
    model it was exported from (up to float32 rounding, ~1e-4 pixel levels).

    Args:
      temperature: float32 numpy [N], each > 0.
      labels: int [N] for a conditional model, else None.
      seed: int, or None for fresh latents (a SavedModel then samples
        through its `sample` signature, as TF Serving would).

    Returns:
      float32 numpy [N, H, W, C], pixels in [0, 256).
    """

  @abc.abstractmethod
  def encode(self, images, labels=None):
    """Latents [N, H, W, C] of `images` (the flow's inverse).

    Args:
      images, labels: as in `log_prob`.

    Returns:
      float32 tensor [N, H, W, C].
    """

  @abc.abstractmethod
  def decode(self, latents, labels=None):
    """Images [N, H, W, C] of `latents`, the inverse of `encode`.

    Args:
      latents: float [N, H, W, C].
      labels: as in `log_prob`.

    Returns:
      float32 tensor [N, H, W, C] of pixels.
    """

  def _label_args(self, labels):
    if not self.conditional:
      return {}
    if labels is None:
      raise ValueError(
          f"The model is class-conditional: labels are required, an int "
          f"tensor [N] with values in [0, {self.num_classes or 'K'}).")
    return {"labels": tf.cast(labels, tf.int64)}


class _KerasBacked(TrainedModel):
  """A `RealNVP` in memory; log-densities through one `tf.function` for every batch size (eager calls are ~10x slower)."""

  def __init__(self, model):
    super().__init__(model.image_shape, model.num_classes,
                     model.num_classes is not None, keras_model=model)
    specs = [tf.TensorSpec([None, *model.image_shape], model.dtype)]
    if self.conditional:
      specs.append(tf.TensorSpec([None], tf.int64))
    self._log_prob = tf.function(model.log_prob, input_signature=specs)
    self._bits_per_dim = tf.function(model.bits_per_dim,
                                     input_signature=specs)

  def _args(self, pixels, labels):
    args = [tf.cast(pixels, self.keras_model.dtype)]
    return args + list(self._label_args(labels).values())

  def log_prob(self, images, labels=None):
    return self._log_prob(*self._args(images, labels))

  def bits_per_dim(self, images, labels=None):
    return self._bits_per_dim(*self._args(images, labels))

  def sample(self, temperature, labels=None, seed=None):
    return self.keras_model.sample(len(temperature), labels=labels,
                                   temperature=temperature, seed=seed).numpy()

  def encode(self, images, labels=None):
    return self.keras_model.encode(images, labels)

  def decode(self, latents, labels=None):
    return self.keras_model.decode(latents, labels)


class _SavedModelBacked(TrainedModel):
  """A SavedModel of `export_saved_model`, called through its signatures."""

  def __init__(self, loaded, info):
    self._loaded = loaded  # Owns the variables the signatures read.
    self._signatures = loaded.signatures
    conditional = ("labels" in
                   self._signatures["log_prob"].structured_input_signature[1])
    if info is not None:
      image_shape, num_classes = info["image_shape"], info["num_classes"]
    else:
      image_shape = _signature_image_shape(loaded)
      num_classes = _variable_num_classes(loaded) if conditional else None
    super().__init__(image_shape, num_classes, conditional, info=info)

  def _call(self, name, output, **inputs):
    if name not in self._signatures:
      raise ValueError(f"The SavedModel has no {name!r} signature; it was not "
                       f"written by export_saved_model.")
    return self._signatures[name](**inputs)[output]

  def log_prob(self, images, labels=None):
    return self._call("log_prob", "log_prob",
                      images=tf.cast(images, tf.float32),
                      **self._label_args(labels))

  def bits_per_dim(self, images, labels=None):
    return self._call("log_prob", "bits_per_dim",
                      images=tf.cast(images, tf.float32),
                      **self._label_args(labels))

  def sample(self, temperature, labels=None, seed=None):
    temperature = tf.constant(temperature, tf.float32)
    if seed is None:
      images = self._call("sample", "images", temperature=temperature,
                          **self._label_args(labels))
    else:
      if self.image_shape is None or None in self.image_shape:
        raise ValueError("The SavedModel does not tell its image shape, which "
                         "seeded sampling needs; pass seed=None.")
      noise = standard_normal_latents([len(temperature), *self.image_shape],
                                      seed)
      images = self.decode(noise * temperature[:, None, None, None], labels)
    return validation.clip_pixels(images).numpy()

  def encode(self, images, labels=None):
    return self._call("encode", "latents", images=tf.cast(images, tf.float32),
                      **self._label_args(labels))

  def decode(self, latents, labels=None):
    return self._call("decode", "images",
                      latents=tf.cast(latents, tf.float32),
                      **self._label_args(labels))


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
    A `TrainedModel` whose `keras_model` is `model`; `sample` calls
    `model.sample` eagerly (one call per grid block, no tracing).
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
    OSError: nothing at `path`.
    ValueError: a file that is neither a Keras model nor a SavedModel, a
      checkpoint without `config_path`, or a SavedModel without a
      `log_prob` signature.
  """
  path = str(path)
  if tf.io.gfile.isdir(path):
    loaded = load_saved_model(path, ["log_prob"])
    return _SavedModelBacked(loaded, read_model_info(path))
  return from_keras(load_keras_model(path, config_path))


def load_keras_model(path, config_path=None):
  """Loads a `RealNVP` from a `.keras` file or a `.weights.h5` checkpoint.

  Args:
    path: a `.keras` file (architecture and weights), or a `.weights.h5`
      checkpoint (weights only); local or any TF filesystem.
    config_path: JSON file holding `RealNVP.get_config()` (`train` writes
      `config.json`); required for `.weights.h5` checkpoints.

  Returns:
    The `RealNVP`.

  Raises:
    ValueError: unknown file type, or a checkpoint without `config_path`.
    OSError: a missing file.
  """
  path = str(path)
  if not tf.io.gfile.exists(path):
    raise OSError(f"No model file at {path!r}.")
  if path.endswith(KERAS_SUFFIX):
    return keras.models.load_model(path)
  if path.endswith(CHECKPOINT_SUFFIX):
    if not config_path:
      raise ValueError(f"{path!r} holds weights only: pass the model's config "
                       f"JSON (config.json next to it) as config_path/--config.")
    model = RealNVP.from_config(read_json(config_path))
    model.load_weights(path)
    return model
  raise ValueError(f"Expected {ACCEPTED}; got {path!r}.")


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
