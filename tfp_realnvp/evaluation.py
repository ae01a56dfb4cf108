"""Test bits/dim of a trained model (`.keras` file, checkpoint or SavedModel) over a data set split."""

import math
import re

import keras
import numpy as np
import tensorflow as tf

from tfp_realnvp import conditions
from tfp_realnvp import data
from tfp_realnvp import loading
from tfp_realnvp import validation
from tfp_realnvp.dequantization import discrete_log_prob_from_draws
from tfp_realnvp.units import nats_to_bits_per_dim


class NonFiniteResultError(ValueError):
  """A model gave NaN or infinite bits/dim: a result that must not be reported as a figure."""


def evaluate_bits_per_dim(model, batches, num_samples=1, seed=0, verbose=1):
  """Mean and standard error of held-out discrete bits/dim over a data set.

  Each image x (integer pixels) gets the bound on its discrete
  log-likelihood that `RealNVP.discrete_log_prob` defines, from
  `num_samples` draws of the dequantization noise: for uniform
  dequantization the mean over draws of log p(x + u) (the paper's figure,
  sec. 4.1), for variational dequantization the importance-weighted bound
  (Burda et al. 2016); its bits/dim is -bound / (D ln 2), which bounds the
  discrete model's bits/dim from above (in expectation). The split's figure
  is the mean over images, with the standard error std / sqrt(N) (sample
  std, ddof 1).

  Args:
    model: a `tfp_realnvp.loading.TrainedModel` (`loading.load`).
    batches: `tf.data.Dataset` of (images uint8 [B, H, W, C], labels int64
      [B]), or of dicts with "images", "labels" and "condition"
      (`tfp_realnvp.conditions.with_condition`), pixels in [0, 256), every
      image once.
    num_samples: int K >= 1, dequantization draws per image.
    seed: int; the noise is a deterministic function of it (batch b, draw
      k: the stateless seed [seed, b * K + k]).
    verbose: 1 shows a Keras progress bar over batches, 0 nothing.

  Returns:
    dict: `bits_per_dim` (mean, bits), `standard_error` (bits),
    `num_images`, `num_samples`, `dequantization`, and `per_image`
    (float64 numpy [N]).

  Raises:
    ValueError: num_samples not an int >= 1, or an empty data set.
    NonFiniteResultError (a ValueError): a NaN or infinite bits/dim.
    tf.errors.InvalidArgumentError: images the model rejects (a SavedModel
      names the problem: shape, range, labels).
  """
  num_samples = validation.positive_int(num_samples, "num_samples")
  cardinality = int(batches.cardinality())
  progress = keras.utils.Progbar(
      cardinality if cardinality > 0 else None, verbose=verbose,
      unit_name="batch")
  per_image = []
  for step, batch in enumerate(batches):
    if isinstance(batch, dict):
      images, labels = batch["images"], batch.get("labels")
      condition = batch.get("condition")
    else:
      (images, labels), condition = batch, None
    images = tf.cast(images, tf.float32)
    bound = discrete_log_prob_from_draws(
        lambda noise, images=images, labels=labels, condition=condition:
        model.log_importance_weight(images, noise, labels, condition),
        tf.shape(images), model.dequantization, num_samples, seed,
        first_draw=step * num_samples)
    per_image.append(nats_to_bits_per_dim(
        bound.numpy().astype(np.float64), math.prod(images.shape[1:])))
    progress.update(step + 1)
  if not per_image:
    raise ValueError("The data set has no images to evaluate.")
  per_image = np.concatenate(per_image)
  non_finite = np.flatnonzero(~np.isfinite(per_image))
  if non_finite.size:
    raise NonFiniteResultError(
        f"the model gives non-finite bits/dim for {non_finite.size} of "
        f"{per_image.size} images (the first is image {non_finite[0]}): its "
        f"weights or batch-norm statistics are damaged or diverged. Evaluate "
        f"another checkpoint (checkpoints/best.weights.h5) or retrain.")
  standard_error = (np.std(per_image, ddof=1) / math.sqrt(len(per_image))
                    if len(per_image) > 1 else float("nan"))
  return {"bits_per_dim": float(np.mean(per_image)),
          "standard_error": float(standard_error),
          "num_images": int(len(per_image)),
          "num_samples": num_samples,
          "dequantization": model.dequantization,
          "per_image": per_image}


def evaluate(model_path, dataset, split=None, batch_size=256, num_samples=1,
             seed=0, data_dir=None, download=True, config_path=None,
             verbose=1, options=None, condition=""):
  """`tfp-realnvp evaluate`: test bits/dim of a saved model on a data set split.

  Args:
    model_path: `.keras` file, `.weights.h5` checkpoint (with
      `config_path`) or SavedModel version directory.
    dataset: a data set name (`tfp_realnvp.data.DATASETS`) or a user's
      source (`tfp_realnvp.data.spec`).
    split: split string; None for the data set's held-out split
      (`spec(dataset).eval_split`).
    batch_size: images per model call.
    num_samples, seed, verbose: as `evaluate_bits_per_dim`.
    data_dir, download: as `tfp_realnvp.data.load`.
    config_path: as `tfp_realnvp.loading.load`.
    options: the source's `tfp_realnvp.sources.ImageOptions` (those it was
      trained with, so that its validation split is the same).
    condition: the condition task of a model with a condition
      (`tfp_realnvp.conditions.parse`); "" for the one a SavedModel's
      provenance records, or none. A task other than the recorded one is
      refused.

  Returns:
    The dict of `evaluate_bits_per_dim` without `per_image`, plus `dataset`
    and `split`.

  Raises:
    ValueError: unknown data set or split; a model whose image shape or
      classes do not fit the data set (a SavedModel's own check, quoted);
      a condition task other than the one the SavedModel records, or one
      that does not fit the model (`check_compatible`);
      as `evaluate_bits_per_dim`.
    NonFiniteResultError (a ValueError): a NaN or infinite bits/dim; the
      message names `model_path`.
    OSError: no model at `model_path`.
    tfp_realnvp.data.DatasetUnavailableError: the data set is missing.
  """
  dataset_spec = data.spec(dataset, options, data_dir, download)
  split = split or dataset_spec.eval_split
  model = loading.load(model_path, config_path)
  recorded = (model.info or {}).get("provenance", {}).get("condition", "")
  if condition and recorded and condition != recorded:
    raise ValueError(f"The model was trained with --condition {recorded}; "
                     f"got --condition {condition}. Leave it out to use the "
                     f"recorded one.")
  condition = condition or recorded
  task = conditions.optional(condition)
  check_compatible(model, dataset, options, task)
  batches = data.pipeline(dataset, split, batch_size, training=False,
                          data_dir=data_dir, download=download,
                          options=options)
  if task is not None:
    batches = conditions.with_condition(batches, task,
                                        labels=model.conditional)
  try:
    result = evaluate_bits_per_dim(model, batches, num_samples, seed,
                                   verbose)
  except tf.errors.InvalidArgumentError as error:
    raise ValueError(
        f"The model rejected the images of {dataset!r} (shape "
        f"{dataset_spec.image_shape}): {_assertion_text(error)}") from error
  except NonFiniteResultError as error:
    raise NonFiniteResultError(f"{model_path}: {error}") from error
  del result["per_image"]
  return {"dataset": dataset, "split": split, **result}


def _assertion_text(error):
  """The failed assertion's own words in a TF error, without its graph trace."""
  found = re.search(r"assertion failed: \[(.*)\]", error.message)
  return found.group(1) if found else error.message.splitlines()[0]


def check_compatible(model, dataset, options=None, task=None):
  """Raises ValueError unless the model can score the data set's images and labels.

  Args:
    model: a `tfp_realnvp.loading.TrainedModel` (`loading.load`).
    dataset, options: a data set name (`tfp_realnvp.data.DATASETS`) or a
      user's source, and its `ImageOptions` (`tfp_realnvp.data.spec`).
    task: the condition task (`tfp_realnvp.conditions.parse`), or None.

  Raises:
    ValueError: an unknown data set; a class-conditional model and a data
      set without labels; a class count, where the model states it, that
      differs from the data set's; or the model's image shape, where known,
      differs from the data set's; a model with a condition and no task,
      a task for a model without a condition, or a task whose condition
      shape is not the model's.
  """
  image_shape = data.image_shape(dataset, options)
  task_shape = None if task is None else task.condition_shape(image_shape)
  if model.condition_shape is None and task is not None:
    raise ValueError(f"The model takes no condition; got --condition "
                     f"{task.spec}.")
  if model.condition_shape is not None and task_shape != model.condition_shape:
    raise ValueError(
        f"The model is conditioned on a condition of shape "
        f"{list(model.condition_shape)}; "
        + ("pass the --condition it was trained with (downsampled:F, "
           "masked:SPEC or grayscale)." if task is None else
           f"--condition {task.spec} gives {list(task_shape)}."))
  if model.conditional:
    classes = data.num_classes(dataset, options)
    if classes is None:
      raise ValueError(f"The model is class-conditional but {dataset!r} has "
                       f"no class labels.")
    if model.num_classes is not None and model.num_classes != classes:
      raise ValueError(f"The model has {model.num_classes} classes; "
                       f"{dataset!r} has {classes}.")
  if model.image_shape is not None and tuple(model.image_shape) != tuple(
      image_shape):
    raise ValueError(f"The model takes images of shape {model.image_shape}; "
                     f"{dataset!r} has {image_shape}. For your own images, "
                     f"pass the --image-size and --channels the model was "
                     f"trained with (its metrics.json or SavedModel "
                     f"metadata: image_options).")
