"""Tests of tfp_realnvp.bijectors.invertible_1x1_conv and its LUWeights layer (Glow sec. 3.2)."""

import numpy as np
import pytest
import tensorflow as tf

from flow_checks import check_bijection
from flow_checks import fresh
from flow_checks import make_lu_weights
from flow_checks import random_input
from tfp_realnvp.bijectors import Invertible1x1Conv
from tfp_realnvp.layers import LUWeights

pytestmark = pytest.mark.usefixtures("float64_policy")


def matrix_from_factors(weights):
  """W = P L U from the layer's weights, in numpy (the layer's own algebra not used)."""
  parameters = weights.lower_upper.numpy()
  channels = parameters.shape[0]
  lower = np.tril(parameters, -1) + np.eye(channels)
  upper = np.triu(parameters, 1) + np.diag(
      weights.sign.numpy() * np.exp(np.diag(parameters)))
  permutation = np.eye(channels)[weights.permutation.numpy()]
  return permutation.T @ lower @ upper


@pytest.mark.parametrize("event_shape", [(4, 4, 2), (3, 5, 3), (2, 6, 4)],
                         ids=["square", "non-square RGB", "squeezed"])
def test_invertible_1x1_conv_bijection_and_log_det(event_shape):
  weights = make_lu_weights(event_shape[-1], seed=sum(event_shape))
  conv = Invertible1x1Conv(weights)
  x = random_input((2,) + event_shape, seed=1)
  matrix = matrix_from_factors(weights)
  # Data -> latent is z = W y at every pixel; so forward is W^-1.
  y, fldj = check_bijection(conv, x, y_expected=np.einsum(
      "dc,nhwc->nhwd", np.linalg.inv(matrix), x))
  height, width = event_shape[:2]
  log_abs_det = np.linalg.slogdet(matrix)[1]
  assert abs(log_abs_det) > 0.1  # Not volume-preserving: the check can fail.
  np.testing.assert_allclose(fldj, -height * width * log_abs_det, rtol=1e-10)
  np.testing.assert_allclose(
      conv.inverse_log_det_jacobian(fresh(y), event_ndims=3).numpy(),
      height * width * np.sum(np.diag(weights.lower_upper.numpy())),
      rtol=1e-10)


def test_lu_weights_start_as_a_rotation_of_the_seeded_kind():
  tf.keras.utils.set_random_seed(3)
  weights = LUWeights()
  weights.build((None, 4))
  matrix = matrix_from_factors(weights)
  np.testing.assert_allclose(matrix @ matrix.T, np.eye(4), atol=1e-6)
  assert not np.allclose(np.abs(matrix), np.eye(4))  # Mixes the channels.
  assert set(np.unique(weights.sign.numpy())) <= {-1.0, 1.0}
  assert sorted(weights.permutation.numpy()) == [0, 1, 2, 3]
  assert [w.name for w in weights.trainable_weights] == ["lower_upper"]
