"""SavedModel export with batch-major signatures that TF Serving can answer."""

import datetime
import os
import re

import keras
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from tfp_realnvp import validation
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


def next_version(model_dir):
  """Smallest integer version above the integer-named subdirectories of `model_dir` (1 if none).

  Args:
    model_dir: `<base_dir>/<name>`, local or any TF filesystem; it need not
      exist.

  Returns:
    int >= 1: one more than the largest integer-named entry ("3" gives 4),
    or 1 when `model_dir` does not exist or has no such entry.
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
  `labels` int64 [N] appear only for a class-conditional model):

  - `log_prob` (also `serving_default`): `images` float32 [N, H, W, C]
    pixels in [0, 256) -> `log_prob` [N] nats, `bits_per_dim` [N].
  - `sample`: `temperature` float32 [N] -> `images` float32 [N, H, W, C].
  - `encode`: `images` -> `latents` [N, H, W, C].
  - `decode`: `latents` -> `images`.

  Images and latents are declared [N, H, W, C] with any H, W, C, so that a
  request of the wrong size, like NaN, out-of-range pixels or labels, fails
  with an InvalidArgument error naming the problem. Loading needs only
  TensorFlow. Warm-up requests for every signature are written to
  `<version>/assets.extra/tf_serving_warmup_requests`, and the model's
  configuration and provenance (`model_info`) as JSON to
  `<version>/assets.extra/tfp_realnvp.json`, from which
  `tfp_realnvp.loading` reads the image shape and the class count.

  Args:
    model: a `tfp_realnvp.RealNVP`.
    base_dir: directory holding models (local or any TF filesystem).
    name: model name, the directory under `base_dir`.
    version: positive int, or None for the next free integer version.
    provenance: JSON-serializable dict of where the model comes from (e.g.
      `train` gives dataset, preset, epochs and its figures), or None.

  Returns:
    The path of the written version directory.

  Raises:
    ValueError: for a non-positive version or an existing version directory.
  """
  model_dir = os.path.join(base_dir, name)
  version = next_version(model_dir) if version is None else int(version)
  if version < 1:
    raise ValueError(f"version must be a positive int; got {version}.")
  path = os.path.join(model_dir, str(version))
  if tf.io.gfile.exists(path):
    raise ValueError(f"{path} exists already; choose another version.")
  archive = keras.export.ExportArchive()
  archive.track(model)
  for endpoint, (fn, signature) in _endpoints(model).items():
    archive.add_endpoint(endpoint, fn, input_signature=signature)
  archive.write_out(path, verbose=False)
  write_warmup_requests(path, model, name)
  write_model_info(path, model, provenance)
  return path


def model_info(model, provenance=None):
  """The configuration and provenance of an exported model, as a JSON-serializable dict.

  Args:
    model: the exported `tfp_realnvp.RealNVP`.
    provenance: JSON-serializable dict, or None.

  Returns:
    dict: `format` (`MODEL_INFO_FORMAT`), `image_shape` ([H, W, C]),
    `num_classes` (int, or None for an unconditional model), `model_config`
    (`model.get_config()`, from which `RealNVP.from_config` rebuilds the
    architecture), `provenance` ({} if None), `exported_at` (UTC, ISO 8601)
    and `versions` of tfp_realnvp, TensorFlow, Keras and TFP.
  """
  return {
      "format": MODEL_INFO_FORMAT,
      "image_shape": list(model.image_shape),
      "num_classes": model.num_classes,
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
    a one-row request (mid-gray image, zero latents, temperature 1, label 0).
  """
  from tensorflow_serving.apis import predict_pb2  # pylint: disable=import-outside-toplevel
  from tensorflow_serving.apis import prediction_log_pb2  # pylint: disable=import-outside-toplevel
  row_shape = [1, *model.image_shape]
  example_inputs = {
      "images": np.full(row_shape, 127.5, np.float32),
      "latents": np.zeros(row_shape, np.float32),
      "temperature": np.ones([1], np.float32),
      "labels": np.zeros([1], np.int64),
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


def _endpoints(model):
  """Maps signature names to (function, input signature)."""
  # Any image size is accepted at the signature, so that a wrong size reaches
  # the model's checks and gets an InvalidArgument error that names it.
  image_spec = tf.TensorSpec([None] * 4, tf.float32, "images")
  latent_spec = tf.TensorSpec([None] * 4, tf.float32, "latents")
  temperature_spec = tf.TensorSpec([None], tf.float32, "temperature")
  label_specs = ([] if model.num_classes is None else
                 [tf.TensorSpec([None], tf.int64, "labels")])

  def log_prob(images, labels=None):
    log_density = model.log_prob(images, labels)
    return {"log_prob": log_density,
            "bits_per_dim": nats_to_bits_per_dim(log_density, model.num_dims)}

  def sample(temperature, labels=None):
    temperature = validation.temperatures(temperature, model.dtype)
    return {"images": model.sample_at_temperatures(temperature, labels)}

  def encode(images, labels=None):
    return {"latents": model.encode(images, labels)}

  def decode(latents, labels=None):
    return {"images": model.decode(latents, labels)}

  return {
      "log_prob": (log_prob, [image_spec] + label_specs),
      "sample": (sample, [temperature_spec] + label_specs),
      "encode": (encode, [image_spec] + label_specs),
      "decode": (decode, [latent_spec] + label_specs),
  }
