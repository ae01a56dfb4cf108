"""SavedModel export with batch-major signatures that TF Serving can answer."""

import os
import re

import keras
import tensorflow as tf

from tfp_realnvp import validation
from tfp_realnvp.model import nats_to_bits_per_dim


def next_version(model_dir):
  """Smallest integer version above the integer-named subdirectories of `model_dir` (1 if none)."""
  if not tf.io.gfile.isdir(model_dir):
    return 1
  versions = [int(entry.rstrip("/")) for entry in tf.io.gfile.listdir(model_dir)
              if re.fullmatch(r"\d+/?", entry)]
  return max(versions, default=0) + 1


def export_saved_model(model, base_dir="saved_models", name="real_nvp",
                       version=None):
  """Writes `model` as a SavedModel to `<base_dir>/<name>/<version>/` (TF Serving's layout).

  Signatures (all batch-major, so TF Serving's REST row format works;
  `labels` int64 [N] appear only for a class-conditional model):
    - `log_prob` (also `serving_default`): `images` float32 [N, H, W, C]
      pixels in [0, 256) -> `log_prob` [N] nats, `bits_per_dim` [N].
    - `sample`: `temperature` float32 [N] -> `images` float32 [N, H, W, C].
    - `encode`: `images` -> `latents` [N, H, W, C].
    - `decode`: `latents` -> `images`.
  Bad requests (NaN, pixels out of range, labels out of range) fail with
  InvalidArgument errors naming the problem. Loading needs only TensorFlow.

  Args:
    model: a `tfp_realnvp.RealNVP`.
    base_dir: directory holding models (local or any TF filesystem).
    name: model name, the directory under `base_dir`.
    version: positive int, or None for the next free integer version.

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
  return path


def _endpoints(model):
  """Maps signature names to (function, input signature)."""
  image_spec = tf.TensorSpec([None, *model.image_shape], tf.float32, "images")
  latent_spec = tf.TensorSpec([None, *model.image_shape], tf.float32, "latents")
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
