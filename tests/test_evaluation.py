"""Test bits/dim over a split: analytic values, Keras vs SavedModel, bad inputs, the CLI."""

import json
import math

import keras
import numpy as np
import pytest

from tfp_realnvp import RealNVP
from tfp_realnvp import cli
from tfp_realnvp import data
from tfp_realnvp import evaluation
from tfp_realnvp import loading
from tfp_realnvp.export import export_saved_model

ALPHA = 0.05
NUM_IMAGES = 64


def expected_pixel_nats(pixel_values, bins=4000):
  """E_u[-log p(v + u)], u ~ U[0, 1), of one pixel under logit + N(0, 1), by the midpoint rule."""
  u = (np.arange(bins) + 0.5) / bins
  x = np.asarray(pixel_values, np.float64)[:, None] + u[None, :]
  y = ALPHA + (1 - 2 * ALPHA) * x / 256
  z = np.log(y) - np.log1p(-y)
  nats = (0.5 * z**2 + 0.5 * math.log(2 * math.pi) + np.log(y * (1 - y))
          - math.log((1 - 2 * ALPHA) / 256))
  return nats.mean(axis=1)


def expected_bits_per_dim(count=NUM_IMAGES):
  """Exact E_u[bits/dim] of the first `count` bundled test digits under the identity flow."""
  images, _ = data.bundled_mnist_arrays("test")
  per_pixel = expected_pixel_nats(np.arange(256))
  return per_pixel[images[:count].reshape(count, -1)].sum(axis=1) / (
      784 * math.log(2))


def bundled_batches(count=NUM_IMAGES, batch_size=32):
  return data.make_pipeline(data.load("mnist_bundled", "test").take(count),
                            batch_size, training=False)


@pytest.fixture(scope="module")
def identity_flow_path(tmp_path_factory):
  """An untrained model without batch norm: every coupling is the identity,
  so the density is the logit transform's pushforward of N(0, I)."""
  model = RealNVP((28, 28, 1), num_scales=2, num_coupling_layers=1,
                  num_res_blocks=0, filters=4, normalization="none")
  path = tmp_path_factory.mktemp("identity") / "model.keras"
  model.save(path)
  return str(path)


def test_identity_flow_matches_the_analytic_expected_bits_per_dim(
    identity_flow_path):
  scorer = loading.load(identity_flow_path)
  result = evaluation.evaluate_bits_per_dim(scorer, bundled_batches(),
                                            num_samples=4, verbose=0)
  exact = expected_bits_per_dim()
  assert result["num_images"] == NUM_IMAGES and result["num_samples"] == 4
  assert result["dequantization"] == "uniform"
  # Monte Carlo error of one image's mean over 4 x 784 draws is ~0.005 bits.
  np.testing.assert_allclose(result["per_image"], exact, atol=0.03)
  assert abs(result["bits_per_dim"] - exact.mean()) < 0.004
  assert result["standard_error"] == pytest.approx(
      np.std(result["per_image"], ddof=1) / math.sqrt(NUM_IMAGES))
  # The images differ, so the split's spread is far above the noise.
  assert result["standard_error"] > 0.01


def test_more_noise_draws_bring_each_image_closer_to_its_expectation(
    identity_flow_path):
  scorer = loading.load(identity_flow_path)
  exact = expected_bits_per_dim()
  errors = {}
  for draws in (1, 16):
    result = evaluation.evaluate_bits_per_dim(scorer, bundled_batches(),
                                              num_samples=draws, verbose=0)
    errors[draws] = np.sqrt(np.mean((result["per_image"] - exact)**2))
  # Root-mean-square error falls as 1/sqrt(draws): 4x from 1 to 16 draws.
  assert 2.5 < errors[1] / errors[16] < 6.5


@pytest.fixture(scope="module")
def conditional_paths(tmp_path_factory):
  """A conditional model with a variational dequantization and random (non-identity) weights, as .keras and as SavedModel."""
  keras.utils.set_random_seed(5)
  model = RealNVP((28, 28, 1), num_scales=2, num_coupling_layers=1,
                  num_res_blocks=1, filters=8, num_classes=10,
                  dequantization="variational",
                  dequantization_coupling_layers=2, dequantization_filters=4)
  rng = np.random.default_rng(5)
  for variable in model.trainable_variables:
    variable.assign(variable.numpy() + 0.05 * rng.standard_normal(
        variable.shape).astype(variable.dtype))
  root = tmp_path_factory.mktemp("conditional")
  keras_path = str(root / "model.keras")
  model.save(keras_path)
  saved_model = export_saved_model(model, str(root / "saved_models"), "m")
  return keras_path, saved_model


def test_saved_model_and_keras_file_give_the_same_figures(conditional_paths):
  keras_path, saved_model = conditional_paths
  results = [evaluation.evaluate_bits_per_dim(
      loading.load(path), bundled_batches(), num_samples=2, seed=9,
      verbose=0) for path in (keras_path, saved_model)]
  np.testing.assert_allclose(results[0]["per_image"],
                             results[1]["per_image"], rtol=1e-5)
  other_seed = evaluation.evaluate_bits_per_dim(
      loading.load(keras_path), bundled_batches(), num_samples=2,
      seed=10, verbose=0)
  assert not np.allclose(other_seed["per_image"], results[0]["per_image"],
                         rtol=1e-5)


def test_labels_matter_to_a_conditional_model(conditional_paths):
  keras_path, _ = conditional_paths
  scorer = loading.load(keras_path)
  shifted = bundled_batches().map(lambda x, y: (x, (y + 1) % 10))
  right = evaluation.evaluate_bits_per_dim(scorer, bundled_batches(),
                                           verbose=0)
  wrong = evaluation.evaluate_bits_per_dim(scorer, shifted, verbose=0)
  assert not np.allclose(right["per_image"], wrong["per_image"], rtol=1e-4)


def test_incompatible_models_and_arguments_raise(conditional_paths,
                                                 identity_flow_path,
                                                 tmp_path):
  _, saved_model = conditional_paths
  with pytest.raises(ValueError, match="no class labels"):
    evaluation.evaluate(saved_model, "celeb_a")
  with pytest.raises(ValueError, match=r"shape \(28, 28, 1\).*\(32, 32, 3\)"):
    evaluation.evaluate(identity_flow_path, "cifar10")
  with pytest.raises(ValueError, match="num_samples must be an int >= 1"):
    evaluation.evaluate(identity_flow_path, "mnist_bundled", num_samples=0)
  with pytest.raises(ValueError, match="without saved_model.pb"):
    loading.load(tmp_path)
  with pytest.raises(OSError, match="No model file"):
    loading.load(tmp_path / "missing.keras")


def test_cli_evaluate_prints_mean_and_standard_error(conditional_paths,
                                                     capsys):
  _, saved_model = conditional_paths
  status = cli.main(["evaluate", saved_model, "--dataset", "mnist_bundled",
                     "--num-samples", "2", "--batch-size", "250",
                     "--verbose", "0"])
  assert status == 0
  summary = json.loads(capsys.readouterr().out)
  assert summary["split"] == "test" and summary["num_images"] == 500
  assert summary["num_samples"] == 2
  assert summary["dequantization"] == "variational"
  assert 0 < summary["standard_error"] < 0.1 * summary["bits_per_dim"]


def test_cli_evaluate_names_a_shape_the_saved_model_rejects(
    conditional_paths, capsys):
  _, saved_model = conditional_paths
  with tfds_mock():
    status = cli.main(["evaluate", saved_model, "--dataset", "cifar10",
                       "--verbose", "0"])
  assert status == 2
  error = capsys.readouterr().err
  assert error.startswith("tfp-realnvp: error:")
  assert "28, 28, 1" in error and "32, 32, 3" in error


def tfds_mock():
  import tensorflow_datasets as tfds  # pylint: disable=import-outside-toplevel
  return tfds.testing.mock_data(num_examples=4)


def test_non_finite_bits_per_dim_is_an_error_naming_the_model_file(
    tmp_path, capsys):
  model = RealNVP((28, 28, 1), num_scales=2, num_coupling_layers=1,
                  num_res_blocks=0, filters=4)
  kernel = next(w for w in model.weights if w.path.endswith("kernel"))
  kernel.assign(np.full(kernel.shape, np.nan))
  path = tmp_path / "diverged.keras"
  model.save(path)
  status = cli.main(["evaluate", str(path), "--batch-size", "250",
                     "--verbose", "0"])
  assert status == 2
  captured = capsys.readouterr()
  assert captured.out == ""
  assert captured.err.startswith(f"tfp-realnvp: error: {path}: the model "
                                 f"gives non-finite bits/dim for 500 of 500")
