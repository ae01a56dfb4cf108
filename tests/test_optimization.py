"""tfp_realnvp.optimization: the cosine learning-rate schedule and the optimizer of a TrainConfig."""

import pytest

from tfp_realnvp.training import TrainConfig


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
