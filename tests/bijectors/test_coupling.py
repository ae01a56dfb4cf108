"""Tests of tfp_realnvp.bijectors.coupling: the masks and AffineCoupling."""

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
from tfp_realnvp.bijectors import AffineCoupling
from tfp_realnvp.bijectors import channel_mask
from tfp_realnvp.bijectors import checkerboard_mask
from tfp_realnvp.bijectors import make_mask
from tfp_realnvp.layers import ShiftAndLogScaleResNet

pytestmark = pytest.mark.usefixtures("float64_policy")


# --------------------------------------------------------------------------
# Masks.
# --------------------------------------------------------------------------


def test_checkerboard_masks_are_complementary_checkerboards():
  shape = (4, 6, 3)
  even, odd = checkerboard_mask(shape, 0), checkerboard_mask(shape, 1)
  assert even.shape == odd.shape == shape
  np.testing.assert_array_equal(even + odd, np.ones(shape))
  assert set(np.unique(even)) == {0.0, 1.0}
  rows, cols = np.meshgrid(np.arange(4), np.arange(6), indexing="ij")
  for c in range(3):
    np.testing.assert_array_equal(even[..., c], ((rows + cols) % 2 == 0))
  # Horizontal and vertical neighbours differ.
  assert np.all(even[1:] != even[:-1]) and np.all(even[:, 1:] != even[:, :-1])


def test_channel_masks_split_channels_in_halves():
  shape = (2, 3, 4)
  first, second = channel_mask(shape, 0), channel_mask(shape, 1)
  np.testing.assert_array_equal(first[..., :2], 1.0)
  np.testing.assert_array_equal(first[..., 2:], 0.0)
  np.testing.assert_array_equal(first + second, np.ones(shape))
  np.testing.assert_array_equal(make_mask("channel", shape, 1), second)
  np.testing.assert_array_equal(make_mask("checkerboard", shape, 1),
                                checkerboard_mask(shape, 1))


def test_channel_mask_rejects_odd_channels():
  with pytest.raises(ValueError, match="even number of channels.*C=3"):
    channel_mask((4, 4, 3), 0)
  with pytest.raises(ValueError, match="even number of channels"):
    make_mask("channel", (4, 4, 5), 1)


def test_make_mask_rejects_unknown_type():
  with pytest.raises(ValueError, match="mask_type"):
    make_mask("stripes", (4, 4, 2), 0)


# --------------------------------------------------------------------------
# AffineCoupling.
# --------------------------------------------------------------------------


@pytest.mark.parametrize("conditional", [False, True],
                         ids=["unconditional", "conditional"])
@pytest.mark.parametrize("parity", [0, 1])
@pytest.mark.parametrize("mask_type", ["checkerboard", "channel"])
def test_affine_coupling_bijection_and_log_det(mask_type, parity, conditional):
  mask = make_mask(mask_type, EVENT_SHAPE, parity)
  network = make_network(EVENT_SHAPE, NUM_CLASSES if conditional else None,
                         seed=parity + 2 * conditional)
  coupling = AffineCoupling(mask, network)
  kwargs = {"conditional_input": one_hot([0, 2])} if conditional else {}
  x = random_input((2,) + EVENT_SHAPE, seed=1)

  y, fldj = check_bijection(coupling, x, **kwargs)

  # Non-trivial: the transformed part moved and the log-det is not zero.
  assert np.max(np.abs(y - x)) > 0.1
  assert np.min(np.abs(fldj)) > 1e-3
  # The conditioning part (mask == 1) passes through unchanged, bit for bit.
  np.testing.assert_array_equal(y * mask, x * mask)

  # Structure of eq. 6-9: on the transformed part the Jacobian is diagonal
  # with entries exp(s), so its log-det is the sum of s there.
  jac = jacobian(lambda t: coupling.forward(t, **kwargs), x).numpy()
  transformed = np.flatnonzero(mask.reshape(-1) == 0)
  conditioning = np.flatnonzero(mask.reshape(-1) == 1)
  block = jac[:, transformed][:, :, transformed]
  for n in range(x.shape[0]):
    np.testing.assert_allclose(block[n], np.diag(np.diag(block[n])),
                               atol=1e-12)
    assert np.all(np.diag(block[n]) > 0)
  np.testing.assert_allclose(np.log(np.diagonal(block, axis1=1, axis2=2))
                             .sum(axis=1), fldj, rtol=1e-10, atol=1e-10)
  # Conditioning rows are the identity.
  np.testing.assert_allclose(
      jac[:, conditioning],
      np.broadcast_to(np.eye(x[0].size)[conditioning],
                      (x.shape[0], conditioning.size, x[0].size)), atol=0)


def test_affine_coupling_matches_formula():
  """y = b x + (1 - b)(x exp(s(b x)) + t(b x)), s and t from the network."""
  mask = checkerboard_mask(EVENT_SHAPE, 1)
  network = make_network(EVENT_SHAPE, seed=5)
  coupling = AffineCoupling(mask, network)
  x = random_input((3,) + EVENT_SHAPE, seed=2)
  net_in = np.concatenate(
      [x * mask, np.broadcast_to(mask[..., :1], x.shape[:-1] + (1,))], -1)
  log_scale, shift = (t.numpy() for t in network(fresh(net_in)))
  expected = mask * x + (1 - mask) * (x * np.exp(log_scale) + shift)
  y = coupling.forward(fresh(x))
  np.testing.assert_allclose(y.numpy(), expected, rtol=RTOL, atol=ATOL)
  fldj = coupling.forward_log_det_jacobian(fresh(x), event_ndims=3)
  np.testing.assert_allclose(fldj.numpy(),
                             ((1 - mask) * log_scale).sum(axis=(1, 2, 3)),
                             rtol=RTOL, atol=ATOL)


def test_fresh_coupling_is_identity():
  """Sanity check that the tests above need non-trivial weights."""
  network = ShiftAndLogScaleResNet(output_channels=2, filters=8,
                                   num_res_blocks=1)
  network.build((None, 4, 4, 3))
  coupling = AffineCoupling(checkerboard_mask(EVENT_SHAPE, 0), network)
  x = random_input((2,) + EVENT_SHAPE, seed=3)
  np.testing.assert_array_equal(coupling.forward(fresh(x)).numpy(), x)
  np.testing.assert_array_equal(
      coupling.forward_log_det_jacobian(fresh(x), event_ndims=3).numpy(), 0.)


def test_conditional_input_changes_the_output():
  network = make_network(EVENT_SHAPE, NUM_CLASSES, seed=7)
  coupling = AffineCoupling(checkerboard_mask(EVENT_SHAPE, 0), network)
  x = random_input((1,) + EVENT_SHAPE, seed=4)
  x2 = np.concatenate([x, x])
  y = coupling.forward(fresh(x2), conditional_input=one_hot([0, 1])).numpy()
  assert np.max(np.abs(y[0] - y[1])) > 1e-3
  fldj = coupling.forward_log_det_jacobian(
      fresh(x2), event_ndims=3, conditional_input=one_hot([0, 1])).numpy()
  assert abs(fldj[0] - fldj[1]) > 1e-6
  # Same label, same output (the difference above comes from the label).
  y_same = coupling.forward(fresh(x2), conditional_input=one_hot([1, 1]))
  np.testing.assert_allclose(y_same.numpy()[0], y[1], rtol=0, atol=1e-14)
  # Each example uses its own label: batch results equal single-example ones.
  y0 = coupling.forward(fresh(x), conditional_input=one_hot([0])).numpy()
  np.testing.assert_allclose(y0[0], y[0], rtol=0, atol=1e-13)


def test_conditional_network_without_conditional_input_raises():
  network = make_network(EVENT_SHAPE, NUM_CLASSES, seed=8)
  coupling = AffineCoupling(checkerboard_mask(EVENT_SHAPE, 0), network)
  x = random_input((2,) + EVENT_SHAPE, seed=5)
  with pytest.raises(ValueError, match="conditional_input"):
    coupling.forward(fresh(x))
  with pytest.raises(ValueError, match="conditional_input"):
    coupling.inverse_log_det_jacobian(fresh(x), event_ndims=3)


def test_unconditional_network_with_conditional_input_raises():
  network = make_network(EVENT_SHAPE, seed=9)
  coupling = AffineCoupling(checkerboard_mask(EVENT_SHAPE, 0), network)
  x = random_input((2,) + EVENT_SHAPE, seed=6)
  with pytest.raises(ValueError, match="unconditional"):
    coupling.forward(fresh(x), conditional_input=one_hot([0, 1]))


def test_affine_coupling_rejects_non_rank3_mask():
  with pytest.raises(ValueError, match="rank 3"):
    AffineCoupling(np.ones((4, 4)), make_network(EVENT_SHAPE))
