"""The main job: train a RealNVP on a data set, evaluate it, write samples, metrics and a SavedModel."""

import dataclasses
import logging
import math
import os
import time

import keras
import numpy as np
import tensorflow as tf

from tfp_realnvp import data
from tfp_realnvp.conditions import CONDITION_GRID_ROWS
from tfp_realnvp.conditions import CONDITION_GRID_POOL
from tfp_realnvp.conditions import write_condition_grids
from tfp_realnvp import loading
from tfp_realnvp import presets
from tfp_realnvp import validation
from tfp_realnvp.callbacks import NonFiniteLossError
from tfp_realnvp.callbacks import TrainingThroughput
from tfp_realnvp.callbacks import fault_tolerance_callbacks
from tfp_realnvp.callbacks import tensorboard_callbacks
from tfp_realnvp.config import ModelConfig
from tfp_realnvp.config import option
from tfp_realnvp.distribute import get_strategy
from tfp_realnvp.distribute import is_chief
from tfp_realnvp.distribute import worker_output_dir
from tfp_realnvp.export import export_saved_model
from tfp_realnvp.model import RealNVP
from tfp_realnvp.optimization import DEFAULT_GRADIENT_CLIP_NORM
from tfp_realnvp.optimization import DEFAULT_LEARNING_RATE
from tfp_realnvp.optimization import LR_SCHEDULES
from tfp_realnvp.optimization import NO_WEIGHT_AVERAGING
from tfp_realnvp.optimization import check_ema_momentum
from tfp_realnvp.optimization import make_optimizer
from tfp_realnvp.plots import plot_learning_curve
from tfp_realnvp.precision import MIXED_PRECISION_POLICIES
from tfp_realnvp.precision import dtype_policy
from tfp_realnvp.runs import RunConfig
from tfp_realnvp.runs import RunDirectory
from tfp_realnvp.runs import check_writable_directory
from tfp_realnvp.runs import error_text
from tfp_realnvp.runs import read_history_csv
from tfp_realnvp.runs import remove_if_exists
from tfp_realnvp.runs import write_json
from tfp_realnvp.sampling import DEFAULT_TEMPERATURE
from tfp_realnvp.sampling import write_sample_grid


@dataclasses.dataclass
class TrainConfig(RunConfig):
  """Everything `train` needs; the CLI's `train` flags map onto these fields.

  Adds to `RunConfig` the architecture (`model`), the optimization, the
  computation, the temperature of samples.png and the TensorBoard logs.
  Defaults: the mnist_bundled preset's architecture (`ModelConfig`'s
  defaults).

  Attributes:
    dataset, epochs, batch_size, steps_per_epoch: as in `RunConfig`.
    conditional, condition, output_dir, export_dir, model_name: as in
      `RunConfig`.
    data_dir, download: as in `RunConfig`.
    image_size, crop, channels, validation_fraction: as in `RunConfig`.
    cache, skip_unreadable: as in `RunConfig`.
    strategy, seed, verbose: as in `RunConfig`.
    model: the architecture, a `tfp_realnvp.config.ModelConfig`.
    learning_rate: finite float >= 0, Adam's step size (the peak of a cosine
      schedule; official code: 1e-3).
    lr_schedule: "constant", or "cosine": decay to 0 along a cosine over all
      training steps (`tfp_realnvp.optimization.LR_SCHEDULES`).
    gradient_clip_norm: finite float > 0, largest global gradient norm of the
      bits/dim loss (`default_optimizer`; the official clipping is
      100 / (D ln 2), `official_gradient_clip_norm`).
    ema_momentum: float in [0, 1), Polyak averaging: 0 for none, else the
      momentum of the moving average of the weights
      (`tfp_realnvp.optimization.default_optimizer`) that validation, the
      best checkpoint, samples and the saved model use
      (`tfp_realnvp.callbacks.AveragedWeights`).
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
    preset: the name of the preset the configuration started from, or ""
      (recorded in metrics.json and the SavedModel's provenance).
    overwrite: whether `train` deletes an earlier run in `output_dir` and
      starts over (`tfp_realnvp.runs.RunDirectory.claim`).

  Raises:
    ValueError: as `RunConfig`, or for an unknown schedule, mixed precision
      policy or preset, a learning rate < 0, a gradient clip norm <= 0 (or
      either not finite), an ema_momentum outside [0, 1), a temperature <= 0, tensorboard_every_n_epochs
      < 1, or a
      `model` that is not a `ModelConfig`.
  """
  model: ModelConfig = option(None, "the architecture",
                              default_factory=ModelConfig)
  learning_rate: float = option(DEFAULT_LEARNING_RATE, "Adam learning rate "
                                "(the peak of a cosine schedule)",
                                identifies_run=False)
  lr_schedule: str = option("constant", "learning rate: constant, or cosine "
                            "decay to 0 over all training steps",
                            choices=LR_SCHEDULES)
  gradient_clip_norm: float = option(
      DEFAULT_GRADIENT_CLIP_NORM, "largest global gradient norm of the "
      "bits/dim loss (the official clipping is 100 / (D ln 2))",
      identifies_run=False)
  ema_momentum: float = option(
      NO_WEIGHT_AVERAGING, "Polyak averaging: momentum of the moving average "
      "of the weights that validation, the best checkpoint and the saved "
      "model use (0: none; 0.99 averages about the last 100 steps)")
  mixed_precision: str = option(
      "", "'' (float32), mixed_float16 or mixed_bfloat16: the s/t networks "
      "compute in 16 bits; log-determinants, prior and loss stay float32 "
      "(for GPUs/TPUs)", choices=MIXED_PRECISION_POLICIES)
  jit_compile: bool = option(False, "XLA-compile the training step",
                             identifies_run=False)
  temperature: float = option(DEFAULT_TEMPERATURE, "latent standard "
                              "deviation for samples.png and the TensorBoard "
                              "samples")
  tensorboard: bool = option(True, "write TensorBoard logs to "
                             "<output-dir>/tensorboard (bits/dim per epoch, "
                             "sample grids)")
  tensorboard_every_n_epochs: int = option(1, "epochs between sample grids "
                                           "in TensorBoard (bits/dim: every "
                                           "epoch)")
  preset: str = option("", "the preset the configuration started from",
                       choices=("",) + presets.PRESET_NAMES)
  overwrite: bool = option(False, "delete the earlier run in --output-dir "
                           "and start over (without it, a directory holding "
                           "another configuration's run or a finished run "
                           "is refused)", identifies_run=False)

  def __post_init__(self):
    super().__post_init__()
    if not isinstance(self.model, ModelConfig):
      raise ValueError(f"model must be a ModelConfig; got {self.model!r}.")
    if not (np.isfinite(self.learning_rate) and self.learning_rate >= 0):
      raise ValueError(f"learning_rate must be finite and >= 0; got "
                       f"{self.learning_rate}.")
    if not (np.isfinite(self.gradient_clip_norm) and
            self.gradient_clip_norm > 0):
      raise ValueError(f"gradient_clip_norm must be finite and > 0 (the "
                       f"largest global gradient norm); got "
                       f"{self.gradient_clip_norm}.")
    check_ema_momentum(self.ema_momentum)
    validation.temperature_values(self.temperature)
    if self.tensorboard_every_n_epochs < 1:
      raise ValueError(f"tensorboard_every_n_epochs must be >= 1; got "
                       f"{self.tensorboard_every_n_epochs}.")

  @classmethod
  def from_preset(cls, name, **overrides):
    """The preset's configuration (`tfp_realnvp.presets`), with `overrides` of any field.

    Args:
      name: a preset name (`tfp_realnvp.presets.PRESET_NAMES`).
      **overrides: `TrainConfig` fields, or `ModelConfig` fields (e.g.
        `filters=16`), that replace the preset's values.

    Returns:
      A new `TrainConfig` whose `preset` is `name`.

    Raises:
      ValueError: for an unknown preset or invalid values.
    """
    fields = {**presets.get(name).train_fields(), "preset": name}
    hyperparameters, overrides = ModelConfig.split_kwargs(overrides)
    fields.update(overrides)
    fields["model"] = dataclasses.replace(fields["model"], **hyperparameters)
    return cls(**fields)

  def model_kwargs(self):
    """Constructor arguments of the RealNVP this configuration describes (image shape and classes of its data set).

    Returns:
      dict of `RealNVP` arguments: image_shape (the data set's),
      num_classes (the data set's when `conditional`, else None), config
      (`model`) and condition_shape (the `condition` task's, else None).

    Raises:
      ValueError: for an unknown data set, or `conditional` for a data set
        without labels.
    """
    return dict(image_shape=self.data_spec().image_shape,
                num_classes=self.num_classes(), config=self.model,
                condition_shape=self.condition_shape())

  def optimizer(self, steps_per_epoch):
    """Adam with this config's gradient clipping and schedule.

    Args:
      steps_per_epoch: optimizer steps per epoch, for the cosine schedule.

    Returns:
      A new `keras.optimizers.Adam`.
    """
    return make_optimizer(self.learning_rate, self.lr_schedule,
                          self.epochs * steps_per_epoch,
                          self.gradient_clip_norm, self.ema_momentum)


def train(config):
  """Runs the main job and returns its metrics (also written to metrics.json).

  Every check comes before anything is written: the configuration, the
  data set, the architecture, that the output and export directories are
  writable, and that the run directory is free or holds an unfinished run
  of this same configuration (`tfp_realnvp.runs.RunDirectory.claim`; with
  `config.overwrite`, an earlier run there is deleted first).

  Writes to `config.output_dir` (local or any TensorFlow filesystem, see
  `tfp_realnvp.runs.RunDirectory`): run.json (the configuration the
  directory belongs to) and config.json (the model's config), backup/
  (Keras `BackupAndRestore` state, deleted once metrics.json is written: a
  killed run started again with the same command -- or with another
  learning rate or gradient clip norm -- resumes from the last finished
  epoch; without a backup the run starts from its first epoch, deleting
  what an unfinished attempt left),
  checkpoints/best.weights.h5 (the weights with the lowest
  val_bits_per_dim so far, kept across resumes, with best.json),
  history.csv (one row per epoch, agreeing with the weights resumed from),
  model.keras, samples.png (one row per class for a conditional model;
  with a `condition` task, a row of samples for each of 8 held-out images'
  conditions, and beside it conditions.png: each row the condition shown,
  its samples and the real image),
  learning_curve.png (bits/dim per epoch, training and held-out),
  metrics.json (last), and unless `config.tensorboard` is off,
  tensorboard/ (`tensorboard --logdir <output_dir>/tensorboard`: training
  and validation bits/dim per epoch and a sample grid every
  `tensorboard_every_n_epochs` epochs, see
  `tfp_realnvp.callbacks.tensorboard_callbacks`); and a SavedModel to
  `<config.export_dir>/<model name>/<next version>/`, with the model's
  configuration and the run's provenance (data set, preset, epochs, figures)
  in its assets.extra/tfp_realnvp.json.
  Under multi-worker training only the chief writes samples, TensorBoard
  logs and the SavedModel; the other workers write to
  `<output_dir>/worker_<i>/`.

  Args:
    config: a `TrainConfig`.

  Returns:
    dict: the metrics, also written to metrics.json (non-finite values as
    null); `dataset`; `test_bits_per_dim` (the final model on the data
    set's `eval_split`: one dequantization draw per image, batch norm with
    running averages); `training_seconds` (wall clock of `fit`);
    `images_per_second` (median over epochs, `TrainingThroughput`);
    `first_epoch` (0-based, > 0 after a resume); `history`
    (`read_history_csv`, every epoch); `num_parameters`; `num_replicas`;
    `config` (`config` as a dict); `model_config` (the RealNVP's
    constructor arguments); `saved_model` (the version directory, None on
    workers other than the chief).

  Raises:
    ValueError: for an unknown data set, strategy or model configuration, or
      a batch larger than the training split (an epoch of no step).
    tfp_realnvp.runs.RunDirectoryConflict (a ValueError): the output
      directory holds another configuration's run, a finished run, or an
      unrecorded one.
    tfp_realnvp.callbacks.DamagedBackupError (a ValueError): the backup of
      an interrupted run cannot be read.
    OSError: an output directory cannot be written; or the export failed
      (model.keras and metrics.json are kept).
    tfp_realnvp.data.DatasetUnavailableError: when a TFDS data set is missing.
    tfp_realnvp.callbacks.NonFiniteLossError: when the loss becomes NaN or
      infinite, or the trained model's held-out bits/dim is not finite.
  """
  keras.utils.set_random_seed(config.seed)
  strategy = get_strategy(config.strategy)
  run = RunDirectory(worker_output_dir(config.output_dir, strategy))
  model_kwargs = config.model_kwargs()
  train_data, validation_data = config.fit_pipelines()
  with strategy.scope(), dtype_policy(config.mixed_precision or "float32"):
    model = RealNVP(**model_kwargs)
    model.compile(optimizer=config.optimizer(
        data.steps_per_epoch(train_data, config.steps_per_epoch)),
                  jit_compile=config.jit_compile)
  model_name = config.model_name or _default_model_name(config)
  check_writable_directory(run.path, "--output-dir")
  run.check_claim(config.identity(), config.overwrite,
                  config.default_identity())
  if is_chief(strategy):
    check_writable_directory(os.path.join(config.export_dir, model_name),
                             "--export-dir")
  run.claim(config.identity(), config.overwrite, config.default_identity())
  write_json(model.get_config(), run.config_json)
  if not run.has_backup():
    run.start_fresh()

  throughput = TrainingThroughput(config.batch_size)
  started = time.perf_counter()
  history = model.fit(
      train_data, validation_data=validation_data, epochs=config.epochs,
      steps_per_epoch=config.steps_per_epoch or None,
      verbose=config.keras_verbose,
      shuffle=False,  # The pipeline shuffles; Keras cannot shuffle a Dataset.
      callbacks=fault_tolerance_callbacks(run, throughput) +
      _tensorboard_callbacks(config, strategy, run.tensorboard))
  training_seconds = time.perf_counter() - started
  model.save(run.model_keras)
  held_out = config.held_out_pipeline(validation_data)
  test_bits_per_dim = float(model.evaluate(held_out, verbose=0,
                                           return_dict=True)["bits_per_dim"])
  if not math.isfinite(test_bits_per_dim):
    raise NonFiniteLossError(
        f"The trained model's held-out bits/dim is {test_bits_per_dim}: its "
        f"weights or batch-norm statistics are not usable. The model is kept "
        f"in {run.model_keras} for inspection, the best weights in "
        f"{run.best_checkpoint}; nothing was exported.")
  curve = read_history_csv(run.history_csv)
  metrics = {
      "dataset": config.dataset,
      "test_bits_per_dim": test_bits_per_dim,
      "training_seconds": training_seconds,
      "images_per_second": float(np.median(
          history.history.get("images_per_second", [np.nan]))),
      "first_epoch": throughput.first_epoch,
      "history": curve,
      "num_parameters": int(model.count_params()),
      "num_replicas": strategy.num_replicas_in_sync,
      "class_names": (list(data.class_names(config.dataset,
                                            config.data_options()))
                      if config.conditional else []),
      "config": dataclasses.asdict(config),
      "model_config": {k: v for k, v in model.get_config().items()
                       if k not in ("name", "trainable", "dtype")},
      "saved_model": None,
  }
  if is_chief(strategy):
    _write_samples(model, config, run, held_out)
    metrics["saved_model"] = _export(model, config, model_name, metrics, run)
  _finish(run, metrics)
  if is_chief(strategy):
    _plot_learning_curve(curve, run.learning_curve_png, config.dataset)
  return metrics


def _write_samples(model, config, run, held_out):
  """samples.png; for a model with a condition, the samples of held-out images' conditions, and conditions.png."""
  task = config.condition_task()
  if task is None:
    write_sample_grid(loading.from_keras(model), run.samples_png,
                      [config.temperature], seed=config.seed)
    return
  examples = list(held_out.unbatch().take(CONDITION_GRID_POOL)
                  .as_numpy_iterator())
  # Spread over the held-out images (which may be sorted by class).
  chosen = [examples[i] for i in np.linspace(
      0, len(examples) - 1, min(CONDITION_GRID_ROWS, len(examples))).astype(int)]
  labels = (np.stack([example["labels"] for example in chosen])
            if "labels" in chosen[0] else None)
  write_condition_grids(model, task,
                        np.stack([example["images"] for example in chosen]),
                        run.samples_png, run.conditions_png, labels=labels,
                        temperature=config.temperature, seed=config.seed)


def _export(model, config, model_name, metrics, run):
  """The SavedModel's path; if the export fails, metrics.json is written and the error says how to export model.keras."""
  try:
    return export_saved_model(model, config.export_dir, model_name,
                              provenance=_provenance(config, metrics))
  except (OSError, ValueError, tf.errors.OpError) as error:
    _finish(run, metrics)
    raise OSError(
        f"Training finished, but the export to {config.export_dir!r} failed "
        f"({error_text(error)}). The trained model is kept in {run.model_keras} and its "
        f"figures in {run.metrics_json}; export it with: tfp-realnvp export "
        f"{run.model_keras} --export-dir DIR --name {model_name}") from error


def _finish(run, metrics):
  """Writes metrics.json, which makes the run finished, then deletes the backup (kept until now: a stopped run resumes)."""
  write_json(metrics, run.metrics_json)
  remove_if_exists(run.backup)


def _provenance(config, metrics):
  """What the SavedModel records of the run that trained it."""
  return {"job": "train", "dataset": config.dataset,
          "class_names": metrics["class_names"],
          "condition": config.condition,
          "image_options": dataclasses.asdict(config.data_options()),
          "preset": config.preset,
          "epochs": config.epochs, "batch_size": config.batch_size,
          "seed": config.seed, "mixed_precision": config.mixed_precision,
          **{key: metrics[key] for key in (
              "test_bits_per_dim", "training_seconds", "images_per_second",
              "num_parameters", "num_replicas")}}


def _plot_learning_curve(curve, path, dataset):
  """learning_curve.png, last and best-effort: a plotting problem must not cost a finished run."""
  try:
    plot_learning_curve(curve, path, title=f"Real NVP on {dataset}")
  except (ValueError, OSError) as error:
    logging.warning("No learning_curve.png: %s", error)


def _tensorboard_callbacks(config, strategy, log_dir):
  """TensorBoard logging on the chief, after the other callbacks (see `fault_tolerance_callbacks`)."""
  if not (config.tensorboard and is_chief(strategy)):
    return []
  return tensorboard_callbacks(log_dir, config.temperature,
                               config.tensorboard_every_n_epochs, config.seed)


def _default_model_name(config):
  suffix = "_conditional" if config.conditional else ""
  return (f"real_nvp_{data.short_name(config.dataset)}{suffix}"
          f"{config.condition_suffix()}")
