"""Tests of tfp_realnvp.bijectors.factor_out (FactorOut)."""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

from flow_checks import ATOL
from flow_checks import NUM_CLASSES
from flow_checks import RTOL
from flow_checks import check_bijection
from flow_checks import fresh
from flow_checks import make_network
from flow_checks import one_hot
from flow_checks import random_input
from tfp_realnvp.bijectors import AffineCoupling
from tfp_realnvp.bijectors import FactorOut
from tfp_realnvp.bijectors import channel_mask

tfb = tfp.bijectors

pytestmark = pytest.mark.usefixtures("float64_policy")


@pytest.mark.parametrize("conditional", [False, True],
                         ids=["unconditional", "conditional"])
def test_factor_out_passes_factored_channels_and_inner_log_det(conditional):
  event_shape, num_factored = (4, 4, 3), 1
  inner_shape = (4, 4, 2)
  network = make_network(inner_shape, NUM_CLASSES if conditional else None,
                         seed=11)
  inner = AffineCoupling(channel_mask(inner_shape, 1), network)
  bijector = FactorOut(inner, num_factored=num_factored)
  kwargs = {"conditional_input": one_hot([2, 0])} if conditional else {}
  x = random_input((2,) + event_shape, seed=12)

  y, fldj = check_bijection(bijector, x, **kwargs)

  np.testing.assert_array_equal(y[..., :num_factored], x[..., :num_factored])
  inner_y = inner.forward(fresh(x[..., num_factored:]), **kwargs).numpy()
  np.testing.assert_allclose(y[..., num_factored:], inner_y, rtol=RTOL,
                             atol=ATOL)
  assert np.max(np.abs(inner_y - x[..., num_factored:])) > 0.1
  inner_fldj = inner.forward_log_det_jacobian(
      fresh(x[..., num_factored:]), event_ndims=3, **kwargs).numpy()
  np.testing.assert_allclose(fldj, inner_fldj, rtol=RTOL, atol=ATOL)
  assert np.min(np.abs(fldj)) > 1e-3
  # Inverse direction: factored channels untouched, ildj is the inner one.
  x_back = bijector.inverse(fresh(y), **kwargs).numpy()
  np.testing.assert_array_equal(x_back[..., :num_factored],
                                y[..., :num_factored])
  inner_ildj = inner.inverse_log_det_jacobian(
      fresh(y[..., num_factored:]), event_ndims=3, **kwargs).numpy()
  ildj = bijector.inverse_log_det_jacobian(fresh(y), event_ndims=3, **kwargs)
  ildj = tf.broadcast_to(ildj, [x.shape[0]])
  np.testing.assert_allclose(ildj.numpy(), inner_ildj, rtol=RTOL, atol=ATOL)


def test_factor_out_rejects_non_positive_num_factored():
  with pytest.raises(ValueError, match="num_factored"):
    FactorOut(tfb.Identity(), num_factored=0)
