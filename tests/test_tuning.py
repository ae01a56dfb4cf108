"""KerasTuner search over the RealNVP architecture on the bundled MNIST."""

import json

import keras_tuner
import numpy as np
import pytest
import tensorflow as tf

from tfp_realnvp import cli
from tfp_realnvp.loading import load_keras_model
from tfp_realnvp.tuning import RealNVPHyperModel


@pytest.mark.parametrize("tuner", ["random", "hyperband", "bayesian"])
def test_tiny_search_completes_orders_trials_and_exports_the_best(
    tmp_path, capsys, tuner):
  output_dir, export_dir = tmp_path / "tune", tmp_path / "saved_models"
  status = cli.main([
      "tune", "--dataset", "mnist_bundled", "--tuner", tuner,
      "--max-trials", "2", "--epochs", "1", "--steps-per-epoch", "3",
      "--batch-size", "16", "--num-scales", "1", "2",
      "--num-coupling-layers", "1", "1", "--num-res-blocks", "1", "1",
      "--filters", "4", "8", "--normalization", "batch_norm", "actnorm",
      "--dequantization", "uniform", "variational",
      "--dequantization-coupling-layers", "1", "--dequantization-filters", "4",
      "--output-dir", str(output_dir),
      "--export-dir", str(export_dir), "--model-name", "best",
      "--verbose", "0"])
  assert status == 0, capsys.readouterr().err[-2000:]
  rows = json.loads((output_dir / "summary.json").read_text())
  assert 1 <= len(rows) <= 2
  assert all(row["status"] == "COMPLETED" for row in rows)
  scores = [row["val_bits_per_dim"] for row in rows]
  assert scores == sorted(scores) and all(np.isfinite(scores))
  assert "val_bits_per_dim" in (output_dir / "summary.txt").read_text()
  best = load_keras_model(str(output_dir / "best.keras"))
  for name, value in rows[0]["hyperparameters"].items():
    if name != "learning_rate" and not name.startswith("tuner/"):
      assert getattr(best.config, name) == value
  assert {"normalization", "dequantization"} <= set(
      rows[0]["hyperparameters"])
  loaded = tf.saved_model.load(str(export_dir / "best" / "1"))
  images = np.full((2, 28, 28, 1), 40.5, np.float32)
  served = loaded.signatures["log_prob"](images=tf.constant(images))
  np.testing.assert_allclose(served["log_prob"].numpy(),
                             best.log_prob(images).numpy(), rtol=1e-5)


def test_scale_range_is_clipped_to_what_the_image_allows():
  hypermodel = RealNVPHyperModel(
      (28, 28, 1), search_space={"num_scales": (1, 6), "filters": (4, 8)})
  assert hypermodel.search_space["num_scales"] == (1, 3)
  hp = keras_tuner.HyperParameters()
  hp.Fixed("num_scales", 3)
  hp.Fixed("filters", 4)
  model = hypermodel.build(hp)
  assert model.config.num_scales == 3 and model.config.filters == 4
  with pytest.raises(ValueError, match="allows at most 3"):
    RealNVPHyperModel((28, 28, 1), search_space={"num_scales": (4, 5)})
  with pytest.raises(ValueError, match="learning_rate range"):
    RealNVPHyperModel((28, 28, 1), learning_rate=(1e-2, 1e-3))
