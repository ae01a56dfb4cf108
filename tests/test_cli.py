"""The `tfp-realnvp train` command end to end on a tiny budget (and `sample` on its model)."""

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from test_callbacks import assert_scalars_match_history
from test_callbacks import read_events
import tfp_realnvp
from tfp_realnvp import cli
from tfp_realnvp import presets
from tfp_realnvp.config import ModelConfig

TINY_FLAGS = ["--epochs", "1", "--steps-per-epoch", "3", "--batch-size", "16",
              "--num-scales", "2", "--num-coupling-layers", "1",
              "--num-res-blocks", "1", "--filters", "4", "--verbose", "0"]


def test_train_preset_sets_defaults_that_flags_override(tmp_path):
  # An earlier run left its history behind: --overwrite starts over.
  (tmp_path / "run").mkdir()
  (tmp_path / "run" / "history.csv").write_text(
      "epoch,bits_per_dim\n0,9.0\n1,8.0\n")
  stale_events = tmp_path / "run" / "tensorboard" / "train" / "events.old"
  stale_events.parent.mkdir(parents=True)
  stale_events.write_text("curves of the earlier run")
  status = cli.main(["train", "--preset", "mnist_bundled", "--output-dir",
                     str(tmp_path / "run"), "--export-dir",
                     str(tmp_path / "saved_models"),
                     "--l2-regularization", "1e-4", "--overwrite",
                     "--coupling", "additive", "--invertible-1x1-conv"]
                    + TINY_FLAGS)
  assert status == 0
  metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
  config = metrics["config"]
  # From the preset (the demo's configuration):
  assert config["dataset"] == "mnist_bundled" and config["conditional"]
  assert config["lr_schedule"] == "cosine"
  assert config["model"]["dequantization"] == "variational"
  assert config["gradient_clip_norm"] == 100.0
  # From the flags:
  assert config["epochs"] == 1 and config["model"]["filters"] == 4
  assert config["model"]["l2_regularization"] == 1e-4
  assert metrics["model_config"]["l2_regularization"] == 1e-4
  assert config["model"]["coupling"] == "additive"
  assert config["model"]["invertible_1x1_conv"] is True
  assert config["preset"] == "mnist_bundled"
  # The SavedModel carries the configuration and where it came from.
  info = json.loads((Path(metrics["saved_model"]) / "assets.extra" /
                     "tfp_realnvp.json").read_text())
  assert info["image_shape"] == [28, 28, 1] and info["num_classes"] == 10
  assert {key: info["model_config"][key] for key in metrics["model_config"]
          } == metrics["model_config"]
  assert info["provenance"]["dataset"] == "mnist_bundled"
  assert info["provenance"]["preset"] == "mnist_bundled"
  assert info["provenance"]["test_bits_per_dim"] == metrics[
      "test_bits_per_dim"]
  assert info["versions"]["tfp_realnvp"] == tfp_realnvp.__version__
  assert len(metrics["history"]["bits_per_dim"]) == 1
  assert not stale_events.exists()
  assert (tmp_path / "run" / "tensorboard" / "train").is_dir()


FRESH_PROCESS_LOAD = """
import json, sys
import numpy as np
import tensorflow as tf
loaded = tf.saved_model.load(sys.argv[1])
out = loaded.signatures["log_prob"](
    images=tf.fill([2, 28, 28, 1], 17.5), labels=tf.constant([3, 7], tf.int64))
assert "tensorflow_probability" not in sys.modules
assert "tfp_realnvp" not in sys.modules
print(json.dumps(out["log_prob"].numpy().tolist()))
"""


@pytest.fixture(scope="module")
def conditional_run(tmp_path_factory):
  """Runs `tfp-realnvp train --conditional` once on a tiny budget."""
  root = tmp_path_factory.mktemp("cli")
  output_dir, export_dir = root / "run", root / "saved_models"
  status = cli.main(["train", "--dataset", "mnist_bundled", "--conditional",
                     "--output-dir", str(output_dir), "--export-dir",
                     str(export_dir), "--model-name", "digits"] + TINY_FLAGS)
  return status, output_dir, export_dir


def test_train_writes_metrics_samples_model_and_saved_model(conditional_run):
  status, output_dir, export_dir = conditional_run
  assert status == 0
  metrics = json.loads((output_dir / "metrics.json").read_text())
  assert 1.0 < metrics["test_bits_per_dim"] < 20.0
  assert metrics["images_per_second"] > 0
  assert len(metrics["history"]["val_bits_per_dim"]) == 1

  samples = np.asarray(Image.open(output_dir / "samples.png"))
  # One row per class, ten samples per row, 28-pixel tiles with 1-pixel
  # borders, enlarged twice.
  assert samples.shape == (2 * (10 * 29 + 1), 2 * (10 * 29 + 1))
  curve = Image.open(output_dir / "learning_curve.png")
  assert curve.format == "PNG" and curve.width >= 300

  saved_model_path = export_dir / "digits" / "1"
  assert metrics["saved_model"] == str(saved_model_path)
  loaded = tf.saved_model.load(str(saved_model_path))
  assert {"log_prob", "sample", "serving_default"} <= set(loaded.signatures)
  model = keras.models.load_model(output_dir / "model.keras")
  images = tf.constant(np.full((2, 28, 28, 1), 17.5, np.float32))
  labels = np.array([3, 7])
  served = loaded.signatures["log_prob"](
      images=images, labels=tf.constant(labels, tf.int64))
  np.testing.assert_allclose(served["log_prob"].numpy(),
                             model.log_prob(images, labels).numpy(), rtol=1e-5)


def test_saved_model_runs_in_a_process_without_tfp_or_this_package(
    conditional_run):
  _, output_dir, export_dir = conditional_run
  result = subprocess.run(
      [sys.executable, "-c", FRESH_PROCESS_LOAD, str(export_dir / "digits" / "1")],
      capture_output=True, text=True, timeout=300, check=False,
      cwd=str(output_dir))
  assert result.returncode == 0, result.stderr[-2000:]
  served = json.loads(result.stdout.strip().splitlines()[-1])
  model = keras.models.load_model(output_dir / "model.keras")
  expected = model.log_prob(np.full((2, 28, 28, 1), 17.5, np.float32),
                            np.array([3, 7])).numpy()
  np.testing.assert_allclose(served, expected, rtol=1e-5)


def test_train_logs_bits_per_dim_and_samples_to_tensorboard(conditional_run):
  _, output_dir, _ = conditional_run
  metrics = json.loads((output_dir / "metrics.json").read_text())
  log_dir = output_dir / "tensorboard"
  assert_scalars_match_history(log_dir, metrics["history"], 1)
  (step, grid), = read_events(log_dir / "samples")["samples"]
  assert step == 0
  # The last epoch's grid is samples.png (same model, seed and temperature),
  # there enlarged twice: a row of 10 digits per class.
  assert grid.shape == (10 * 29 + 1, 10 * 29 + 1, 1)
  samples = np.asarray(Image.open(output_dir / "samples.png"))
  np.testing.assert_array_equal(samples[::2, ::2], grid[..., 0])


def test_sample_command_reproduces_train_samples_png(conditional_run,
                                                     tmp_path, capsys):
  _, output_dir, _ = conditional_run
  # Its defaults (seed 0, temperature 0.8, a row of 10 per class) are train's.
  assert cli.main(["sample", str(output_dir / "model.keras"), "--output",
                   str(tmp_path / "again.png")]) == 0
  captured = capsys.readouterr()
  summary = json.loads(captured.out)  # Alone on stdout: progress is on stderr.
  assert "100/100" in captured.err
  assert (summary["rows"], summary["columns"]) == (10, 10)
  np.testing.assert_array_equal(
      np.asarray(Image.open(tmp_path / "again.png")),
      np.asarray(Image.open(output_dir / "samples.png")))


def test_filesystem_errors_name_the_path_without_a_traceback(
    conditional_run, tmp_path, capsys):
  _, output_dir, _ = conditional_run
  a_file = tmp_path / "a_file"
  a_file.write_text("mine")
  best = str(output_dir / "checkpoints" / "best.weights.h5")
  for argv, named in [
      (["export", str(output_dir / "model.keras"), "--export-dir",
        str(a_file)], str(a_file)),
      (["evaluate", best, "--config", str(tmp_path / "missing.json")],
       str(tmp_path / "missing.json")),
      (["sample", str(output_dir / "model.keras"), "--output",
        str(tmp_path)], str(tmp_path)),
      (["sample", str(output_dir / "model.keras"), "--output",
        str(output_dir / "model.keras")], "model.keras"),
  ]:
    assert cli.main(argv + ["--verbose", "0"] * (argv[0] != "export")) == 2
    error = capsys.readouterr().err
    assert error.startswith("tfp-realnvp: error: ") and named in error, argv
    assert "Traceback" not in error
  assert a_file.read_text() == "mine"
  keras.models.load_model(output_dir / "model.keras")  # Not replaced.


def test_train_prints_a_json_summary(tmp_path, capsys):
  assert cli.main(["train", "--output-dir", str(tmp_path / "run"),
                   "--export-dir", str(tmp_path / "sm"),
                   "--no-tensorboard"] + TINY_FLAGS) == 0
  summary = json.loads(capsys.readouterr().out)
  metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
  assert summary["test_bits_per_dim"] == metrics["test_bits_per_dim"]
  assert not (tmp_path / "run" / "tensorboard").exists()


def test_a_second_export_gets_the_next_version(tmp_path):
  for _ in range(2):
    assert cli.main(["train", "--output-dir", str(tmp_path / "run"),
                     "--export-dir", str(tmp_path / "sm"), "--model-name",
                     "m", "--overwrite"] + TINY_FLAGS) == 0
  assert sorted(os.listdir(tmp_path / "sm" / "m")) == ["1", "2"]


def test_missing_data_set_is_a_clear_error_not_a_traceback(tmp_path, capsys):
  status = cli.main(["train", "--dataset", "mnist", "--data-dir",
                     str(tmp_path / "empty"), "--no-download", "--output-dir",
                     str(tmp_path / "run")] + TINY_FLAGS)
  assert status == 2
  error = capsys.readouterr().err
  assert "--data-dir" in error and "mnist_bundled" in error


@pytest.mark.parametrize("flag, value", [("--epochs", "0"),
                                         ("--batch-size", "0"),
                                         ("--tensorboard-every-n-epochs", "0")])
def test_non_positive_sizes_are_rejected(tmp_path, capsys, flag, value):
  flags = TINY_FLAGS + [flag, value]
  assert cli.main(["train", "--output-dir", str(tmp_path)] + flags) == 2
  assert f"{flag[2:].replace('-', '_')} must be >= 1" in capsys.readouterr().err


@pytest.mark.parametrize("flag, value, message", [
    ("--gradient-clip-norm", "inf", "gradient_clip_norm must be finite and > 0"),
    ("--learning-rate", "nan", "learning_rate must be finite and >= 0"),
    ("--num-scales", "9", "num_scales"),
])
def test_invalid_flags_are_named_before_anything_is_written(
    tmp_path, capsys, flag, value, message):
  assert cli.main(["train", "--output-dir", str(tmp_path / "run"),
                   "--export-dir", str(tmp_path / "sm")] + TINY_FLAGS
                  + [flag, value]) == 2
  assert message in capsys.readouterr().err
  assert list(tmp_path.iterdir()) == []


def test_non_positive_temperature_is_rejected(tmp_path, capsys):
  assert cli.main(["train", "--output-dir", str(tmp_path), "--temperature",
                   "0"] + TINY_FLAGS) == 2
  assert "temperature must be finite and > 0" in capsys.readouterr().err


def test_help_lists_the_train_flags(capsys):
  with pytest.raises(SystemExit) as exit_info:
    cli.main(["train", "--help"])
  assert exit_info.value.code == 0
  out = capsys.readouterr().out
  for flag in ("--dataset", "--epochs", "--batch-size", "--conditional",
               "--output-dir", "--no-tensorboard",
               "--tensorboard-every-n-epochs"):
    assert flag in out
  with pytest.raises(SystemExit):
    cli.main(["sample", "--help"])
  out = capsys.readouterr().out
  for flag in ("--output", "--num-samples", "--labels", "--temperature",
               "--seed", "--num-columns", "--config"):
    assert flag in out


@pytest.mark.parametrize("command", ["train", "tune"])
def test_help_lists_every_model_config_field_with_its_help(command, capsys):
  with pytest.raises(SystemExit) as exit_info:
    cli.main([command, "--help"])
  assert exit_info.value.code == 0
  text = " ".join(capsys.readouterr().out.split())
  for field in dataclasses.fields(ModelConfig):
    assert "--" + field.name.replace("_", "-") in text, field.name
    assert " ".join(field.metadata["help"].split()) in text, field.name


def test_every_model_config_field_is_settable_from_the_command_line(
    monkeypatch):
  received = {}

  def fake_train(config):
    received["config"] = config
    return dict.fromkeys(("test_bits_per_dim", "training_seconds",
                          "images_per_second", "saved_model"))

  monkeypatch.setattr(cli, "train", fake_train)
  cli.main(["train", "--preset", "mnist_bundled", "--num-scales", "2",
            "--num-coupling-layers", "1", "--num-res-blocks", "0",
            "--filters", "8", "--normalization", "actnorm",
            "--batch-norm-momentum", "0.5", "--alpha", "0.1",
            "--l2-regularization", "1e-5", "--coupling", "additive",
            "--invertible-1x1-conv", "--dequantization", "variational",
            "--dequantization-coupling-layers", "2",
            "--dequantization-filters", "6",
            "--dequantization-res-blocks", "0"])
  config = received["config"]
  assert config.model == ModelConfig(
      num_scales=2, num_coupling_layers=1, num_res_blocks=0, filters=8,
      normalization="actnorm", batch_norm_momentum=0.5, alpha=0.1,
      l2_regularization=1e-5, coupling="additive", invertible_1x1_conv=True,
      dequantization="variational", dequantization_coupling_layers=2,
      dequantization_filters=6, dequantization_res_blocks=0)
  assert config.preset == "mnist_bundled" and config.conditional
  # Without flags, the preset's architecture.
  cli.main(["train", "--preset", "cifar10"])
  assert received["config"].model == presets.get("cifar10").model


def test_a_bad_model_value_is_an_error_naming_the_range(capsys):
  assert cli.main(["train", "--alpha", "0.7"]) == 2
  assert ("tfp-realnvp: error: alpha must be in (0, 0.5); got 0.7." in
          capsys.readouterr().err)


def test_tune_flags_fix_one_value_and_search_several(monkeypatch):
  received = {}

  def fake_tune(config):
    received["config"] = config
    return {"trials": [], "best_hyperparameters": {}, "test_bits_per_dim": 0,
            "saved_model": ""}

  monkeypatch.setattr(cli, "tune", fake_tune)
  monkeypatch.setattr(cli, "summary_table", lambda rows: "")
  cli.main(["tune", "--num-scales", "1", "3", "--filters", "8",
            "--alpha", "0.05", "0.1", "--no-download"])
  config = received["config"]
  assert config.search_space == {
      "num_scales": (1, 3), "num_coupling_layers": (1, 3),
      "num_res_blocks": (1, 4), "alpha": (0.05, 0.1)}
  assert config.model.filters == 8
  assert config.model.normalization == ModelConfig().normalization
  assert not config.download
  cli.main(["tune", "--coupling", "affine", "additive",
            "--invertible-1x1-conv", "true", "--no-download"])
  assert received["config"].search_space["coupling"] == ("affine", "additive")
  assert received["config"].model.invertible_1x1_conv is True
  cli.main(["tune", "--normalization", "batch_norm", "actnorm",
            "--dequantization", "uniform", "variational", "--no-download"])
  assert received["config"].search_space["normalization"] == (
      "batch_norm", "actnorm")
  assert received["config"].search_space["dequantization"] == (
      "uniform", "variational")
