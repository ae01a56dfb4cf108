"""Keras callbacks for RealNVP training: fault tolerance, throughput, history, TensorBoard logs of bits/dim and sample grids."""

import os
import time

import keras
import numpy as np
import tensorflow as tf

from tfp_realnvp import _compat
from tfp_realnvp import loading
from tfp_realnvp import validation
from tfp_realnvp.distribute import is_chief
from tfp_realnvp.runs import read_json
from tfp_realnvp.runs import write_json
from tfp_realnvp.runs import write_text
from tfp_realnvp.sampling import DEFAULT_TEMPERATURE
from tfp_realnvp.sampling import draw_sample_grid

#: The logged value the best checkpoint is chosen by.
MONITOR = "val_bits_per_dim"
SAMPLES_RUN = "samples"
SAMPLES_TAG = "samples"


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


class RunBackup(keras.callbacks.BackupAndRestore):
  """Keras's `BackupAndRestore` (double checkpoint) whose damaged state is named, not a traceback.

  Keras falls back to its previous backup when the latest weights cannot be
  read (an OSError); any other failure to restore (a garbled
  training_metadata.json, a damaged HDF5 heap, both backups unreadable)
  becomes a `DamagedBackupError` naming the directory and the ways out.
  The backup is kept when `fit` ends (`train` deletes it once the run's
  results are written), so a run stopped after its last epoch resumes with
  no epoch to train.

  Args:
    backup_dir: the backup directory (local or any TensorFlow filesystem).
  """

  def __init__(self, backup_dir):
    super().__init__(backup_dir, double_checkpoint=True,
                     delete_checkpoint=False)

  def on_train_begin(self, logs=None):
    """Restores the weights, optimizer and epoch of the last backup.

    Raises:
      DamagedBackupError: the backup cannot be read.
    """
    try:
      super().on_train_begin(logs)
    except (OSError, ValueError, KeyError, RuntimeError) as error:
      raise DamagedBackupError(
          f"The backup of the interrupted run in {self.backup_dir} is "
          f"damaged and cannot be resumed ({type(error).__name__}: "
          f"{error}). Delete {self.backup_dir} to train the run again from "
          f"its first epoch, or pass --overwrite (overwrite=True) to start "
          f"the whole run over.") from error


class DamagedBackupError(ValueError):
  """The `BackupAndRestore` state of a run cannot be read."""


class HistoryCSVLogger(keras.callbacks.CSVLogger):
  """Keras's `CSVLogger` (appending) whose rows always agree with the weights training resumed from.

  At the first epoch `fit` runs (after `BackupAndRestore` restored epoch
  k, or 0 for a fresh run), rows of epochs >= k are dropped before new rows
  are appended: a run resumed from an older backup (Keras falls back to it
  when the latest is damaged) does not list an epoch twice, and a fresh
  run starts a fresh file. It also closes its file on any TensorFlow
  filesystem (Keras's `on_train_end` reads a `closed` attribute that
  `tf.io.gfile.GFile` lacks).

  Args:
    filename: the CSV file (local or any TensorFlow filesystem).
  """

  def __init__(self, filename):
    super().__init__(filename, append=True)
    self._opened = False

  def on_train_begin(self, logs=None):
    self._opened = False  # Opened at the first epoch, once it is known.

  def on_epoch_begin(self, epoch, logs=None):
    if not self._opened:
      _keep_rows_before(self.filename, epoch)
      if os.path.dirname(self.filename):
        tf.io.gfile.makedirs(os.path.dirname(self.filename))
      super().on_train_begin()
      self._opened = True
    super().on_epoch_begin(epoch, logs)

  def on_train_end(self, logs=None):
    if self.csv_file is not None:
      self.csv_file.close()
      self.csv_file = None
    self.writer = None


def _keep_rows_before(path, epoch):
  """Rewrites the history CSV at `path` with only the rows of epochs < `epoch` (deleted if none)."""
  if not tf.io.gfile.exists(path):
    return
  with tf.io.gfile.GFile(path) as file:
    lines = file.read().splitlines(keepends=True)
  try:
    kept = lines[:1] + [line for line in lines[1:]
                        if line.strip() and _epoch_of(line) < epoch]
  except ValueError as error:
    raise ValueError(f"{path} is damaged ({error}); delete it to start the "
                     f"history anew.") from error
  if len(kept) == len(lines):
    return
  if len(kept) <= 1:
    tf.io.gfile.remove(path)
    return
  write_text("".join(kept), path)


def _epoch_of(row):
  """The 0-based epoch in the first column of a history CSV row (Keras's `CSVLogger` writes it first)."""
  try:
    return int(row.split(",", 1)[0])
  except ValueError as error:
    raise ValueError(f"A history row does not start with its epoch: "
                     f"{row.strip()!r}.") from error


class BestCheckpoint(keras.callbacks.ModelCheckpoint):
  """Keras's `ModelCheckpoint` of the lowest val_bits_per_dim weights, whose best value survives a resume.

  Keras's callback starts every `fit` without a best value, so the first
  epoch after a resume would overwrite the best weights with worse ones. This one
  records each save's epoch and value in `record_path` (JSON) and, when
  `fit` resumes at an epoch > 0, starts from the recorded value; a fresh
  run (epoch 0) starts from inf.

  Args:
    filepath: the `.weights.h5` file of the best weights.
    record_path: the JSON file of their epoch and value.
  """

  def __init__(self, filepath, record_path):
    super().__init__(filepath, monitor=MONITOR, mode="min",
                     save_best_only=True, save_weights_only=True)
    self.record_path = record_path
    self._resumed = False

  def on_train_begin(self, logs=None):
    self._resumed = False

  def on_epoch_begin(self, epoch, logs=None):
    if not self._resumed:
      self._resumed = True
      if epoch > 0 and tf.io.gfile.exists(self.record_path):
        self.best = _recorded_value(self.record_path)
    super().on_epoch_begin(epoch, logs)

  def on_epoch_end(self, epoch, logs=None):
    best = self.best
    super().on_epoch_end(epoch, logs)
    if self.best != best:
      write_json({"epoch": epoch, "monitor": self.monitor, "value": self.best},
                 self.record_path)


def _recorded_value(path):
  """The `value` of a best-checkpoint record, or a ValueError naming the file."""
  record = read_json(path)
  try:
    value = float(record["value"])
  except (KeyError, TypeError, ValueError) as error:
    raise ValueError(f"{path} is damaged (no numeric 'value'); delete it and "
                     f"{os.path.dirname(path)} to choose the best weights "
                     f"anew.") from error
  return value


class NonFiniteLossError(RuntimeError):
  """Training produced a NaN or infinite loss; the last good checkpoints were kept."""


class StopOnNonFiniteLoss(keras.callbacks.Callback):
  """Raises `NonFiniteLossError` at the first batch whose loss is not finite.

  Raising (rather than `TerminateOnNaN`'s stop flag) ends `fit` before any
  epoch-end callback runs, so neither the `BackupAndRestore` state nor the
  best-model checkpoint is overwritten with broken weights.

  Args:
    run_directory: the run's `tfp_realnvp.runs.RunDirectory`; the message
      names its backup and best checkpoint where they exist.
  """

  def __init__(self, run_directory):
    super().__init__()
    self.run_directory = run_directory
    self._epoch = 0

  def on_epoch_begin(self, epoch, logs=None):
    self._epoch = epoch

  def on_train_batch_end(self, batch, logs=None):
    """Raises if the batch's logged `loss` is NaN or infinite.

    Raises:
      NonFiniteLossError: naming the epoch, the batch and the weights kept.
    """
    loss = (logs or {}).get("loss")
    if loss is not None and not np.isfinite(loss):
      raise NonFiniteLossError(
          f"The training loss became {loss} at epoch {self._epoch + 1}, batch "
          f"{batch + 1}; training stopped. {self._kept()} Steps too large for "
          f"the model are the usual cause: a lower --learning-rate or "
          f"--gradient-clip-norm may help (a resumed run may change them).")

  def _kept(self):
    run = self.run_directory
    kept = []
    if run.has_backup():
      kept.append(f"The last finished epoch's state is in {run.backup}: the "
                  f"same command resumes from it.")
    if tf.io.gfile.exists(run.best_checkpoint):
      kept.append(f"The best weights so far are in {run.best_checkpoint}.")
    return " ".join(kept) or "No epoch had finished, so no weights were saved."


class AveragedWeights(keras.callbacks.SwapEMAWeights):
  """Keras's `SwapEMAWeights(swap_on_epoch=True)`, resumable: the averaged weights are validated, checkpointed and kept.

  With an optimizer that averages the weights (`use_ema`, Polyak averaging;
  `tfp_realnvp.optimization.default_optimizer`'s `ema_momentum`),
  validation runs on the averages, and at each epoch's end they are in the
  model for the callbacks after this one (the best checkpoint, TensorBoard
  samples, the backup); training continues from the raw weights. A backup
  written so holds the averages in the model and the raw weights in the
  optimizer: when `fit` resumes from one (its first epoch is not 0 and the
  optimizer has taken steps), this callback swaps them back before
  training, so a resumed run goes on exactly as an uninterrupted one.
  `fit` ends with the averages in the model, also when a callback stops it
  early (`stop_training`, set before this callback's epoch end). Without
  averaging it does nothing.

  Source: Polyak averaging as Flow++ (Ho et al. 2019, sec. 4) evaluates its
  models; not in the Real NVP paper.
  """

  def __init__(self):
    super().__init__(swap_on_epoch=True)
    self._first_epoch = True

  def _averaging(self):
    optimizer = getattr(self.model.optimizer, "inner_optimizer",
                        self.model.optimizer)
    return bool(getattr(optimizer, "use_ema", False))

  def on_train_begin(self, logs=None):
    self._first_epoch = True

  def on_epoch_begin(self, epoch, logs=None):
    if not self._averaging():
      return
    resumed = epoch > 0 and int(self.model.optimizer.iterations) > 0
    if self._first_epoch and resumed:  # From a backup written swapped.
      _compat.mark_averaged_weights_in_model(self)
    self._first_epoch = False
    super().on_epoch_begin(epoch, logs)

  def on_epoch_end(self, epoch, logs=None):
    if self._averaging():
      super().on_epoch_end(epoch, logs)
      if self.model.stop_training and epoch < self.params["epochs"] - 1:
        # fit ends now: its finalize copies the optimizer's copy into the
        # model, which must then be the averages too (as at the last epoch).
        _compat.copy_averaged_weights_to_optimizer(self)

  def on_test_begin(self, logs=None):
    if self._averaging():
      super().on_test_begin(logs)

  def on_test_end(self, logs=None):
    if self._averaging():
      super().on_test_end(logs)

  def on_predict_begin(self, logs=None):
    if self._averaging():
      super().on_predict_begin(logs)

  def on_predict_end(self, logs=None):
    if self._averaging():
      super().on_predict_end(logs)


def fault_tolerance_callbacks(run_directory, throughput):
  """The callbacks that keep a run's progress: non-finite stop, weight averages, best checkpoint, throughput, history, backup.

  In this order, which matters: the averaged weights are in the model
  (`AveragedWeights`) before the best checkpoint saves it; the history row
  of an epoch is written after its throughput is logged, and the backup of
  an epoch (`RunBackup`, last) only once its best checkpoint and history
  row are written, so a run killed in between resumes at that epoch and
  rewrites its row.
  `StopOnNonFiniteLoss` raises at the end of the first non-finite batch,
  before any epoch-end save; `RunBackup` restores at the start of `fit`,
  before the first epoch, which is when the others read the epoch it
  restored.

  Args:
    run_directory: a `tfp_realnvp.runs.RunDirectory`.
    throughput: the run's `TrainingThroughput`.

  Returns:
    list of `keras.callbacks.Callback`: `StopOnNonFiniteLoss`,
    `AveragedWeights`, `BestCheckpoint` (in `run_directory.best_checkpoint`, recorded in
    `best_record`), `throughput`, `HistoryCSVLogger`
    (`run_directory.history_csv`), `RunBackup` (in `run_directory.backup`).
  """
  return [
      StopOnNonFiniteLoss(run_directory),
      AveragedWeights(),
      BestCheckpoint(run_directory.best_checkpoint,
                     run_directory.best_record),
      throughput,
      HistoryCSVLogger(run_directory.history_csv),
      RunBackup(run_directory.backup),
  ]


def tensorboard_callbacks(log_dir, temperature=DEFAULT_TEMPERATURE,
                          every_n_epochs=1, seed=0, num_columns=None):
  """The callbacks that log a RealNVP's training to TensorBoard under `log_dir`.

  Returns `[keras.callbacks.TensorBoard(log_dir, write_graph=False),
  TensorBoardSamples(log_dir, ...)]`; pass them to `fit` after the callbacks
  that add to the logs. TensorBoard then shows, with step = the 0-based
  epoch index (as `fit`'s History and history.csv):

  - run `train`: scalars `epoch_bits_per_dim` (training bits/dim),
    `epoch_loss`, `epoch_learning_rate` and any other log entry (train adds
    `epoch_images_per_second`);
  - run `validation`: `epoch_bits_per_dim` of the validation data (the
    `val_` entries), drawn in the same chart as the training curve;
  - run `samples`: the image `samples` (`TensorBoardSamples`).

  The graph is not written: the TFP flow's graph is large and says little.

  Args:
    log_dir: directory of the runs (local or any TensorFlow filesystem); view
      them with `tensorboard --logdir <log_dir>`.
    temperature, every_n_epochs, seed, num_columns: as `TensorBoardSamples`.

  Returns:
    list of two `keras.callbacks.Callback`.

  Raises:
    ValueError: as `TensorBoardSamples`.
  """
  return [keras.callbacks.TensorBoard(log_dir, write_graph=False),
          TensorBoardSamples(log_dir, temperature, every_n_epochs, seed,
                             num_columns)]


class TensorBoardSamples(keras.callbacks.Callback):
  """Logs grids of a RealNVP's samples to TensorBoard during `fit`.

  Writes the image `samples` to the run `<log_dir>/samples`, with step = the
  0-based epoch index: a uint8 grid [1, rows * (H + 1) + 1,
  columns * (W + 1) + 1, C] (`tfp_realnvp.sampling.SampleGrid.image`;
  pixels 0..255, 1-pixel gray borders) of x = f^-1(T z), z ~ N(0, I) drawn
  from the fixed `seed`, so that every epoch shows the same latents and the
  grids show how the model changes: a row per class with `num_columns`
  samples each for a conditional model, `num_columns`^2 samples otherwise
  (the layout of train's samples.png). Logged every `every_n_epochs` epochs
  and after the last epoch of `fit`; nothing for a model with a condition
  (`RealNVP.condition_shape`), whose samples need conditions (train writes
  them in conditions.png).

  Only images: the scalars come from `keras.callbacks.TensorBoard`
  (`tensorboard_callbacks` returns both), which already writes every epoch
  log -- training and validation bits/dim, loss, learning rate -- into the
  runs `train` and `validation` of the same `log_dir`; writing them again
  here would duplicate it. The images get a run of their own: TensorBoard
  polls only the newest event file of a run directory for new data, so two
  writers must not share one.

  Under a distribution strategy only the chief writes
  (`tfp_realnvp.distribute.is_chief`); other workers do nothing. Sampling
  runs eagerly on the model at epoch end and needs no collective, so the
  workers do not wait on each other. Place it after `BackupAndRestore`, so
  an epoch is logged only once it is backed up (a resumed run does not log
  an epoch twice).

  Args:
    log_dir: the TensorBoard log directory (local or any TensorFlow
      filesystem); the images go to `<log_dir>/samples`.
    temperature: float > 0, standard deviation of the latents (unit: prior
      standard deviations; reduced-temperature sampling of Parmar et al.
      2018 and Kingma & Dhariwal 2018, see `tfp_realnvp.sampling`).
    every_n_epochs: int >= 1, epochs between grids.
    seed: int, the latents' seed (the same at every epoch).
    num_columns: int >= 1 samples per row, or None for 10 (conditional) or 8
      (unconditional).

  Raises:
    ValueError: a temperature <= 0 or not finite, every_n_epochs < 1, or
      num_columns < 1.
  """

  def __init__(self, log_dir, temperature=DEFAULT_TEMPERATURE,
               every_n_epochs=1, seed=0, num_columns=None):
    super().__init__()
    validation.temperature_values(temperature)
    if int(every_n_epochs) != every_n_epochs or every_n_epochs < 1:
      raise ValueError(f"every_n_epochs must be an int >= 1; got "
                       f"{every_n_epochs!r}.")
    if num_columns is not None and (int(num_columns) != num_columns
                                    or num_columns < 1):
      raise ValueError(f"num_columns must be None or an int >= 1; got "
                       f"{num_columns!r}.")
    self.log_dir = str(log_dir)
    self.temperature = float(temperature)
    self.every_n_epochs = int(every_n_epochs)
    self.seed = int(seed)
    self.num_columns = None if num_columns is None else int(num_columns)
    self._writer = None
    self._active = True

  def get_config(self):
    """Constructor arguments; `TensorBoardSamples(**config)` rebuilds the callback.

    Returns:
      dict, JSON-serializable: log_dir, temperature, every_n_epochs, seed,
      num_columns.
    """
    return {"log_dir": self.log_dir, "temperature": self.temperature,
            "every_n_epochs": self.every_n_epochs, "seed": self.seed,
            "num_columns": self.num_columns}

  @classmethod
  def from_config(cls, config):
    """The callback `get_config` describes.

    Args:
      config: dict from `get_config`.

    Returns:
      a new `TensorBoardSamples`.
    """
    return cls(**config)

  def on_train_begin(self, logs=None):
    self._active = is_chief(self.model.distribute_strategy)

  def on_epoch_end(self, epoch, logs=None):
    if not (self._active and self._logs_samples(epoch)):
      return
    if getattr(self.model, "condition_shape", None) is not None:
      return  # Its samples need conditions: train's conditions.png shows them.
    grid = draw_sample_grid(loading.from_keras(self.model),
                            [self.temperature], num_columns=self.num_columns,
                            seed=self.seed)
    if self._writer is None:
      self._writer = tf.summary.create_file_writer(
          os.path.join(self.log_dir, SAMPLES_RUN))
    with self._writer.as_default():
      tf.summary.image(SAMPLES_TAG, grid.image()[None], step=epoch,
                       max_outputs=1)
    self._writer.flush()

  def on_train_end(self, logs=None):
    if self._writer is not None:
      self._writer.close()
      self._writer = None

  def _logs_samples(self, epoch):
    last = self.params.get("epochs") if self.params else None
    return (epoch + 1) % self.every_n_epochs == 0 or epoch + 1 == last
