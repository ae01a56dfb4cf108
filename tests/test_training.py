"""tfp_realnvp.training: training on the bundled real MNIST lowers the held-out likelihood cost; the train job survives SIGKILL, stops cleanly on a non-finite loss, and writes to any TF filesystem."""

import dataclasses
import json
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfp_realnvp
from test_callbacks import read_events
from tfp_realnvp import callbacks
from tfp_realnvp import data
from tfp_realnvp import training
from tfp_realnvp.cli import main
from tfp_realnvp.config import ModelConfig
from tfp_realnvp.data import make_pipeline
from tfp_realnvp.loading import load_keras_model
from tfp_realnvp.runs import RunDirectory

TRAINING_STEPS = 300
BATCH_SIZE = 64


def test_short_training_on_real_mnist_reaches_a_figure_a_broken_model_cannot():
  keras.utils.set_random_seed(0)
  train = make_pipeline(data.load("mnist_bundled", "train"), BATCH_SIZE,
                        training=True).repeat()
  test = make_pipeline(data.load("mnist_bundled", "test"), 250,
                       training=False)
  model = tfp_realnvp.RealNVP((28, 28, 1), num_scales=2, num_coupling_layers=2,
                              num_res_blocks=1, filters=16)
  model.compile()
  before = model.evaluate(test, verbose=0, return_dict=True)["bits_per_dim"]
  history = model.fit(train, steps_per_epoch=TRAINING_STEPS // 3, epochs=3,
                      verbose=0)
  after = model.evaluate(test, verbose=0, return_dict=True)["bits_per_dim"]
  # An untrained flow (identity couplings, batch norm at its initial
  # statistics) measured 10.9 bits/dim here.
  assert before > 5.0
  # Trained (measured 2.25 after 300 steps): uniform noise is 8 bits/dim; a
  # model missing the logit Jacobian lands ~5 bits/dim higher; one with a sign
  # error in a log-determinant goes below the ~1 bits/dim of the best models.
  assert 1.0 < after < 2.5
  losses = history.history["bits_per_dim"]
  assert losses[-1] < losses[0]


# --- The train job under faults. ---

SMALL = dict(dataset="mnist_bundled", batch_size=16, num_scales=2,
             num_coupling_layers=1, num_res_blocks=1, filters=4, verbose=0)


def config(tmp_path, **overrides):
  options = dict(SMALL, output_dir=str(tmp_path / "run"),
                 export_dir=str(tmp_path / "saved_models"))
  options.update(overrides)
  return train_config(**options)


def train_config(**fields):
  """A `TrainConfig` from flat fields: `ModelConfig` fields go into `model`."""
  hyperparameters, fields = ModelConfig.split_kwargs(fields)
  return training.TrainConfig(model=ModelConfig(**hyperparameters), **fields)


def train_command(cfg):
  flags = []
  fields = dataclasses.asdict(cfg)
  fields.update(fields.pop("model"))
  for key, value in fields.items():
    flag = "--" + key.replace("_", "-")
    if isinstance(value, bool):
      flags.append(flag if value else "--no-" + flag[2:])
    elif isinstance(value, tuple):
      flags += [flag, *map(str, value)] if value else []
    elif value != "":
      flags += [flag, str(value)]
  return [sys.executable, "-m", "tfp_realnvp.cli", "train"] + flags


def wait_for_backup_epoch(metadata_path, process, epoch, timeout=240):
  deadline = time.monotonic() + timeout
  while time.monotonic() < deadline:
    assert process.poll() is None, "training ended before it could be killed"
    try:
      with open(metadata_path, encoding="utf-8") as file:
        if json.load(file)["epoch"] >= epoch:
          return
    except (OSError, ValueError, KeyError):
      pass
    time.sleep(0.05)
  raise AssertionError("no backup appeared in time")


def test_a_killed_run_resumes_from_the_last_finished_epoch(tmp_path,
                                                           monkeypatch):
  cfg = config(tmp_path, epochs=4, steps_per_epoch=40)
  backup = tmp_path / "run" / "backup"
  process = subprocess.Popen(train_command(cfg), stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
  try:
    wait_for_backup_epoch(backup / "training_metadata.json", process, 1)
    time.sleep(0.5)
  finally:
    process.send_signal(signal.SIGKILL)
    process.wait()
  assert not (tmp_path / "run" / "metrics.json").exists()
  finished = json.loads((backup / "training_metadata.json").read_text())["epoch"]
  assert 1 <= finished < cfg.epochs  # Killed mid-training.
  backed_up = load_keras_model(str(backup / "latest.weights.h5"),
                                 str(tmp_path / "run" / "config.json"))
  expected_weights = backed_up.get_weights()

  started_with = {}
  original = callbacks.TrainingThroughput.on_epoch_begin

  def record_weights(self, epoch, logs=None):
    # The first epoch begins after every callback's on_train_begin, the
    # backup's restore among them.
    started_with.setdefault("weights", self.model.get_weights())
    return original(self, epoch, logs)

  monkeypatch.setattr(callbacks.TrainingThroughput, "on_epoch_begin",
                      record_weights)
  metrics = training.train(cfg)  # The same command again.
  assert metrics["first_epoch"] == finished
  for expected, actual in zip(expected_weights, started_with["weights"]):
    np.testing.assert_array_equal(actual, expected)
  epochs = [int(line.split(",")[0]) for line in
            (tmp_path / "run" / "history.csv").read_text().splitlines()[1:]]
  assert epochs == list(range(cfg.epochs))
  # TensorBoard's curves too: the killed run's epochs and the resumed ones.
  logged = read_events(tmp_path / "run" / "tensorboard" / "train")
  assert sorted(step for step, _ in logged["epoch_bits_per_dim"]) == list(
      range(cfg.epochs))
  assert not backup.exists()  # Deleted once training completed.


def test_non_finite_loss_stops_with_a_clear_error_and_keeps_checkpoints(
    tmp_path, monkeypatch, capsys):
  original = tfp_realnvp.RealNVP.compute_loss

  def loss_turning_nan(self, *args, **kwargs):
    loss = original(self, *args, **kwargs)
    broken = self.optimizer.iterations >= 25
    return tf.where(broken, tf.constant(np.nan, loss.dtype), loss)

  monkeypatch.setattr(tfp_realnvp.RealNVP, "compute_loss", loss_turning_nan)
  cfg = config(tmp_path, epochs=3, steps_per_epoch=20)
  status = main(train_command(cfg)[3:])  # In-process, after "-m module".
  assert status == 2
  error = capsys.readouterr().err
  assert "loss became nan at epoch 2" in error
  best = tmp_path / "run" / "checkpoints" / "best.weights.h5"
  assert best.exists()
  model = load_keras_model(str(best), str(tmp_path / "run" / "config.json"))
  assert all(np.isfinite(w).all() for w in model.get_weights())
  images = np.full((2, 28, 28, 1), 30.5, np.float32)
  assert np.isfinite(model.log_prob(images).numpy()).all()
  metadata = json.loads(
      (tmp_path / "run" / "backup" / "training_metadata.json").read_text())
  assert metadata["epoch"] == 1  # The last finished, finite epoch.
  assert not (tmp_path / "run" / "model.keras").exists()


def test_outputs_may_live_on_any_tensorflow_filesystem(tmp_path):
  root = "ram://fault_tolerance_test"
  cfg = train_config(**dict(
      SMALL, epochs=1, steps_per_epoch=2, output_dir=f"{root}/run",
      export_dir=f"{root}/saved_models", model_name="m"))
  metrics = training.train(cfg)
  for name in ("config.json", "model.keras", "metrics.json", "samples.png",
               "history.csv", "checkpoints/best.weights.h5"):
    assert tf.io.gfile.exists(f"{root}/run/{name}"), name
  assert metrics["saved_model"] == f"{root}/saved_models/m/1"
  loaded = tf.saved_model.load(metrics["saved_model"])
  out = loaded.signatures["log_prob"](images=tf.fill([1, 28, 28, 1], 3.5))
  assert np.isfinite(out["log_prob"].numpy()).all()


# --- A run directory belongs to one configuration; outputs are checked first. ---


def test_a_rerun_with_another_configuration_stops_before_touching_the_run(
    tmp_path, capsys):
  conditional = config(tmp_path, conditional=True)
  run = tmp_path / "run"
  run.mkdir()
  RunDirectory(str(run)).claim(conditional.identity())
  # What a killed conditional run leaves: its backup, config and history.
  (run / "backup").mkdir()
  (run / "backup" / "latest.weights.h5").write_bytes(b"conditional weights")
  (run / "config.json").write_text('{"num_classes": 10}')
  (run / "history.csv").write_text("epoch,loss\n0,3.0\n")
  before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
  status = main(train_command(config(tmp_path, conditional=False))[3:])
  assert status == 2
  error = capsys.readouterr().err
  assert error.startswith("tfp-realnvp: error: ")
  assert "conditional: True in the run, False now" in error
  assert "--output-dir" in error and "--overwrite" in error
  assert {p: p.read_bytes() for p in run.rglob("*") if p.is_file()} == before
  assert not (tmp_path / "saved_models").exists()


def test_an_unwritable_export_dir_fails_before_training(tmp_path, capsys,
                                                        monkeypatch):
  def no_fit(*args, **kwargs):
    raise AssertionError("fit ran")

  monkeypatch.setattr(tfp_realnvp.RealNVP, "fit", no_fit)
  (tmp_path / "a_file").write_text("")
  cfg = config(tmp_path, export_dir=str(tmp_path / "a_file"))
  assert main(train_command(cfg)[3:]) == 2
  error = capsys.readouterr().err
  assert "tfp-realnvp: error: Cannot write to --export-dir" in error
  assert str(tmp_path / "a_file") in error
  assert not (tmp_path / "run" / "run.json").exists()
  cfg = config(tmp_path, output_dir="/proc/run")
  assert main(train_command(cfg)[3:]) == 2
  assert "Cannot write to --output-dir '/proc/run'" in capsys.readouterr().err


def test_a_failed_export_keeps_the_trained_model_and_its_figures(
    tmp_path, monkeypatch):
  def full_disk(*args, **kwargs):
    raise OSError("No space left on device")

  monkeypatch.setattr(training, "export_saved_model", full_disk)
  cfg = config(tmp_path, epochs=1, steps_per_epoch=2, tensorboard=False)
  with pytest.raises(OSError, match=r"export to .* failed \(No space left on "
                     r"device\)\. The trained model is kept in .*model.keras"
                     r".*tfp-realnvp export"):
    training.train(cfg)
  metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
  assert metrics["saved_model"] is None
  assert np.isfinite(metrics["test_bits_per_dim"])
  model = keras.models.load_model(tmp_path / "run" / "model.keras")
  assert model.count_params() == metrics["num_parameters"]


def test_a_run_stopped_after_its_last_epoch_finishes_without_training_again(
    tmp_path, monkeypatch):
  def broken_png(*args, **kwargs):
    raise OSError("disk full")

  cfg = config(tmp_path, epochs=1, steps_per_epoch=2, tensorboard=False)
  with monkeypatch.context() as patch:
    patch.setattr(training, "write_sample_grid", broken_png)
    with pytest.raises(OSError, match="disk full"):
      training.train(cfg)
  best = (tmp_path / "run" / "checkpoints" / "best.weights.h5").read_bytes()
  history = (tmp_path / "run" / "history.csv").read_text()
  metrics = training.train(cfg)  # The same command again.
  assert metrics["first_epoch"] is None  # No epoch left to train.
  assert (tmp_path / "run" / "checkpoints" / "best.weights.h5").read_bytes() == (
      best)
  assert (tmp_path / "run" / "history.csv").read_text() == history
  assert metrics["saved_model"] and (tmp_path / "run" / "samples.png").exists()
  assert not (tmp_path / "run" / "backup").exists()
