"""Callbacks during fit: TensorBoard bits/dim scalars and sample grids read back from the event files; backup, best checkpoint and history across a resume."""

import shutil

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfp_realnvp
from tfp_realnvp import callbacks
from tfp_realnvp.callbacks import TensorBoardSamples
from tfp_realnvp.callbacks import tensorboard_callbacks
from tfp_realnvp.distribute import get_strategy
from tfp_realnvp.sampling import draw_sample_grid
from tfp_realnvp.loading import from_keras
from tfp_realnvp.optimization import default_optimizer
from tfp_realnvp.runs import RunDirectory
from tfp_realnvp.runs import read_history_csv
from tfp_realnvp.runs import read_json

IMAGE_SHAPE = (8, 8, 1)
NUM_CLASSES = 3


def read_events(run_dir):
  """{tag: [(step, value)]} of every event file in a TensorBoard run directory.

  Scalars come back as float numpy scalars, images as decoded uint8 arrays
  [height, width, channels].
  """
  events = {}
  for path in sorted(run_dir.glob("events.out.tfevents.*")):
    for event in tf.compat.v1.train.summary_iterator(str(path)):
      for value in event.summary.value:
        array = tf.make_ndarray(value.tensor)
        if value.metadata.plugin_data.plugin_name == "images":
          # [width, height, PNG of each image]
          array = tf.io.decode_png(array[2]).numpy()
        events.setdefault(value.tag, []).append((event.step, array))
  return events


def tiny_model(conditional):
  return tfp_realnvp.RealNVP(
      IMAGE_SHAPE, num_scales=1, num_coupling_layers=1, num_res_blocks=1,
      filters=4, num_classes=NUM_CLASSES if conditional else None)


def datasets(conditional, count=32, batch_size=8):
  rng = np.random.default_rng(0)
  images = rng.integers(0, 256, (count,) + IMAGE_SHAPE).astype(np.uint8)
  labels = rng.integers(0, NUM_CLASSES, count)
  examples = (images, labels) if conditional else images
  dataset = tf.data.Dataset.from_tensor_slices(examples)
  return (dataset.batch(batch_size).repeat(),
          dataset.take(batch_size * 2).batch(batch_size))


def assert_scalars_match_history(log_dir, history, epochs):
  for run, key in (("train", "bits_per_dim"),
                   ("validation", "val_bits_per_dim")):
    logged = dict(read_events(log_dir / run)["epoch_bits_per_dim"])
    assert sorted(logged) == list(range(epochs)), run
    # Both are the float32 metric value: exactly equal.
    assert [np.float32(logged[epoch]) for epoch in range(epochs)] == [
        np.float32(value) for value in history[key]], run


@pytest.mark.parametrize("conditional, mirrored", [(True, False),
                                                   (False, True)])
def test_fit_logs_bits_per_dim_and_sample_grids(tmp_path, conditional,
                                                mirrored):
  keras.utils.set_random_seed(0)
  strategy = (get_strategy("mirrored", ["/cpu:0", "/cpu:1"]) if mirrored
              else tf.distribute.get_strategy())
  with strategy.scope():
    model = tiny_model(conditional)
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
  train, validation = datasets(conditional)
  log_dir = tmp_path / "tensorboard"
  history = model.fit(train, validation_data=validation, epochs=3,
                      steps_per_epoch=2, verbose=0, shuffle=False,
                      callbacks=tensorboard_callbacks(
                          str(log_dir), temperature=0.7, every_n_epochs=2,
                          seed=5))
  assert_scalars_match_history(log_dir, history.history, 3)

  grids = read_events(log_dir / "samples")["samples"]
  # Every second epoch (epoch index 1) and the last one (index 2).
  assert [step for step, _ in grids] == [1, 2]
  rows, columns = (NUM_CLASSES, 10) if conditional else (8, 8)
  height, width, channels = IMAGE_SHAPE
  for _, grid in grids:
    assert grid.dtype == np.uint8
    assert grid.shape == (rows * (height + 1) + 1, columns * (width + 1) + 1,
                          channels)
    assert grid.std() > 10  # Samples, not a constant or empty grid.
  # The last grid shows the trained model's samples at the fixed seed, and
  # the model changed since the first grid.
  final = draw_sample_grid(from_keras(model), [0.7], seed=5).image()
  np.testing.assert_array_equal(grids[-1][1], final)
  assert not np.array_equal(grids[0][1], grids[1][1])


class InterruptAt(keras.callbacks.Callback):
  """Raises in the first batch of `epoch` once: a run killed mid-epoch."""

  def __init__(self, epoch):
    super().__init__()
    self.epoch, self.fired, self._current = epoch, False, None

  def on_epoch_begin(self, epoch, logs=None):
    self._current = epoch

  def on_train_batch_end(self, batch, logs=None):
    if self._current == self.epoch and not self.fired:
      self.fired = True
      raise RuntimeError("interrupted")


def test_a_resumed_fit_logs_every_epoch_once(tmp_path):
  keras.utils.set_random_seed(0)
  model = tiny_model(conditional=False)
  model.compile()
  train, validation = datasets(conditional=False)
  log_dir = tmp_path / "tensorboard"
  interrupt = InterruptAt(2)
  fit_callbacks = [keras.callbacks.BackupAndRestore(str(tmp_path / "backup")),
                   interrupt, *tensorboard_callbacks(str(log_dir), seed=1)]
  with pytest.raises(RuntimeError, match="interrupted"):
    model.fit(train, validation_data=validation, epochs=4, steps_per_epoch=1,
              verbose=0, shuffle=False, callbacks=fit_callbacks)
  history = model.fit(train, validation_data=validation, epochs=4,
                      steps_per_epoch=1, verbose=0, shuffle=False,
                      callbacks=fit_callbacks)
  assert len(history.history["bits_per_dim"]) == 2  # Epochs 2 and 3 only.
  train_logged = read_events(log_dir / "train")["epoch_bits_per_dim"]
  assert sorted(step for step, _ in train_logged) == [0, 1, 2, 3]
  assert [np.float32(value) for step, value in train_logged if step >= 2] == [
      np.float32(value) for value in history.history["bits_per_dim"]]
  grids = read_events(log_dir / "samples")["samples"]
  assert sorted(step for step, _ in grids) == [0, 1, 2, 3]


def test_only_the_chief_writes(tmp_path, monkeypatch):
  model = tiny_model(conditional=True)
  for chief, log_dir in ((False, tmp_path / "worker"), (True, tmp_path / "chief")):
    monkeypatch.setattr(callbacks, "is_chief", lambda strategy, c=chief: c)
    callback = TensorBoardSamples(str(log_dir))
    callback.set_model(model)
    callback.set_params({"epochs": 1})
    callback.on_train_begin()
    callback.on_epoch_end(0, {"bits_per_dim": 5.0})
    callback.on_train_end()
    assert (log_dir / "samples").exists() == chief


def test_config_round_trip_and_bad_arguments(tmp_path):
  callback = TensorBoardSamples(str(tmp_path), temperature=0.5,
                                every_n_epochs=3, seed=2, num_columns=4)
  config = callback.get_config()
  assert config == {"log_dir": str(tmp_path), "temperature": 0.5,
                    "every_n_epochs": 3, "seed": 2, "num_columns": 4}
  assert TensorBoardSamples.from_config(config).get_config() == config
  for kwargs, message in [({"temperature": 0.0}, "temperature must be"),
                          ({"temperature": float("nan")}, "temperature must"),
                          ({"every_n_epochs": 0}, "every_n_epochs must be"),
                          ({"num_columns": 0}, "num_columns must be")]:
    with pytest.raises(ValueError, match=message):
      TensorBoardSamples(str(tmp_path), **kwargs)


# --- Fault tolerance: backup, best checkpoint and history across a resume. ---


class WorseValidation(keras.callbacks.Callback):
  """Adds 100 to the epoch's val_bits_per_dim: every epoch after it looks worse than any before."""

  def on_epoch_end(self, epoch, logs=None):
    logs["val_bits_per_dim"] += 100.0


def fault_tolerant_fit(run, epochs, *extra, after=(), ema_momentum=0.0):
  """fit with `extra` callbacks, then `fault_tolerance_callbacks`, then `after`: one process of a run."""
  model = tiny_model(conditional=False)
  model.compile(optimizer=default_optimizer(ema_momentum=ema_momentum))
  train, validation = datasets(conditional=False)
  fit_callbacks = [*extra, *callbacks.fault_tolerance_callbacks(
      run, callbacks.TrainingThroughput(8)), *after]
  return model.fit(train, validation_data=validation, epochs=epochs,
                   steps_per_epoch=1, verbose=0, shuffle=False,
                   callbacks=fit_callbacks)


def killed_after(run, finished_epochs):
  """A first process of the run, killed in the epoch after `finished_epochs`."""
  keras.utils.set_random_seed(0)
  with pytest.raises(RuntimeError, match="interrupted"):
    fault_tolerant_fit(run, finished_epochs + 2, InterruptAt(finished_epochs))


def history_epochs(run):
  return [int(value) for value in read_history_csv(run.history_csv)["epoch"]]


def test_the_best_checkpoint_keeps_its_value_across_a_resume(tmp_path):
  run = RunDirectory(str(tmp_path / "run"))
  killed_after(run, 2)
  best_weights = (tmp_path / "run" / "checkpoints" / "best.weights.h5"
                  ).read_bytes()
  record = read_json(run.best_record)
  assert record["epoch"] in (0, 1) and record["monitor"] == "val_bits_per_dim"
  # Keras's own ModelCheckpoint forgets its best value here and saves the
  # first resumed epoch, however bad.
  fault_tolerant_fit(run, 4, WorseValidation())
  assert (tmp_path / "run" / "checkpoints" / "best.weights.h5").read_bytes() == (
      best_weights)
  assert read_json(run.best_record) == record
  assert history_epochs(run) == [0, 1, 2, 3]


class TrainableWeightsAt(keras.callbacks.Callback):
  """Records the trainable weights at each epoch's begin and end, as the callbacks before it leave them."""

  def __init__(self):
    super().__init__()
    self.begin, self.end = {}, {}

  def on_epoch_begin(self, epoch, logs=None):
    self.begin[epoch] = [w.numpy() for w in self.model.trainable_weights]

  def on_epoch_end(self, epoch, logs=None):
    self.end[epoch] = [w.numpy() for w in self.model.trainable_weights]


def assert_weights_equal(actual, expected):
  assert len(actual) == len(expected)
  for a, e in zip(actual, expected):
    np.testing.assert_array_equal(a, e)


def test_averaged_weights_are_checkpointed_and_a_resume_trains_the_raw_ones(
    tmp_path):
  run = RunDirectory(str(tmp_path / "run"))
  keras.utils.set_random_seed(0)
  killed = TrainableWeightsAt()
  with pytest.raises(RuntimeError, match="interrupted"):
    fault_tolerant_fit(run, 4, InterruptAt(2), after=[killed],
                       ema_momentum=0.5)
  # Epochs end with the averages in the model (for the best checkpoint and
  # the backup) and begin with the raw weights, which differ.
  assert not all(np.array_equal(a, r)
                 for a, r in zip(killed.end[1], killed.begin[2]))
  record = read_json(run.best_record)
  best = tiny_model(conditional=False)
  best.load_weights(str(tmp_path / "run" / "checkpoints" / "best.weights.h5"))
  assert_weights_equal([w.numpy() for w in best.trainable_weights],
                       killed.end[record["epoch"]])

  resumed = TrainableWeightsAt()
  history = fault_tolerant_fit(run, 4, after=[resumed], ema_momentum=0.5)
  assert len(history.history["bits_per_dim"]) == 2  # Epochs 2 and 3.
  # The backup of epoch 1 held the averages in the model; epoch 2 still
  # trains from the raw weights epoch 1 ended with, as the killed run did.
  assert_weights_equal(resumed.begin[2], killed.begin[2])
  # fit ends with the averages in the model.
  assert_weights_equal([w.numpy() for w in history.model.trainable_weights],
                       resumed.end[3])


class StopAfter(keras.callbacks.Callback):
  """Stops `fit` at the end of `epoch` (as EarlyStopping would)."""

  def __init__(self, epoch):
    super().__init__()
    self.epoch = epoch

  def on_epoch_end(self, epoch, logs=None):
    if epoch == self.epoch:
      self.model.stop_training = True


def test_a_stopped_fit_ends_with_the_averages_and_a_first_fit_never_swaps(
    tmp_path):
  keras.utils.set_random_seed(0)
  recorded = TrainableWeightsAt()
  history = fault_tolerant_fit(RunDirectory(str(tmp_path / "run")), 4,
                               StopAfter(1), after=[recorded],
                               ema_momentum=0.5)
  assert len(history.history["bits_per_dim"]) == 2
  assert_weights_equal([w.numpy() for w in history.model.trainable_weights],
                       recorded.end[1])
  # A fresh optimizer's fit that starts at a later epoch (initial_epoch, no
  # backup) trains from the model's own weights, not the empty averages.
  model = tiny_model(conditional=False)
  model.compile(optimizer=default_optimizer(ema_momentum=0.5))
  initial = [w.numpy() for w in model.trainable_weights]
  started = TrainableWeightsAt()
  train, validation = datasets(conditional=False)
  model.fit(train, validation_data=validation, epochs=3, initial_epoch=2,
            steps_per_epoch=1, verbose=0,
            callbacks=[callbacks.AveragedWeights(), started])
  assert_weights_equal(started.begin[2], initial)


def test_history_agrees_with_the_older_backup_keras_falls_back_to(tmp_path):
  run = RunDirectory(str(tmp_path / "run"))
  killed_after(run, 3)
  assert history_epochs(run) == [0, 1, 2]
  (tmp_path / "run" / "backup" / "latest.weights.h5").write_bytes(b"damaged")
  history = fault_tolerant_fit(run, 5)
  # Keras resumed from the previous backup (after epoch 2, so at epoch 2):
  # epoch 2's row of the killed run is replaced, not repeated.
  assert len(history.history["bits_per_dim"]) == 3
  assert history_epochs(run) == [0, 1, 2, 3, 4]


def test_a_fresh_start_beside_an_empty_backup_starts_a_fresh_history(tmp_path):
  run = RunDirectory(str(tmp_path / "run"))
  keras.utils.set_random_seed(0)
  fault_tolerant_fit(run, 2)
  assert history_epochs(run) == [0, 1]
  shutil.rmtree(tmp_path / "run" / "backup")  # What train does at its end,
  (tmp_path / "run" / "backup").mkdir()  # and an empty backup/ since.
  fault_tolerant_fit(run, 2)
  assert history_epochs(run) == [0, 1]


def test_a_damaged_backup_is_named_with_the_ways_out(tmp_path):
  run = RunDirectory(str(tmp_path / "run"))
  killed_after(run, 1)
  (tmp_path / "run" / "backup" / "training_metadata.json").write_text("{ep")
  with pytest.raises(callbacks.DamagedBackupError,
                     match=r"backup of the interrupted run in .*run/backup is "
                     r"damaged.*--overwrite"):
    fault_tolerant_fit(run, 3)


def test_the_non_finite_loss_message_names_only_weights_that_exist(tmp_path):
  stop = callbacks.StopOnNonFiniteLoss(RunDirectory(str(tmp_path)))
  with pytest.raises(callbacks.NonFiniteLossError) as error:
    stop.on_train_batch_end(0, {"loss": float("nan")})
  message = str(error.value)
  assert "loss became nan at epoch 1, batch 1" in message
  assert "No epoch had finished, so no weights were saved" in message
  assert "backup" not in message and "best.weights.h5" not in message
  assert "same command resumes" not in message
  run = RunDirectory(str(tmp_path))
  (tmp_path / "backup").mkdir()
  (tmp_path / "backup" / "latest.weights.h5").write_bytes(b"state")
  with pytest.raises(callbacks.NonFiniteLossError) as error:
    stop.on_train_batch_end(3, {"loss": float("inf")})
  message = str(error.value)
  assert f"last finished epoch's state is in {run.backup}" in message
  assert "best.weights.h5" not in message  # None was saved.
  assert "a resumed run may change them" in message
