"""Tests of tfp_realnvp.bijectors.squeeze."""

import numpy as np
import pytest
import tensorflow as tf

from flow_checks import check_bijection
from flow_checks import fresh
from flow_checks import random_input
from tfp_realnvp.bijectors import squeeze

pytestmark = pytest.mark.usefixtures("float64_policy")


@pytest.mark.parametrize("shape", [(4, 4, 2), (2, 6, 3)])
def test_squeeze_is_space_to_depth_with_zero_log_det(shape):
  bijector = squeeze(shape)
  x = random_input((2,) + shape, seed=10)
  expected = tf.nn.space_to_depth(fresh(x), 2).numpy()
  assert expected.shape == (2, shape[0] // 2, shape[1] // 2, 4 * shape[2])
  y, fldj = check_bijection(bijector, x, y_expected=expected)
  np.testing.assert_array_equal(y, expected)  # A permutation is exact.
  np.testing.assert_array_equal(fldj, np.zeros(2))
  ildj = bijector.inverse_log_det_jacobian(fresh(y), event_ndims=3)
  np.testing.assert_array_equal(ildj.numpy(), 0.)
  # Unsqueezing a space_to_depth result is depth_to_space.
  np.testing.assert_array_equal(
      bijector.inverse(fresh(expected)).numpy(),
      tf.nn.depth_to_space(fresh(expected), 2).numpy())


@pytest.mark.parametrize("shape,bad", [((3, 4, 2), "H=3"), ((4, 5, 2), "W=5")])
def test_squeeze_rejects_odd_height_or_width(shape, bad):
  with pytest.raises(ValueError, match=f"even height and width.*{bad}"):
    squeeze(shape)


def test_squeeze_rejects_non_rank3_shape():
  with pytest.raises(ValueError, match=r"\(H, W, C\)"):
    squeeze((4, 4))
