"""tfp_realnvp.presets: the paper's hyper-parameters, and models and optimizers built from them."""

import dataclasses
import math

import keras
import pytest

from tfp_realnvp import RealNVP
from tfp_realnvp import data
from tfp_realnvp import presets
from tfp_realnvp.training import TrainConfig


@pytest.mark.parametrize("name, shape, scales, blocks, filters", [
    ("cifar10", (32, 32, 3), 2, 8, 64), ("celeb_a", (64, 64, 3), 5, 2, 32),
    ("imagenet32", (32, 32, 3), 4, 4, 32),
    ("imagenet64", (64, 64, 3), 5, 2, 32),
    ("mnist", (28, 28, 1), 3, 2, 32), ("mnist_bundled", (28, 28, 1), 3, 2, 32),
    ("mnist_bundled_paper", (28, 28, 1), 3, 2, 32)])
def test_presets_hold_the_paper_hyper_parameters(name, shape, scales, blocks,
                                                 filters):
  preset = presets.get(name)
  config = TrainConfig.from_preset(name, epochs=2)
  kwargs = config.model_kwargs()
  architecture = kwargs["config"]
  assert architecture is config.model == preset.model
  assert kwargs["image_shape"] == shape == data.image_shape(preset.dataset)
  assert (architecture.num_scales, architecture.num_res_blocks,
          architecture.filters) == (scales, blocks, filters)
  assert architecture.num_coupling_layers == 3
  assert preset.learning_rate == 1e-3
  assert preset.source
  assert config.dataset == preset.dataset and config.epochs == 2
  # Only make demo's preset departs from the paper's recipe.
  later = name == "mnist_bundled"
  assert (architecture.dequantization, preset.batch_size,
          preset.lr_schedule) == (("variational", 16, "cosine") if later else
                                  ("uniform", 64, "constant"))
  assert (architecture.normalization, architecture.coupling,
          architecture.invertible_1x1_conv) == ("batch_norm", "affine", False)
  if name.startswith("mnist_bundled"):  # make demo's measured choices.
    assert architecture.l2_regularization == 0.0
    assert config.gradient_clip_norm == 100.0
  else:
    assert architecture.l2_regularization == 5e-5
    # The official clip, 100 on nats-per-image gradients, on bits/dim ones.
    assert config.gradient_clip_norm == pytest.approx(
        100 / (math.prod(shape) * math.log(2)))


def test_from_preset_builds_and_compiles_with_the_preset_optimizer():
  model = RealNVP.from_preset("mnist_bundled")
  assert model.image_shape == (28, 28, 1) and model.num_classes == 10
  assert model.config.l2_regularization == 0.0
  optimizer = model.optimizer
  assert isinstance(optimizer, keras.optimizers.Adam)
  assert optimizer.global_clipnorm == 100.0
  assert float(optimizer.learning_rate) == pytest.approx(1e-3)


  small = RealNVP.from_preset("cifar10", compile=False, num_res_blocks=1,
                              filters=8)
  assert small.image_shape == (32, 32, 3) and small.config.num_scales == 2
  assert small.config.filters == 8
  assert small.config.l2_regularization == 5e-5
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
  assert schedule.decay_steps == 5 * (4500 // 16)


def test_the_super_resolution_preset_conditions_on_the_7x7_digit():
  preset = presets.get("mnist_bundled_super_resolution")
  assert preset.model == presets.get("mnist_bundled").model
  config = TrainConfig.from_preset("mnist_bundled_super_resolution", epochs=1)
  assert config.condition == "downsampled:4" and not config.conditional
  model = RealNVP.from_preset("mnist_bundled_super_resolution")
  assert model.condition_shape == (7, 7, 1) and model.num_classes is None
  assert config.model_kwargs()["condition_shape"] == (7, 7, 1)
