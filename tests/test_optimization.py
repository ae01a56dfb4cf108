"""tfp_realnvp.optimization: the cosine learning-rate schedule and the optimizer of a TrainConfig."""

import keras
import numpy as np
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


def test_weight_averaging_is_keras_ema_and_bad_momenta_are_named():
  """a <- m * a + (1 - m) * w after each step (Keras's `use_ema`): after the first step a = w."""
  optimizer = TrainConfig(ema_momentum=0.9).optimizer(steps_per_epoch=10)
  assert optimizer.use_ema and optimizer.ema_momentum == pytest.approx(0.9)
  assert not TrainConfig().optimizer(steps_per_epoch=10).use_ema
  weight = keras.Variable(np.ones(3, np.float32))
  for step in range(2):
    optimizer.apply([np.ones(3, np.float32)], [weight])
    if step == 0:
      first = weight.numpy()
  averages = [w for w in optimizer.variables if "average" in w.path]
  assert len(averages) == 1
  # Step 1 sets a = w1; step 2: a = 0.9 * w1 + 0.1 * w2.
  np.testing.assert_allclose(averages[0].numpy(),
                             0.9 * first + 0.1 * weight.numpy(), rtol=1e-6)
  for momentum in (1.0, -0.1, float("nan")):
    with pytest.raises(ValueError, match=r"ema_momentum must be in \[0, 1\)"):
      TrainConfig(ema_momentum=momentum)
