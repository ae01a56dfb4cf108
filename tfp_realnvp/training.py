"""The main job: train a RealNVP on a data set, evaluate it, write samples, metrics and a SavedModel."""

import contextlib
import csv
import dataclasses
import json
import logging
import os
import time

import keras
import numpy as np
import tensorflow as tf

from tfp_realnvp import data
from tfp_realnvp import presets
from tfp_realnvp.callbacks import tensorboard_callbacks
from tfp_realnvp.distribute import STRATEGIES
from tfp_realnvp.distribute import get_strategy
from tfp_realnvp.distribute import is_chief
from tfp_realnvp.export import export_saved_model
from tfp_realnvp.model import RealNVP
from tfp_realnvp.model import LR_SCHEDULES
from tfp_realnvp.model import default_optimizer
from tfp_realnvp.model import learning_rate_schedule
from tfp_realnvp.plots import plot_learning_curve
from tfp_realnvp.sampling import DEFAULT_TEMPERATURE
from tfp_realnvp.sampling import keras_sampler
from tfp_realnvp.sampling import write_sample_grid

#: Values of `TrainConfig.mixed_precision`; "" is float32, the others are Keras policies.
MIXED_PRECISION_POLICIES = ("", "mixed_float16", "mixed_bfloat16")


@dataclasses.dataclass
class RunConfig:
  """What every job (`train`, `tune`) needs: data, batching, outputs, strategy.

  Attributes:
    dataset: data set name (`tfp_realnvp.data.DATASETS`).
    epochs: int >= 1, training epochs.
    batch_size: int >= 1, examples per batch (the global batch, split
      across the replicas of a distribution strategy).
    steps_per_epoch: int >= 0, optimizer steps per epoch (the training data
      then repeats); 0 for one pass over the training data.
    conditional: whether the model is class-conditional (the data set needs
      class labels).
    output_dir: directory of the job's files (local or any TensorFlow
      filesystem).
    export_dir: base directory of SavedModels (`<export_dir>/<name>/<version>`).
    model_name: SavedModel name; "" for one derived from the data set.
    data_dir: directory of prepared tensorflow-datasets data; "" for
      TFDS's default.
    download: whether tensorflow-datasets may download missing data.
    strategy: distribution strategy, one of
      `tfp_realnvp.distribute.STRATEGIES`.
    seed: int seed of the initial weights, the dequantization noise
      (`keras.utils.set_random_seed`), the shuffle and flips of the training
      data, and the samples.
    verbose: Keras verbosity: 0 silent, 1 progress bar, 2 one line per
      epoch.

  Raises:
    ValueError: non-positive epochs or batch size, negative steps per epoch,
      or an unknown strategy.
  """
  dataset: str = data.BUNDLED_MNIST
  epochs: int = 10
  batch_size: int = 64
  steps_per_epoch: int = 0
  conditional: bool = False
  output_dir: str = "runs/latest"
  export_dir: str = "saved_models"
  model_name: str = ""
  data_dir: str = ""
  download: bool = True
  strategy: str = "auto"
  seed: int = 0
  verbose: int = 1

  def __post_init__(self):
    for name in ("epochs", "batch_size"):
      if getattr(self, name) < 1:
        raise ValueError(f"{name} must be >= 1; got {getattr(self, name)}.")
    if self.strategy not in STRATEGIES:
      raise ValueError(f"strategy must be one of {STRATEGIES}; got "
                       f"{self.strategy!r}.")
    if self.steps_per_epoch < 0:
      raise ValueError(f"steps_per_epoch must be >= 0; got "
                       f"{self.steps_per_epoch}.")


@dataclasses.dataclass
class TrainConfig(RunConfig):
  """Everything `train` needs; the CLI's `train` flags map onto these fields.

  Adds to `RunConfig` the architecture, the optimization, the computation
  the temperature of samples.png and the TensorBoard logs. Defaults: the mnist_bundled preset's
  architecture (`tfp_realnvp.presets`).

  Attributes:
    dataset, epochs, batch_size, steps_per_epoch: as in `RunConfig`.
    conditional, output_dir, export_dir, model_name: as in `RunConfig`.
    data_dir, download, strategy, seed, verbose: as in `RunConfig`.
    num_scales, num_coupling_layers, num_res_blocks, filters: the
      architecture, as the `RealNVP` arguments of the same names.
    learning_rate: float >= 0, Adam's step size (the peak of a cosine
      schedule; official code: 1e-3).
    lr_schedule: "constant", or "cosine": decay to 0 along a cosine over all
      training steps (`tfp_realnvp.model.LR_SCHEDULES`).
    l2_regularization: float >= 0, L2 coefficient on the scale parameters
      per image in nats, as in `RealNVP` (paper sec. 4.1: 5e-5).
    gradient_clip_norm: float > 0, largest global gradient norm of the
      bits/dim loss (`default_optimizer`; the official clipping is
      100 / (D ln 2), `official_gradient_clip_norm`).
    mixed_precision: "" for float32, or "mixed_float16" or "mixed_bfloat16"
      (`MIXED_PRECISION_POLICIES`): the s/t networks compute in 16 bits
      while pixels, log-determinants, the prior and the loss stay float32.
    jit_compile: whether the training step is XLA-compiled.
    temperature: float > 0, standard deviation of the latents of the
      samples in samples.png and the TensorBoard sample grids.
    tensorboard: whether to write TensorBoard logs to
      <output_dir>/tensorboard (bits/dim every epoch, sample grids; see
      `tfp_realnvp.callbacks`).
    tensorboard_every_n_epochs: int >= 1, epochs between sample grids in
      TensorBoard (the last epoch always logs one).

  Raises:
    ValueError: as `RunConfig`, or for an unknown schedule or mixed
      precision policy, a negative learning rate or L2 coefficient, a
      gradient clip norm <= 0, a temperature <= 0, or
      tensorboard_every_n_epochs < 1.
  """
  num_scales: int = 3
  num_coupling_layers: int = 3
  num_res_blocks: int = 2
  filters: int = 32
  learning_rate: float = 1e-3
  lr_schedule: str = "constant"
  l2_regularization: float = 0.0
  gradient_clip_norm: float = 100.0
  mixed_precision: str = ""
  jit_compile: bool = False
  temperature: float = DEFAULT_TEMPERATURE
  tensorboard: bool = True
  tensorboard_every_n_epochs: int = 1

  def __post_init__(self):
    super().__post_init__()
    if self.lr_schedule not in LR_SCHEDULES:
      raise ValueError(f"lr_schedule must be one of {LR_SCHEDULES}; got "
                       f"{self.lr_schedule!r}.")
    for name in ("learning_rate", "l2_regularization"):
      if not getattr(self, name) >= 0:
        raise ValueError(f"{name} must be >= 0; got {getattr(self, name)}.")
    if self.mixed_precision not in MIXED_PRECISION_POLICIES:
      raise ValueError(f"mixed_precision must be one of "
                       f"{MIXED_PRECISION_POLICIES}; got "
                       f"{self.mixed_precision!r}.")
    if not self.gradient_clip_norm > 0:
      raise ValueError(f"gradient_clip_norm must be > 0; got "
                       f"{self.gradient_clip_norm}.")
    if not (np.isfinite(self.temperature) and self.temperature > 0):
      raise ValueError(f"temperature must be finite and > 0; got "
                       f"{self.temperature}.")
    if self.tensorboard_every_n_epochs < 1:
      raise ValueError(f"tensorboard_every_n_epochs must be >= 1; got "
                       f"{self.tensorboard_every_n_epochs}.")

  @classmethod
  def from_preset(cls, name, **overrides):
    """The preset's configuration (`tfp_realnvp.presets`), with `overrides` of any field.

    Args:
      name: a preset name (`tfp_realnvp.presets.PRESET_NAMES`).
      **overrides: `TrainConfig` fields that replace the preset's values.

    Returns:
      A new `TrainConfig`.

    Raises:
      ValueError: for an unknown preset or invalid values.
    """
    return cls(**{**presets.get(name).train_fields(), **overrides})

  def model_kwargs(self):
    """Constructor arguments of the RealNVP this configuration describes (image shape and classes of its data set).

    Returns:
      dict of `RealNVP` arguments: image_shape (the data set's), num_scales,
      num_coupling_layers, num_res_blocks, filters, num_classes (the data
      set's when `conditional`, else None) and l2_regularization.

    Raises:
      ValueError: for an unknown data set name.
    """
    return dict(image_shape=data.image_shape(self.dataset),
                num_scales=self.num_scales,
                num_coupling_layers=self.num_coupling_layers,
                num_res_blocks=self.num_res_blocks, filters=self.filters,
                num_classes=(data.num_classes(self.dataset)
                             if self.conditional else None),
                l2_regularization=self.l2_regularization)

  def optimizer(self, steps_per_epoch):
    """Adam with this config's gradient clipping and schedule.

    Args:
      steps_per_epoch: optimizer steps per epoch, for the cosine schedule.

    Returns:
      A new `keras.optimizers.Adam`.
    """
    return default_optimizer(
        learning_rate_schedule(self.learning_rate, self.lr_schedule,
                               self.epochs * steps_per_epoch),
        self.gradient_clip_norm)


class TrainingThroughput(keras.callbacks.Callback):
  """Logs `images_per_second` of the training part of each epoch (validation excluded).

  The rate is steps * `batch_size` / the seconds from the epoch's start to
  its last training batch's end, added to the epoch's logs (so to
  `History` and history.csv).

  Args:
    batch_size: examples per training step (the global batch).

  Attributes:
    first_epoch: 0-based index of the first epoch this `fit` ran (> 0 when
      it resumed from a backup); None before training.
  """

  def __init__(self, batch_size):
    super().__init__()
    self.batch_size = batch_size
    self.first_epoch = None  # 0-based; > 0 when resumed from a backup.
    self._start = self._end = None
    self._steps = 0

  def on_epoch_begin(self, epoch, logs=None):
    if self.first_epoch is None:
      self.first_epoch = epoch
    self._start, self._steps = time.perf_counter(), 0

  def on_train_batch_end(self, batch, logs=None):
    self._steps += 1
    self._end = time.perf_counter()

  def on_epoch_end(self, epoch, logs=None):
    if logs is not None and self._steps:
      logs["images_per_second"] = (self._steps * self.batch_size /
                                   (self._end - self._start))


class HistoryCSVLogger(keras.callbacks.CSVLogger):
  """Keras's `CSVLogger`, able to close its file on any TensorFlow filesystem.

  On remote paths Keras opens a `tf.io.gfile.GFile`, which has no `closed`
  attribute that `CSVLogger.on_train_end` reads.
  """

  def on_train_end(self, logs=None):
    if self.csv_file is not None:
      self.csv_file.close()
      self.csv_file = None
    self.writer = None


class NonFiniteLossError(RuntimeError):
  """Training produced a NaN or infinite loss; the last good checkpoints were kept."""


class StopOnNonFiniteLoss(keras.callbacks.Callback):
  """Raises `NonFiniteLossError` at the first batch whose loss is not finite.

  Raising (rather than `TerminateOnNaN`'s stop flag) ends `fit` before any
  epoch-end callback runs, so neither the `BackupAndRestore` state nor the
  best-model checkpoint is overwritten with broken weights.

  Args:
    checkpoint_paths: the paths (str) holding the last good weights, named
      in the error message.
  """

  def __init__(self, checkpoint_paths):
    super().__init__()
    self.checkpoint_paths = checkpoint_paths
    self._epoch = 0

  def on_epoch_begin(self, epoch, logs=None):
    self._epoch = epoch

  def on_train_batch_end(self, batch, logs=None):
    """Raises if the batch's logged `loss` is NaN or infinite.

    Raises:
      NonFiniteLossError: naming the epoch, the batch and `checkpoint_paths`.
    """
    loss = (logs or {}).get("loss")
    if loss is not None and not np.isfinite(loss):
      raise NonFiniteLossError(
          f"The training loss became {loss} at epoch {self._epoch + 1}, batch "
          f"{batch + 1}; training stopped. The last good weights are kept in "
          f"{' and '.join(self.checkpoint_paths)}. Lower --learning-rate and "
          f"run the same command again to resume from the last finished epoch.")


def worker_output_dir(output_dir, strategy):
  """`output_dir` on the chief; `<output_dir>/worker_<i>` on other multi-worker tasks.

  Args:
    output_dir: the job's output directory.
    strategy: the job's `tf.distribute.Strategy`.

  Returns:
    str: `output_dir` where `is_chief(strategy)`, else
    `<output_dir>/worker_<task id>`. Nothing is created.
  """
  if is_chief(strategy):
    return output_dir
  return os.path.join(output_dir,
                      f"worker_{strategy.cluster_resolver.task_id}")


def train(config):
  """Runs the main job and returns its metrics (also written to metrics.json).

  Writes to `config.output_dir` (local or any TensorFlow filesystem):
  config.json (the model's config, written first), backup/ (Keras
  `BackupAndRestore` state: a killed run started again with the same command
  resumes from the last finished epoch), checkpoints/best.weights.h5 (the
  weights with the lowest val_bits_per_dim so far), history.csv, model.keras,
  samples.png (one row per class for a conditional model), learning_curve.png
  (bits/dim per epoch, training and held-out), metrics.json, and unless
  `config.tensorboard` is off, tensorboard/ (`tensorboard --logdir
  <output_dir>/tensorboard`: training and validation bits/dim per epoch and
  a sample grid every `tensorboard_every_n_epochs` epochs, see
  `tfp_realnvp.callbacks.tensorboard_callbacks`); and a SavedModel to
  `<config.export_dir>/<model name>/<next version>/`. A fresh run (no
  backup/ to resume from) first deletes the history.csv and tensorboard/ of
  an earlier run in the same directory.
  Under multi-worker training only the chief writes samples, TensorBoard
  logs and the SavedModel; the other workers write to
  `<output_dir>/worker_<i>/`.

  Args:
    config: a `TrainConfig`.

  Returns:
    dict: the metrics, also written to metrics.json; `dataset`;
    `test_bits_per_dim` (the final model on the data set's `eval_split`:
    one dequantization draw per image, batch norm with running averages);
    `training_seconds` (wall clock of `fit`); `images_per_second` (median over epochs,
    `TrainingThroughput`); `first_epoch` (0-based, > 0 after a resume);
    `history` (`read_history_csv`, every epoch); `num_parameters`;
    `num_replicas`; `config` (`config` as a dict); `model_config` (the
    RealNVP's constructor arguments); `saved_model` (the version directory,
    None on workers other than the chief).

  Raises:
    ValueError: for an unknown data set, strategy or model configuration.
    tfp_realnvp.data.DatasetUnavailableError: when a TFDS data set is missing.
    NonFiniteLossError: when the loss becomes NaN or infinite.
  """
  keras.utils.set_random_seed(config.seed)
  strategy = get_strategy(config.strategy)
  output_dir = worker_output_dir(config.output_dir, strategy)
  tf.io.gfile.makedirs(output_dir)
  num_classes = data.num_classes(config.dataset)
  if config.conditional and num_classes is None:
    raise ValueError(f"{config.dataset!r} has no class labels; it cannot "
                     f"train a conditional model.")
  train_data, validation_data = make_datasets(config)
  with strategy.scope(), dtype_policy(config.mixed_precision or "float32"):
    model = RealNVP(**config.model_kwargs())
    model.compile(optimizer=config.optimizer(
        steps_per_epoch(train_data, config.steps_per_epoch)),
                  jit_compile=config.jit_compile)
  _write_json(model.get_config(), os.path.join(output_dir, "config.json"))

  throughput = TrainingThroughput(config.batch_size)
  history_path = os.path.join(output_dir, "history.csv")
  tensorboard_dir = os.path.join(output_dir, "tensorboard")
  if not tf.io.gfile.exists(_backup_dir(output_dir)):
    # A fresh run: no rows or curves of earlier runs.
    _remove_if_exists(history_path)
    if tf.io.gfile.isdir(tensorboard_dir):
      tf.io.gfile.rmtree(tensorboard_dir)
  started = time.perf_counter()
  history = model.fit(
      train_data, validation_data=validation_data, epochs=config.epochs,
      steps_per_epoch=config.steps_per_epoch or None, verbose=config.verbose,
      shuffle=False,  # The pipeline shuffles; Keras cannot shuffle a Dataset.
      callbacks=_callbacks(output_dir, history_path, throughput) +
      _tensorboard_callbacks(config, strategy, tensorboard_dir))
  training_seconds = time.perf_counter() - started
  model.save(os.path.join(output_dir, "model.keras"))
  test_bits_per_dim = model.evaluate(held_out_data(config, validation_data),
                                     verbose=0,
                                     return_dict=True)["bits_per_dim"]
  saved_model_path = None
  curve = read_history_csv(history_path)
  if is_chief(strategy):
    write_sample_grid(keras_sampler(model),
                      os.path.join(output_dir, "samples.png"),
                      [config.temperature], seed=config.seed)
    saved_model_path = export_saved_model(
        model, config.export_dir,
        config.model_name or _default_model_name(config))
  metrics = {
      "dataset": config.dataset,
      "test_bits_per_dim": float(test_bits_per_dim),
      "training_seconds": training_seconds,
      "images_per_second": float(np.median(
          history.history.get("images_per_second", [np.nan]))),
      "first_epoch": throughput.first_epoch,
      "history": curve,
      "num_parameters": int(model.count_params()),
      "num_replicas": strategy.num_replicas_in_sync,
      "config": dataclasses.asdict(config),
      "model_config": {k: v for k, v in model.get_config().items()
                       if k not in ("name", "trainable", "dtype")},
      "saved_model": saved_model_path,
  }
  _write_json(metrics, os.path.join(output_dir, "metrics.json"))
  if is_chief(strategy):
    _plot_learning_curve(curve, output_dir, config.dataset)
  return metrics


def _plot_learning_curve(curve, output_dir, dataset):
  """learning_curve.png, last and best-effort: a plotting problem must not cost a finished run."""
  try:
    plot_learning_curve(curve, os.path.join(output_dir, "learning_curve.png"),
                        title=f"Real NVP on {dataset}")
  except (ValueError, OSError) as error:
    logging.warning("No learning_curve.png: %s", error)


def _remove_if_exists(path):
  if tf.io.gfile.exists(path):
    tf.io.gfile.remove(path)


def make_datasets(config):
  """(train, validation) pipelines for a `RunConfig`; train repeats when steps_per_epoch is set.

  Validation uses the data set's `fit_validation_split` (celeb_a:
  "validation"; otherwise the held-out "test", or "validation" for ImageNet).

  Args:
    config: a `RunConfig` (or `TrainConfig`, `TuneConfig`).

  Returns:
    (train_data, validation_data), `tf.data.Dataset`s of (images uint8
    [B, H, W, C], labels int64 [B]) from `tfp_realnvp.data.pipeline`: the
    "train" split shuffled and in full batches (`training=True`), and the
    validation split in order, every example once.

  Raises:
    ValueError: an unknown data set or split.
    tfp_realnvp.data.DatasetUnavailableError: a TFDS data set that cannot
      be loaded.
  """
  train_data = data.pipeline(config.dataset, "train", config.batch_size,
                             training=True, seed=config.seed,
                             **_load_args(config))
  validation_data = data.pipeline(
      config.dataset, data.spec(config.dataset).fit_validation_split,
      config.batch_size, training=False, **_load_args(config))
  if config.steps_per_epoch:
    train_data = train_data.repeat()
  return train_data, validation_data


def held_out_data(config, validation_data):
  """The pipeline of the data set's `eval_split`, reusing `validation_data` when it is the same split.

  Args:
    config: a `RunConfig`.
    validation_data: the validation pipeline of `make_datasets(config)`.

  Returns:
    `tf.data.Dataset` of (images uint8 [B, H, W, C], labels int64 [B]),
    every example of the `eval_split` once, in order.

  Raises:
    ValueError: an unknown data set or split.
    tfp_realnvp.data.DatasetUnavailableError: a TFDS data set that cannot
      be loaded.
  """
  dataset_spec = data.spec(config.dataset)
  if dataset_spec.eval_split == dataset_spec.fit_validation_split:
    return validation_data
  return data.pipeline(config.dataset, dataset_spec.eval_split,
                       config.batch_size, training=False, **_load_args(config))


def _load_args(config):
  return dict(data_dir=config.data_dir or None, download=config.download)


@contextlib.contextmanager
def dtype_policy(name):
  """Keras's global dtype policy set to `name` (e.g. "mixed_bfloat16") inside the block only.

  Args:
    name: a Keras dtype policy name: "float32", "mixed_float16",
      "mixed_bfloat16" or another float dtype's name.

  Yields:
    None; layers created inside the block take the policy. The previous
    policy is restored on leaving it, also after an exception.

  Raises:
    ValueError: from Keras, for a name that is not a policy.
  """
  previous = keras.config.dtype_policy()
  keras.config.set_dtype_policy(name)
  try:
    yield
  finally:
    keras.config.set_dtype_policy(previous)


def steps_per_epoch(train_data, configured_steps=0):
  """Optimizer steps per epoch: `configured_steps` if set, else the batches in `train_data`.

  Args:
    train_data: the batched training `tf.data.Dataset`.
    configured_steps: int, `RunConfig.steps_per_epoch`; 0 for one pass.

  Returns:
    int: `configured_steps` if non-zero, else `train_data.cardinality()`.

  Raises:
    ValueError: if neither is known (a pipeline of unknown or infinite
      length).
  """
  if configured_steps:
    return configured_steps
  batches = int(train_data.cardinality())
  if batches < 0:
    raise ValueError("The training data has an unknown number of batches; "
                     "set steps_per_epoch.")
  return batches


def read_history_csv(path):
  """Per-epoch logs from a `history.csv` (every epoch, also those of runs resumed from a backup).

  Args:
    path: a CSV file written by `HistoryCSVLogger` (Keras's `CSVLogger`),
      local or any TensorFlow filesystem.

  Returns:
    dict: column name -> list of floats, in epoch order (NaN where Keras
    wrote "NA", a value missing in that epoch); {} for a file without rows.
  """
  with tf.io.gfile.GFile(path) as file:
    rows = list(csv.DictReader(file))
  columns = rows[0].keys() if rows else ()
  return {column: [_as_float(row[column]) for row in rows]
          for column in columns}


def _as_float(text):
  try:
    return float(text)
  except (TypeError, ValueError):
    return float("nan")


def _backup_dir(output_dir):
  return os.path.join(output_dir, "backup")


def _callbacks(output_dir, history_path, throughput):
  """Fault tolerance first: BackupAndRestore restores before the others start."""
  backup_dir = _backup_dir(output_dir)
  best_path = os.path.join(output_dir, "checkpoints", "best.weights.h5")
  return [
      keras.callbacks.BackupAndRestore(backup_dir, double_checkpoint=True),
      StopOnNonFiniteLoss([backup_dir, best_path]),
      keras.callbacks.ModelCheckpoint(
          best_path, monitor="val_bits_per_dim", mode="min",
          save_best_only=True, save_weights_only=True),
      throughput,
      HistoryCSVLogger(history_path, append=True),
  ]


def _tensorboard_callbacks(config, strategy, log_dir):
  """TensorBoard logging on the chief, after the other callbacks (see `_callbacks`)."""
  if not (config.tensorboard and is_chief(strategy)):
    return []
  return tensorboard_callbacks(log_dir, config.temperature,
                               config.tensorboard_every_n_epochs, config.seed)


def _write_json(value, path):
  with tf.io.gfile.GFile(path, "w") as file:
    json.dump(value, file, indent=2)


def _default_model_name(config):
  suffix = "_conditional" if config.conditional else ""
  return f"real_nvp_{config.dataset}{suffix}"
