"""Tests of tfp_realnvp.bijectors.actnorm and its ActNormWeights layer (Glow sec. 3.1)."""

import numpy as np
import pytest

from flow_checks import check_bijection
from flow_checks import fresh
from flow_checks import random_input
from tfp_realnvp.bijectors import ActNorm
from tfp_realnvp.layers import ActNormWeights

pytestmark = pytest.mark.usefixtures("float64_policy")


def actnorm_weights(channels, log_scale=None, bias=None, initialized=True):
  weights = ActNormWeights()
  weights.build((None, channels))
  rng = np.random.default_rng(channels)
  weights.log_scale.assign(np.linspace(-0.5, 1.0, channels)
                           if log_scale is None else log_scale)
  weights.bias.assign(rng.normal(0.0, 1.0, channels) if bias is None else bias)
  weights.initialized.assign(float(initialized))
  return weights


@pytest.mark.parametrize("event_shape", [(4, 4, 2), (3, 5, 3)],
                         ids=["square", "non-square RGB"])
def test_actnorm_bijection_and_log_det(event_shape):
  weights = actnorm_weights(event_shape[-1])
  x = random_input((2,) + event_shape, seed=1)
  log_scale, bias = weights.log_scale.numpy(), weights.bias.numpy()
  # Data -> latent is x = y exp(log_scale) + bias; forward is its inverse.
  _, fldj = check_bijection(ActNorm(weights), x,
                            y_expected=(x - bias) * np.exp(-log_scale))
  height, width = event_shape[:2]
  assert abs(log_scale.sum()) > 0.1  # Not volume-preserving: can fail.
  np.testing.assert_allclose(fldj, -height * width * log_scale.sum(),
                             rtol=1e-12)


def test_the_first_training_batch_comes_out_with_zero_mean_and_unit_variance():
  weights = actnorm_weights(3, np.zeros(3), np.zeros(3), initialized=False)
  actnorm = ActNorm(weights)
  y = random_input((4, 3, 5, 3), seed=2, loc=[2.0, -1.0, 0.5],
                   scale=[3.0, 0.2, 1.0])
  # Before initialization, and outside training, it is the identity.
  np.testing.assert_allclose(actnorm.inverse(fresh(y)).numpy(), y)
  assert weights.initialized.numpy() == 0.0
  x = actnorm.inverse(fresh(y), training=True).numpy()
  np.testing.assert_allclose(x.mean(axis=(0, 1, 2)), 0.0, atol=1e-12)
  std = y.std(axis=(0, 1, 2))
  # Unit variance, up to epsilon in std + epsilon (1e-6 / 0.2 here).
  np.testing.assert_allclose(x.var(axis=(0, 1, 2)),
                             (std / (std + weights.epsilon))**2, rtol=1e-12)
  np.testing.assert_allclose(x.var(axis=(0, 1, 2)), 1.0, rtol=1e-4)
  np.testing.assert_allclose(
      np.exp(weights.log_scale.numpy()),
      1.0 / (std + weights.epsilon), rtol=1e-12)
  assert weights.initialized.numpy() == 1.0
  # Its log-determinant is that of the initialized parameters.
  np.testing.assert_allclose(
      actnorm.inverse_log_det_jacobian(fresh(y), event_ndims=3,
                                       training=True).numpy(),
      np.full(4, 15 * weights.log_scale.numpy().sum()), rtol=1e-12)
  # A second training batch does not initialize again.
  initialized = [w.numpy().copy() for w in weights.weights]
  other = random_input((4, 3, 5, 3), seed=3, loc=-5.0, scale=7.0)
  actnorm.inverse(fresh(other), training=True)
  for before, after in zip(initialized, weights.weights):
    np.testing.assert_array_equal(after.numpy(), before)


def test_actnorm_weights_are_keras_weights():
  weights = ActNormWeights()
  weights.build((None, 4))
  assert sorted(w.name for w in weights.trainable_weights) == [
      "bias", "log_scale"]
  assert [w.name for w in weights.non_trainable_weights] == ["initialized"]
  assert ActNormWeights.from_config(weights.get_config()).epsilon == (
      weights.epsilon)
  with pytest.raises(ValueError, match="epsilon must be > 0; got 0"):
    ActNormWeights(epsilon=0.0)
