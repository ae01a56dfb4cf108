"""Tests of tfp_realnvp.bijectors.additive_coupling (NICE's additive coupling)."""

import numpy as np
import pytest

from flow_checks import ATOL
from flow_checks import EVENT_SHAPE
from flow_checks import NUM_CLASSES
from flow_checks import RTOL
from flow_checks import check_bijection
from flow_checks import fresh
from flow_checks import jacobian
from flow_checks import make_network
from flow_checks import one_hot
from flow_checks import random_input
from tfp_realnvp.bijectors import AdditiveCoupling
from tfp_realnvp.bijectors import make_mask

pytestmark = pytest.mark.usefixtures("float64_policy")


@pytest.mark.parametrize("conditional", [False, True],
                         ids=["unconditional", "conditional"])
@pytest.mark.parametrize("mask_type,parity", [("checkerboard", 0),
                                              ("channel", 1)])
def test_additive_coupling_is_a_volume_preserving_bijection(mask_type, parity,
                                                            conditional):
  mask = make_mask(mask_type, EVENT_SHAPE, parity)
  network = make_network(EVENT_SHAPE, NUM_CLASSES if conditional else None,
                         seed=parity + 2 * conditional, shift_only=True)
  coupling = AdditiveCoupling(mask, network)
  kwargs = {"conditional_input": one_hot([0, 2])} if conditional else {}
  x = random_input((2,) + EVENT_SHAPE, seed=1)

  y, fldj = check_bijection(coupling, x, **kwargs)

  assert np.max(np.abs(y - x)) > 0.1
  np.testing.assert_array_equal(fldj, 0.0)
  np.testing.assert_array_equal(y * mask, x * mask)
  # NICE eq. 7: the Jacobian is unit lower triangular after ordering the
  # conditioning part first, so the transformed block is the identity.
  jac = jacobian(lambda t: coupling.forward(t, **kwargs), x).numpy()
  transformed = np.flatnonzero(mask.reshape(-1) == 0)
  np.testing.assert_allclose(
      jac[:, transformed][:, :, transformed],
      np.broadcast_to(np.eye(transformed.size),
                      (2, transformed.size, transformed.size)), atol=1e-12)


def test_additive_coupling_matches_formula():
  """y = x + (1 - b) t(b x), t from the network."""
  mask = make_mask("checkerboard", EVENT_SHAPE, 1)
  network = make_network(EVENT_SHAPE, seed=5, shift_only=True)
  coupling = AdditiveCoupling(mask, network)
  x = random_input((3,) + EVENT_SHAPE, seed=2)
  net_in = np.concatenate(
      [x * mask, np.broadcast_to(mask[..., :1], x.shape[:-1] + (1,))], -1)
  log_scale, shift = network(fresh(net_in))
  assert log_scale is None and network.count_params() > 0
  np.testing.assert_allclose(coupling.forward(fresh(x)).numpy(),
                             x + (1 - mask) * shift.numpy(), rtol=RTOL,
                             atol=ATOL)


def test_additive_coupling_refuses_a_network_with_a_log_scale():
  coupling = AdditiveCoupling(make_mask("checkerboard", EVENT_SHAPE, 0),
                              make_network(EVENT_SHAPE), name="c0")
  with pytest.raises(ValueError, match=r"c0's returned a log_scale.*"
                     r"shift_only=True"):
    coupling.forward(fresh(random_input((1,) + EVENT_SHAPE, seed=0)))
