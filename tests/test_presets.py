"""Presets, the L2 penalty on scale parameters, and the cosine learning-rate schedule."""

import dataclasses
import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfp_realnvp import RealNVP
from tfp_realnvp import data
from tfp_realnvp import presets
from tfp_realnvp.training import TrainConfig


def scale_parameters(model):
  """The weight-normalization gains and the tanh scales of every s/t network."""
  return [w for w in model.trainable_weights
          if w.path.endswith(("/gain", "/scale"))]


def test_l2_penalty_is_the_official_nats_coefficient_in_bits_per_dim():
  coefficient = 0.3
  model = RealNVP((8, 8, 1), num_scales=2, num_coupling_layers=1,
                  num_res_blocks=1, filters=4, l2_regularization=coefficient)
  rng = np.random.default_rng(0)
  parameters = scale_parameters(model)
  # Per coupling: input conv + 2 block convs (gains) and the tanh scale.
  assert len(parameters) == 4 * len(model.coupling_networks)
  for weight in parameters:
    weight.assign(rng.normal(size=weight.shape).astype("float32"))
  squares = sum(float(np.sum(np.square(w.numpy()))) for w in parameters)
  expected = coefficient * squares / (64 * math.log(2.0))
  assert float(tf.add_n(model.losses)) == pytest.approx(expected, rel=1e-5)

  per_example = tf.constant([2.0, 3.0])
  assert float(model.compute_loss(y_pred=per_example)) == pytest.approx(
      2.5 + expected, rel=1e-5)
  # Only the scale parameters are penalized: their gradient is 2 c' g.
  with tf.GradientTape() as tape:
    loss = model.compute_loss(y_pred=per_example)
  gradients = tape.gradient(loss, parameters)
  for weight, gradient in zip(parameters, gradients):
    np.testing.assert_allclose(
        gradient, 2 * coefficient / (64 * math.log(2.0)) * weight.numpy(),
        rtol=1e-5)
  assert RealNVP.from_config(model.get_config()).l2_regularization == (
      coefficient)


def test_without_l2_there_is_no_penalty():
  model = RealNVP((8, 8, 1), num_scales=2, num_coupling_layers=1,
                  num_res_blocks=1, filters=4)
  assert not model.losses
  with pytest.raises(ValueError, match="l2_regularization must be >= 0"):
    RealNVP((8, 8, 1), l2_regularization=-1.0)


@pytest.mark.parametrize("name, shape, scales, blocks, filters", [
    ("cifar10", (32, 32, 3), 2, 8, 64), ("celeb_a", (64, 64, 3), 5, 2, 32),
    ("imagenet32", (32, 32, 3), 4, 4, 32),
    ("imagenet64", (64, 64, 3), 5, 2, 32),
    ("mnist", (28, 28, 1), 3, 2, 32), ("mnist_bundled", (28, 28, 1), 3, 2, 32)])
def test_presets_hold_the_paper_hyper_parameters(name, shape, scales, blocks,
                                                 filters):
  preset = presets.get(name)
  config = TrainConfig.from_preset(name, epochs=2)
  kwargs = config.model_kwargs()
  assert kwargs["image_shape"] == shape == data.image_shape(preset.dataset)
  assert (kwargs["num_scales"], kwargs["num_res_blocks"],
          kwargs["filters"]) == (scales, blocks, filters)
  assert kwargs["num_coupling_layers"] == 3
  assert preset.batch_size == 64 and preset.learning_rate == 1e-3
  assert preset.source
  assert config.dataset == preset.dataset and config.epochs == 2
  if name == "mnist_bundled":  # make demo's measured choices.
    assert kwargs["l2_regularization"] == 0.0
    assert config.gradient_clip_norm == 100.0
  else:
    assert kwargs["l2_regularization"] == 5e-5
    # The official clip, 100 on nats-per-image gradients, on bits/dim ones.
    assert config.gradient_clip_norm == pytest.approx(
        100 / (math.prod(shape) * math.log(2)))


def test_from_preset_builds_and_compiles_with_the_preset_optimizer():
  model = RealNVP.from_preset("mnist_bundled")
  assert model.image_shape == (28, 28, 1) and model.num_classes == 10
  assert model.l2_regularization == 0.0
  optimizer = model.optimizer
  assert isinstance(optimizer, keras.optimizers.Adam)
  assert optimizer.global_clipnorm == 100.0
  assert float(optimizer.learning_rate) == pytest.approx(1e-3)


  small = RealNVP.from_preset("cifar10", compile=False, num_res_blocks=1,
                              filters=8)
  assert small.image_shape == (32, 32, 3) and small.num_scales == 2
  assert small.filters == 8 and small.l2_regularization == 5e-5
  assert not small.compiled
  compiled = RealNVP.from_preset("cifar10", num_res_blocks=1, filters=8)
  assert compiled.optimizer.global_clipnorm == pytest.approx(
      100 / (3072 * math.log(2)))
  with pytest.raises(ValueError, match="Unknown preset 'cifar100'"):
    RealNVP.from_preset("cifar100")


def test_from_preset_spans_a_cosine_schedule_over_the_preset_epochs(
    monkeypatch):
  cosine = dataclasses.replace(presets.get("mnist_bundled"),
                               lr_schedule="cosine", epochs=5)
  monkeypatch.setitem(presets.PRESETS, "mnist_bundled", cosine)
  model = RealNVP.from_preset("mnist_bundled")
  schedule = model.optimizer._learning_rate  # pylint: disable=protected-access
  assert isinstance(schedule, keras.optimizers.schedules.CosineDecay)
  assert schedule.decay_steps == 5 * (4500 // 64)


def test_cosine_schedule_decays_from_the_peak_to_zero():
  config = TrainConfig(epochs=4, learning_rate=2e-3, lr_schedule="cosine")
  optimizer = config.optimizer(steps_per_epoch=25)
  schedule = optimizer._learning_rate  # pylint: disable=protected-access
  assert float(schedule(0)) == pytest.approx(2e-3)
  assert float(schedule(50)) == pytest.approx(1e-3)  # cos(pi/2): half-way.
  assert float(schedule(100)) == pytest.approx(0.0, abs=1e-12)
  constant = TrainConfig(learning_rate=2e-3).optimizer(steps_per_epoch=25)
  assert float(constant.learning_rate) == pytest.approx(2e-3)
  with pytest.raises(ValueError, match="lr_schedule must be one of"):
    TrainConfig(lr_schedule="step")
