"""SavedModel export with batch-major signatures that TF Serving can answer."""

import datetime
import functools
import os
import re
import uuid

import keras
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from tfp_realnvp import validation
from tfp_realnvp.runs import check_model_name
from tfp_realnvp.runs import write_json
from tfp_realnvp.units import nats_to_bits_per_dim
from tfp_realnvp.version import __version__

#: Directory of a SavedModel version that TF Serving leaves to its users.
ASSETS_EXTRA = "assets.extra"
#: File name of the warm-up requests under `<version>/assets.extra/` (TF Serving's).
WARMUP_FILE = "tf_serving_warmup_requests"
#: File name of the model's configuration and provenance (JSON) under
#: `<version>/assets.extra/`.
MODEL_INFO_FILE = "tfp_realnvp.json"
#: Version of the layout of `MODEL_INFO_FILE` (`model_info`).
MODEL_INFO_FORMAT = 1
#: Name prefix of the directory under `<base_dir>/<name>/` that a version is
#: written into before it is renamed to its number; TF Serving loads only
#: all-digit names, so it never sees a version half-written.
STAGING_PREFIX = ".tmp-"
# The filesystem whose directory rename moves no file (TensorFlow's ram://).
_FILES_LEFT_BEHIND_BY_RENAME = "ram://"


def next_version(model_dir):
  """Smallest integer version above the integer-named subdirectories of `model_dir` (1 if none).

  Args:
    model_dir: `<base_dir>/<name>`, local or any TF filesystem; it need not
      exist.

  Returns:
    int >= 1: one more than the largest integer-named entry ("3" gives 4),
    or 1 when `model_dir` does not exist or has no such entry (versions
    being written, `STAGING_PREFIX` directories, do not count).
  """
  if not tf.io.gfile.isdir(model_dir):
    return 1
  versions = [int(entry.rstrip("/")) for entry in tf.io.gfile.listdir(model_dir)
              if re.fullmatch(r"\d+/?", entry)]
  return max(versions, default=0) + 1


def export_saved_model(model, base_dir="saved_models", name="real_nvp",
                       version=None, provenance=None):
  """Writes `model` as a SavedModel to `<base_dir>/<name>/<version>/` (TF Serving's layout).

  Signatures (all batch-major, so TF Serving's REST row format works;
  `labels` int64 [N] appear only for a class-conditional model, and
  `condition` float32 [N] + condition_shape only for a model with a
  condition, one per image or sample; `model_info` records its shape):

  - `log_prob` (also `serving_default`): `images` float32 [N, H, W, C]
    pixels in [0, 256) -> `log_prob` [N] nats, `bits_per_dim` [N].
  - `discrete_log_prob`: `images` (floored to integer pixels) and `noise`
    float32 [N, H, W, C], base noise v drawn from U[0, 1) ->
    `discrete_log_prob` [N] nats, `bits_per_dim` [N]: one draw of the bound
    on the discrete log-likelihood, log p(x + u) - log q(u | x)
    (`RealNVP.log_importance_weight`; the mean of several calls for a
    uniform dequantization, their log-mean-exp for a variational one, is
    `RealNVP.discrete_log_prob`).
  - `sample`: `temperature` float32 [N] -> `images` float32 [N, H, W, C].
  - `encode`: `images` -> `latents` [N, H, W, C].
  - `decode`: `latents` -> `images`.

  Every input is declared with any shape (even any rank), so that a
  request of the wrong rank or size, an empty batch (N = 0), like NaN,
  out-of-range pixels, float pixels all in [0, 1] or bad labels, fails
  with an InvalidArgument error naming the problem and the expected shape
  or value (`tfp_realnvp.validation`'s words). Loading needs only
  TensorFlow. Warm-up requests for every signature are written to
  `<version>/assets.extra/tf_serving_warmup_requests`, and the model's
  configuration and provenance (`model_info`) as JSON to
  `<version>/assets.extra/tfp_realnvp.json`, from which
  `tfp_realnvp.loading` reads the image shape and the class count.

  The version is written whole into a `STAGING_PREFIX` directory beside
  the versions, then renamed to its number (atomic on a local file
  system), so TF Serving never loads a half-written version, and an
  interrupted export leaves none (only, after a SIGKILL, a staging
  directory that TF Serving and `next_version` ignore). Concurrent exports
  never replace each other's versions: when the number is taken by the
  time of the rename, the export takes the next free one.

  Args:
    model: a `tfp_realnvp.RealNVP`.
    base_dir: directory holding models (local or any TF filesystem).
    name: model name, the directory under `base_dir`: letters, digits,
      "_", "-" and "." (`check_model_name`).
    version: positive int, or None for the next free integer version.
    provenance: JSON-serializable dict of where the model comes from (e.g.
      `train` gives dataset, preset, epochs and its figures), or None.

  Returns:
    The path of the written version directory, `<base_dir>/<name>/<version>`.

  Raises:
    ValueError: for an invalid name (`check_model_name`), a non-positive
      version, or an explicit version whose directory exists.
  """
  model_dir = os.path.join(base_dir, check_model_name(name))
  if version is not None and int(version) < 1:
    raise ValueError(f"version must be a positive int; got {version}.")
  tf.io.gfile.makedirs(model_dir)
  staging = os.path.join(model_dir, STAGING_PREFIX + uuid.uuid4().hex)
  try:
    _write_version(staging, model, name, provenance)
    return _claim_version(staging, model_dir, version)
  finally:
    _remove_staging(staging)


def _remove_staging(staging):
  """Deletes the staging directory, also on filesystems whose rmtree fails on directories (ram://)."""
  if not tf.io.gfile.exists(staging):
    return
  try:
    tf.io.gfile.rmtree(staging)
  except tf.errors.OpError:
    for file in _files_under(staging):
      tf.io.gfile.remove(file)


def _files_under(directory):
  """The paths of the files below `directory`, on ram:// too (whose listing has phantom entries, "assets/.extra" for "assets.extra/")."""
  files = [os.path.join(parent, name)
           for parent, _, names in tf.io.gfile.walk(directory)
           for name in names]
  return [file for file in files
          if tf.io.gfile.exists(file) and not tf.io.gfile.isdir(file)]


def _write_version(version_dir, model, name, provenance):
  """Writes the SavedModel, its warm-up requests and its model info into `version_dir`."""
  archive = keras.export.ExportArchive()
  archive.track(model)
  for endpoint, (fn, signature) in _endpoints(model).items():
    archive.add_endpoint(endpoint, _by_name(fn, signature),
                         input_signature=signature)
  archive.write_out(version_dir, verbose=False)
  write_warmup_requests(version_dir, model, name)
  write_model_info(version_dir, model, provenance)


def _claim_version(staging, model_dir, version):
  """Moves `staging` to `<model_dir>/<version>`, never onto an existing entry; returns the path.

  With `version` None, starts at `next_version` and takes the next number
  whenever another export has taken one meanwhile.
  """
  number = next_version(model_dir) if version is None else int(version)
  while True:
    path = os.path.join(model_dir, str(number))
    if _move_version(staging, path):
      return path
    if version is not None:
      raise ValueError(f"{path} exists already; choose another version.")
    number += 1


def _move_version(staging, path):
  """Renames `staging` to `path` unless `path` exists; whether it moved.

  The rename fails onto a non-empty directory made since the check (an
  empty one, which no export makes, holds no version). On ram://, whose
  rename leaves a directory's files behind, the files are copied after it,
  saved_model.pb last, so that a reader never finds a version without its
  variables.
  """
  if tf.io.gfile.exists(path):
    return False
  try:
    tf.io.gfile.rename(staging, path, overwrite=False)
  except tf.errors.OpError:
    if tf.io.gfile.exists(path):
      return False
    raise
  if (tf.io.gfile.exists(os.path.join(path, "saved_model.pb"))
      or not path.startswith(_FILES_LEFT_BEHIND_BY_RENAME)):
    return True
  files = sorted(_files_under(staging),
                 key=lambda file: os.path.basename(file) == "saved_model.pb")
  for file in files:
    target = os.path.join(path, os.path.relpath(file, staging))
    tf.io.gfile.makedirs(os.path.dirname(target))
    tf.io.gfile.copy(file, target)
  return True


def model_info(model, provenance=None):
  """The configuration and provenance of an exported model, as a JSON-serializable dict.

  Args:
    model: the exported `tfp_realnvp.RealNVP`.
    provenance: JSON-serializable dict, or None.

  Returns:
    dict: `format` (`MODEL_INFO_FORMAT`), `image_shape` ([H, W, C]),
    `num_classes` (int, or None for an unconditional model),
    `condition_shape` (list, or None for a model without a condition: the
    shape of one example of the signatures' `condition` input),
    `model_config`
    (`model.get_config()`, from which `RealNVP.from_config` rebuilds the
    architecture), `provenance` ({} if None), `exported_at` (UTC, ISO 8601)
    and `versions` of tfp_realnvp, TensorFlow, Keras and TFP.
  """
  return {
      "format": MODEL_INFO_FORMAT,
      "image_shape": list(model.image_shape),
      "num_classes": model.num_classes,
      "condition_shape": (None if model.condition_shape is None else
                          list(model.condition_shape)),
      "model_config": model.get_config(),
      "provenance": dict(provenance or {}),
      "exported_at": datetime.datetime.now(datetime.timezone.utc).isoformat(
          timespec="seconds"),
      "versions": {"tfp_realnvp": __version__, "tensorflow": tf.__version__,
                   "keras": keras.__version__,
                   "tensorflow_probability": tfp.__version__},
  }


def write_model_info(version_dir, model, provenance=None):
  """Writes `model_info(model, provenance)` to `<version_dir>/assets.extra/tfp_realnvp.json`.

  Args:
    version_dir: the SavedModel version directory (`export_saved_model`).
    model: the exported `tfp_realnvp.RealNVP`.
    provenance: as `model_info`.

  Returns:
    The path of the written JSON file.
  """
  directory = os.path.join(version_dir, ASSETS_EXTRA)
  tf.io.gfile.makedirs(directory)
  path = os.path.join(directory, MODEL_INFO_FILE)
  write_json(model_info(model, provenance), path)
  return path


def warmup_requests(model, model_name):
  """One valid `PredictionLog` per signature, for TF Serving's warm-up.

  Args:
    model: the exported `tfp_realnvp.RealNVP`.
    model_name: the name TF Serving serves the model under.

  Returns:
    List of `tensorflow_serving.apis.prediction_log_pb2.PredictionLog`, each
    a one-row request (mid-gray image, zero latents, temperature 1, label 0,
    zero condition).
  """
  from tensorflow_serving.apis import predict_pb2  # pylint: disable=import-outside-toplevel
  from tensorflow_serving.apis import prediction_log_pb2  # pylint: disable=import-outside-toplevel
  row_shape = [1, *model.image_shape]
  example_inputs = {
      "images": np.full(row_shape, 127.5, np.float32),
      "latents": np.zeros(row_shape, np.float32),
      "noise": np.full(row_shape, 0.5, np.float32),
      "temperature": np.ones([1], np.float32),
      "labels": np.zeros([1], np.int64),
      "condition": np.zeros([1, *(model.condition_shape or ())], np.float32),
  }
  logs = []
  for endpoint, (_, signature) in _endpoints(model).items():
    request = predict_pb2.PredictRequest()
    request.model_spec.name = model_name
    request.model_spec.signature_name = endpoint
    for spec in signature:
      request.inputs[spec.name].CopyFrom(
          tf.make_tensor_proto(example_inputs[spec.name]))
    logs.append(prediction_log_pb2.PredictionLog(
        predict_log=prediction_log_pb2.PredictLog(request=request)))
  return logs


def write_warmup_requests(version_dir, model, model_name):
  """Writes `warmup_requests` to `<version_dir>/assets.extra/tf_serving_warmup_requests`.

  The location and format (a TFRecord file of `PredictionLog`) are those TF
  Serving reads at load time (TF Serving's SavedModel warm-up guide).

  Args:
    version_dir: the SavedModel version directory (`export_saved_model`).
    model: the exported `tfp_realnvp.RealNVP`.
    model_name: the name TF Serving serves the model under.

  Returns:
    The path of the written TFRecord file.
  """
  directory = os.path.join(version_dir, ASSETS_EXTRA)
  tf.io.gfile.makedirs(directory)
  path = os.path.join(directory, WARMUP_FILE)
  with tf.io.TFRecordWriter(path) as writer:
    for log in warmup_requests(model, model_name):
      writer.write(log.SerializeToString())
  return path


def _by_name(fn, signature):
  """`fn` called with its arguments by the names of `signature`'s specs (a model with a condition and no labels skips `labels`)."""
  names = [spec.name for spec in signature]

  @functools.wraps(fn)  # Its name names the signature's graph functions.
  def called_by_name(*args):
    return fn(**dict(zip(names, args)))
  return called_by_name


def _endpoints(model):
  """Maps signature names to (function, input signature)."""
  # Any shape, even any rank, is accepted at the signature, so that a wrong
  # one reaches the model's checks and gets an InvalidArgument error that
  # names it.
  image_spec = tf.TensorSpec(None, tf.float32, "images")
  latent_spec = tf.TensorSpec(None, tf.float32, "latents")
  noise_spec = tf.TensorSpec(None, tf.float32, "noise")
  temperature_spec = tf.TensorSpec(None, tf.float32, "temperature")
  label_specs = ([] if model.num_classes is None else
                 [tf.TensorSpec(None, tf.int64, "labels")])
  if model.condition_shape is not None:
    label_specs.append(tf.TensorSpec(None, tf.float32, "condition"))

  def log_prob(images, labels=None, condition=None):
    log_density = model.log_prob(images, labels, condition)
    return {"log_prob": log_density,
            "bits_per_dim": nats_to_bits_per_dim(log_density, model.num_dims)}

  def discrete_log_prob(images, noise, labels=None, condition=None):
    bound = model.log_importance_weight(images, noise, labels, condition)
    return {"discrete_log_prob": bound,
            "bits_per_dim": nats_to_bits_per_dim(bound, model.num_dims)}

  def sample(temperature, labels=None, condition=None):
    temperature = validation.temperatures(temperature, model.dtype,
                                          per_image=True)
    return {"images": model.sample_at_temperatures(temperature, labels,
                                                   condition=condition)}

  def encode(images, labels=None, condition=None):
    return {"latents": model.encode(images, labels, condition)}

  def decode(latents, labels=None, condition=None):
    return {"images": model.decode(latents, labels, condition)}

  return {
      "log_prob": (log_prob, [image_spec] + label_specs),
      "discrete_log_prob": (discrete_log_prob,
                            [image_spec, noise_spec] + label_specs),
      "sample": (sample, [temperature_spec] + label_specs),
      "encode": (encode, [image_spec] + label_specs),
      "decode": (decode, [latent_spec] + label_specs),
  }
