"""tfp_realnvp.config: ModelConfig declares each hyper-parameter once; RealNVP is built from it and old files still load."""

import dataclasses
import json
from pathlib import Path

import keras
import numpy as np
import pytest

import tfp_realnvp
from tfp_realnvp.architecture import COUPLINGS
from tfp_realnvp.architecture import NORMALIZATIONS
from tfp_realnvp.config import Choices
from tfp_realnvp.config import Interval
from tfp_realnvp.config import ModelConfig
from tfp_realnvp.dequantization import DEQUANTIZATIONS

DATA = Path(__file__).parent / "data"
#: Written by version 0.1.0 (commit d4346ed) from a 4x4x1 model of 3 classes
#: with every hyper-parameter away from its default.
OLD_KERAS_FILE = DATA / "v0_1_0_conditional.keras"
OLD_CHECKPOINT = DATA / "v0_1_0_conditional.weights.h5"
OLD_CONFIG = DATA / "v0_1_0_config.json"
OLD_LOG_PROB = DATA / "v0_1_0_log_prob.json"


def test_every_field_declares_help_a_type_and_a_valid_default():
  for field in dataclasses.fields(ModelConfig):
    assert field.metadata["help"], field.name
    assert field.type in (int, float, bool, str), field.name
    assert field.metadata["search"] in ("range", "choice"), field.name
    valid = field.metadata["valid"]
    assert (valid is None) == (field.type is bool), field.name
    assert isinstance(valid, Choices) == (field.type is str), field.name
    if valid is not None:
      assert field.default in valid, field.name


@pytest.mark.parametrize("name, value, message", [
    ("num_scales", 0, r"num_scales must be in \[1, inf\); got 0"),
    ("num_coupling_layers", 0, r"num_coupling_layers must be in \[1, inf\)"),
    ("num_res_blocks", -1, r"num_res_blocks must be in \[0, inf\)"),
    ("filters", 2.5, "filters must be an int; got 2.5"),
    ("filters", "32", "filters must be an int"),
    ("normalization", "batchnorm", r"normalization must be one of "
     r"\{batch_norm, actnorm, none\}; got 'batchnorm'"),
    ("normalization", False, "normalization must be one of"),
    ("dequantization", "gaussian", r"dequantization must be one of "
     r"\{uniform, variational\}; got 'gaussian'"),
    ("dequantization_coupling_layers", 0,
     r"dequantization_coupling_layers must be in \[1, inf\)"),
    ("dequantization_filters", 0, r"dequantization_filters must be in"),
    ("dequantization_res_blocks", -1, r"dequantization_res_blocks must be in"),
    ("num_scales", np.bool_(True), "num_scales must be an int"),
    ("batch_norm_momentum", 1.0, r"batch_norm_momentum must be in \[0, 1\)"),
    ("alpha", 0.5, r"alpha must be in \(0, 0.5\); got 0.5"),
    ("alpha", 0.0, r"alpha must be in \(0, 0.5\)"),
    ("l2_regularization", -1e-5, r"l2_regularization must be in \[0, inf\)"),
    ("l2_regularization", float("nan"), "l2_regularization must be in"),
    ("coupling", "affine_", r"coupling must be one of \{affine, additive\}; "
     "got 'affine_'"),
    ("coupling", 1, "coupling must be one of"),
    ("invertible_1x1_conv", "no", "invertible_1x1_conv must be True or False"),
])
def test_invalid_values_are_named_with_their_range(name, value, message):
  with pytest.raises(ValueError, match=message):
    ModelConfig(**{name: value})
  with pytest.raises(ValueError, match=message):
    tfp_realnvp.RealNVP((8, 8, 1), **{name: value})


def test_values_are_stored_as_the_field_type():
  config = ModelConfig(filters=8.0, l2_regularization=0,
                       invertible_1x1_conv=1)
  assert type(config.filters) is int and type(config.l2_regularization) is float
  assert config.invertible_1x1_conv is True
  assert ModelConfig(**config.to_dict()) == config
  # numpy scalars, e.g. from arrays or the tuner, become Python values.
  from_numpy = ModelConfig(num_scales=np.int64(2), alpha=np.float32(0.25),
                           invertible_1x1_conv=np.bool_(False))
  assert type(from_numpy.num_scales) is int and from_numpy.num_scales == 2
  assert type(from_numpy.alpha) is float and from_numpy.alpha == 0.25
  assert from_numpy.invertible_1x1_conv is False
  # Every coupling the configuration accepts has its bijector.
  coupling_field = {f.name: f for f in dataclasses.fields(ModelConfig)}["coupling"]
  assert set(coupling_field.metadata["valid"].values) == set(COUPLINGS)
  # So does every normalization and every dequantization.
  fields = {f.name: f for f in dataclasses.fields(ModelConfig)}
  assert set(fields["normalization"].metadata["valid"].values) == set(
      NORMALIZATIONS)
  assert set(fields["dequantization"].metadata["valid"].values) == set(
      DEQUANTIZATIONS)
  # The paper's recipe stays the default configuration.
  assert (ModelConfig().normalization, ModelConfig().dequantization) == (
      "batch_norm", "uniform")
  # Today's model is the paper's: affine couplings, no 1x1 convolutions.
  assert (ModelConfig().coupling, ModelConfig().invertible_1x1_conv) == (
      "affine", False)


def test_interval_bounds_and_text():
  assert str(Interval(0.0, 1.0, high_open=True)) == "[0, 1)"
  assert str(Interval(1)) == "[1, inf)"
  assert 0.0 in Interval(0.0, 1.0, high_open=True)
  assert 1.0 not in Interval(0.0, 1.0, high_open=True)
  assert 0.0 not in Interval(0.0, 0.5, low_open=True)
  assert float("inf") not in Interval(0.0)


def test_split_kwargs_separates_hyperparameters():
  hyperparameters, rest = ModelConfig.split_kwargs(
      {"filters": 8, "name": "m", "num_classes": 3, "alpha": 0.1})
  assert hyperparameters == {"filters": 8, "alpha": 0.1}
  assert rest == {"name": "m", "num_classes": 3}


def test_the_model_is_built_from_its_config_and_keyword_arguments():
  config = ModelConfig(num_scales=2, num_coupling_layers=1, num_res_blocks=1,
                       filters=4, normalization="none", alpha=0.1)
  model = tfp_realnvp.RealNVP((8, 8, 1), config=config, filters=6)
  assert model.config == dataclasses.replace(config, filters=6)
  assert not model.batch_norm_moments
  assert all(network.filters == 6 for network in model.coupling_networks)
  # get_config keeps the flat layout of earlier versions.
  saved = model.get_config()
  assert {key: saved[key] for key in ModelConfig.field_names()} == (
      model.config.to_dict())
  assert saved["image_shape"] == [8, 8, 1] and saved["num_classes"] is None
  assert tfp_realnvp.RealNVP.from_config(saved).config == model.config


def _old_expectations():
  record = json.loads(OLD_LOG_PROB.read_text())
  return (np.array(record["pixels"], np.float32), np.array(record["labels"]),
          np.array(record["log_prob"]))


def test_keras_files_of_version_0_1_0_still_load():
  pixels, labels, log_prob = _old_expectations()
  model = keras.models.load_model(OLD_KERAS_FILE)
  assert model.config == ModelConfig(
      num_scales=2, num_coupling_layers=1, num_res_blocks=1, filters=4,
      batch_norm_momentum=0.8, alpha=0.1, l2_regularization=1e-4)
  assert model.num_classes == 3 and model.image_shape == (4, 4, 1)
  np.testing.assert_allclose(model.log_prob(pixels, labels).numpy(), log_prob,
                             rtol=1e-6)


def test_config_json_and_checkpoints_of_version_0_1_0_still_load():
  pixels, labels, log_prob = _old_expectations()
  model = tfp_realnvp.loading.load_keras_model(OLD_CHECKPOINT, OLD_CONFIG)
  assert model.config.batch_norm_momentum == 0.8
  np.testing.assert_allclose(model.log_prob(pixels, labels).numpy(), log_prob,
                             rtol=1e-6)


@pytest.mark.parametrize("legacy, normalization", [
    (True, "batch_norm"), (False, "none"), (np.bool_(False), "none"),
    (1, "batch_norm")])
def test_the_batch_norm_flag_of_earlier_versions_becomes_normalization(
    legacy, normalization):
  model = tfp_realnvp.RealNVP((8, 8, 1), num_scales=1, num_coupling_layers=1,
                              num_res_blocks=0, filters=2, batch_norm=legacy)
  assert model.config.normalization == normalization
  assert "batch_norm" not in model.get_config()
  assert ModelConfig.upgraded({"batch_norm": legacy, "filters": 3}) == {
      "normalization": normalization, "filters": 3}


@pytest.mark.parametrize("fields, message", [
    ({"batch_norm": "yes"}, "batch_norm must be True or False; got 'yes'"),
    ({"batch_norm": 2}, "batch_norm must be True or False; got 2"),
    ({"batch_norm": True, "normalization": "actnorm"},
     "batch_norm and normalization are the same setting"),
])
def test_legacy_values_without_a_translation_are_named(fields, message):
  with pytest.raises(ValueError, match=message):
    ModelConfig.upgraded(fields)
  with pytest.raises(ValueError, match=message):
    tfp_realnvp.RealNVP((8, 8, 1), **fields)
