"""Tests of tfp_realnvp.bijectors.batch_norm (BatchNormalization)."""

import numpy as np
import pytest

from flow_checks import ATOL
from flow_checks import EVENT_SHAPE
from flow_checks import RTOL
from flow_checks import check_bijection
from flow_checks import fresh
from flow_checks import make_moments
from flow_checks import random_input
from tfp_realnvp.bijectors import BatchNormalization

pytestmark = pytest.mark.usefixtures("float64_policy")

MOVING_MEAN = np.array([0.5, -1.5])
MOVING_VARIANCE = np.array([2.0, 0.25])


def test_batch_norm_inference_bijection_and_log_det():
  moments = make_moments(MOVING_MEAN, MOVING_VARIANCE, epsilon=1e-3)
  bijector = BatchNormalization(moments)
  x = random_input((2,) + EVENT_SHAPE, seed=13)
  std = np.sqrt(MOVING_VARIANCE + 1e-3)
  h, w, _ = EVENT_SHAPE

  y, fldj = check_bijection(bijector, x, y_expected=x * std + MOVING_MEAN)
  np.testing.assert_allclose(
      fldj, np.full(2, 0.5 * h * w * np.log(MOVING_VARIANCE + 1e-3).sum()),
      rtol=RTOL, atol=ATOL)
  # training=False is the default and training=True does not change forward.
  y_training = bijector.forward(fresh(x), training=True).numpy()
  np.testing.assert_allclose(y_training, y, rtol=RTOL, atol=ATOL)
  # training=False inverse uses the moving statistics and leaves them alone.
  x_eval = bijector.inverse(fresh(y), training=False).numpy()
  np.testing.assert_allclose(x_eval, x, rtol=RTOL, atol=ATOL)
  np.testing.assert_array_equal(moments.moving_mean.numpy(), MOVING_MEAN)
  np.testing.assert_array_equal(moments.moving_variance.numpy(),
                                MOVING_VARIANCE)


def test_batch_norm_training_normalizes_batch_and_updates_moments():
  momentum, epsilon = 0.9, 1e-3
  moments = make_moments(MOVING_MEAN, MOVING_VARIANCE, momentum, epsilon)
  bijector = BatchNormalization(moments)
  h, w, c = EVENT_SHAPE
  y = random_input((8,) + EVENT_SHAPE, seed=14, loc=np.array([3.0, -4.0]),
                   scale=np.array([2.0, 0.5]))
  batch_mean = y.mean(axis=(0, 1, 2))
  batch_variance = y.var(axis=(0, 1, 2))  # Biased, like tf.nn.moments.
  assert np.all(np.abs(batch_mean - MOVING_MEAN) > 0.5)

  y_tensor = fresh(y)
  x = bijector.inverse(y_tensor, training=True).numpy()
  np.testing.assert_allclose(x.mean(axis=(0, 1, 2)), np.zeros(c), atol=1e-12)
  np.testing.assert_allclose(x.var(axis=(0, 1, 2)),
                             batch_variance / (batch_variance + epsilon),
                             rtol=1e-12)
  np.testing.assert_allclose(x.var(axis=(0, 1, 2)), np.ones(c),
                             atol=epsilon / batch_variance.min())
  np.testing.assert_allclose(
      x, (y - batch_mean) / np.sqrt(batch_variance + epsilon), rtol=RTOL,
      atol=ATOL)

  # Same tensor: the log-det comes from the same pass (greedy cache).
  ildj = bijector.inverse_log_det_jacobian(y_tensor, event_ndims=3,
                                           training=True).numpy()
  expected_ildj = -0.5 * h * w * np.log(batch_variance + epsilon).sum()
  np.testing.assert_allclose(ildj, np.full(8, expected_ildj), rtol=RTOL)

  # Exactly one momentum step towards the batch statistics.
  new_mean = momentum * MOVING_MEAN + (1 - momentum) * batch_mean
  new_variance = momentum * MOVING_VARIANCE + (1 - momentum) * batch_variance
  np.testing.assert_allclose(moments.moving_mean.numpy(), new_mean,
                             rtol=1e-13)
  np.testing.assert_allclose(moments.moving_variance.numpy(), new_variance,
                             rtol=1e-13)

  # training=False now uses the updated moving statistics, not the batch's.
  y_eval = fresh(y)
  x_eval = bijector.inverse(y_eval, training=False).numpy()
  np.testing.assert_allclose(
      x_eval, (y - new_mean) / np.sqrt(new_variance + epsilon), rtol=RTOL,
      atol=ATOL)
  ildj_eval = bijector.inverse_log_det_jacobian(y_eval, event_ndims=3,
                                                training=False).numpy()
  np.testing.assert_allclose(
      ildj_eval, np.full(8, -0.5 * h * w * np.log(new_variance + epsilon)
                         .sum()), rtol=RTOL)
  np.testing.assert_allclose(moments.moving_mean.numpy(), new_mean,
                             rtol=1e-13)
  np.testing.assert_allclose(moments.moving_variance.numpy(), new_variance,
                             rtol=1e-13)


def test_batch_norm_training_ildj_alone_updates_once():
  """ildj(y, training=True) without a prior inverse also makes one update."""
  momentum, epsilon = 0.8, 1e-4
  moments = make_moments(MOVING_MEAN, MOVING_VARIANCE, momentum, epsilon)
  bijector = BatchNormalization(moments)
  h, w, _ = EVENT_SHAPE
  y = random_input((4,) + EVENT_SHAPE, seed=15, loc=1.0, scale=3.0)
  batch_mean, batch_variance = y.mean(axis=(0, 1, 2)), y.var(axis=(0, 1, 2))
  ildj = bijector.inverse_log_det_jacobian(fresh(y), event_ndims=3,
                                           training=True).numpy()
  np.testing.assert_allclose(
      ildj, np.full(4, -0.5 * h * w * np.log(batch_variance + epsilon).sum()),
      rtol=RTOL)
  np.testing.assert_allclose(
      moments.moving_mean.numpy(),
      momentum * MOVING_MEAN + (1 - momentum) * batch_mean, rtol=1e-13)
  np.testing.assert_allclose(
      moments.moving_variance.numpy(),
      momentum * MOVING_VARIANCE + (1 - momentum) * batch_variance,
      rtol=1e-13)
