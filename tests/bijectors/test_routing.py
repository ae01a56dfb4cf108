"""Tests of tfp_realnvp.bijectors.routing (route_kwargs)."""

import numpy as np
import pytest
import tensorflow_probability as tfp

from flow_checks import NUM_CLASSES
from flow_checks import check_bijection
from flow_checks import fresh
from flow_checks import make_moments
from flow_checks import make_network
from flow_checks import one_hot
from flow_checks import random_input
from tfp_realnvp.bijectors import AffineCoupling
from tfp_realnvp.bijectors import BatchNormalization
from tfp_realnvp.bijectors import FactorOut
from tfp_realnvp.bijectors import channel_mask
from tfp_realnvp.bijectors import checkerboard_mask
from tfp_realnvp.bijectors import route_kwargs

tfb = tfp.bijectors

pytestmark = pytest.mark.usefixtures("float64_policy")


def _routed_flow():
  """Chain([a, Invert(b), FactorOut(Chain([c, bn]))]) with conditional couplings."""
  outer_shape, inner_shape = (4, 4, 4), (4, 4, 2)
  a = AffineCoupling(checkerboard_mask(outer_shape, 0),
                     make_network(outer_shape, NUM_CLASSES, seed=20), name="a")
  b = AffineCoupling(channel_mask(outer_shape, 1),
                     make_network(outer_shape, NUM_CLASSES, seed=21), name="b")
  c = AffineCoupling(checkerboard_mask(inner_shape, 1),
                     make_network(inner_shape, NUM_CLASSES, seed=22), name="c")
  bn = BatchNormalization(make_moments([0.3, -0.2], [1.5, 0.7]), name="bn")
  inner = tfb.Chain([c, bn], name="inner")
  flow = tfb.Chain([a, tfb.Invert(b, name="inv_b"),
                    FactorOut(inner, num_factored=2, name="factor_out")],
                   name="flow")
  return flow, (a, b, c, bn)


def test_route_kwargs_structure():
  flow, _ = _routed_flow()
  label = one_hot([1, 2])
  routed = route_kwargs(flow, conditional_input=label, training=True)
  assert set(routed) == {"a", "inv_b", "factor_out"}
  assert set(routed["a"]) == {"conditional_input"}
  assert routed["a"]["conditional_input"] is label
  assert routed["inv_b"]["conditional_input"] is label
  assert routed["factor_out"] == {
      "c": {"conditional_input": label}, "bn": {"training": True}}
  # Bijectors that take nothing are left out.
  assert route_kwargs(tfb.Chain([tfb.Exp(name="e")]), training=True) == {}


def test_route_kwargs_delivers_conditional_input_through_nested_flow():
  flow, (a, b, c, bn) = _routed_flow()
  label = one_hot([1, 2])
  kwargs = route_kwargs(flow, conditional_input=label, training=False)
  x = random_input((2, 4, 4, 4), seed=23)

  # Direct composition: forward applies the last chain member first.
  inner_out = bn.forward(fresh(x[..., 2:]))
  inner_out = c.forward(fresh(inner_out), conditional_input=label)
  z = np.concatenate([x[..., :2], inner_out.numpy()], axis=-1)
  z = b.inverse(fresh(z), conditional_input=label)
  expected = a.forward(fresh(z), conditional_input=label).numpy()
  expected_fldj = (
      bn.forward_log_det_jacobian(fresh(x[..., 2:]), event_ndims=3)
      + c.forward_log_det_jacobian(
          fresh(bn.forward(fresh(x[..., 2:]))), event_ndims=3,
          conditional_input=label)
      + b.inverse_log_det_jacobian(fresh(np.concatenate(
          [x[..., :2], inner_out.numpy()], -1)), event_ndims=3,
                                   conditional_input=label)
      + a.forward_log_det_jacobian(fresh(z), event_ndims=3,
                                   conditional_input=label)).numpy()

  y, fldj = check_bijection(flow, x, y_expected=expected, **kwargs)
  np.testing.assert_allclose(fldj, expected_fldj, rtol=1e-10, atol=1e-10)

  # The label matters, so a routing failure could not go unnoticed.
  other = route_kwargs(flow, conditional_input=one_hot([0, 0]),
                       training=False)
  y_other = flow.forward(fresh(x), **other).numpy()
  assert np.max(np.abs(y_other - y)) > 1e-3
  # Passing conditional_input to the chain directly does not reach couplings.
  with pytest.raises(ValueError, match="conditional_input"):
    flow.forward(fresh(x), conditional_input=label)


def test_route_kwargs_training_reaches_nested_batch_norm():
  flow, (_, _, _, bn) = _routed_flow()
  mean_before = bn.moments.moving_mean.numpy().copy()
  x = random_input((2, 4, 4, 4), seed=24, loc=2.0)
  flow.inverse(fresh(x), **route_kwargs(flow, conditional_input=one_hot(
      [0, 1]), training=True))
  assert np.max(np.abs(bn.moments.moving_mean.numpy() - mean_before)) > 1e-3
  mean_after = bn.moments.moving_mean.numpy().copy()
  flow.inverse(fresh(x), **route_kwargs(flow, conditional_input=one_hot(
      [0, 1]), training=False))
  np.testing.assert_array_equal(bn.moments.moving_mean.numpy(), mean_after)


def test_route_kwargs_rejects_duplicate_names():
  shape = (4, 4, 2)
  first = AffineCoupling(checkerboard_mask(shape, 0), make_network(shape),
                         name="same")
  second = AffineCoupling(checkerboard_mask(shape, 1), make_network(shape),
                          name="same")
  with pytest.raises(ValueError, match="unique names.*'same'"):
    route_kwargs(tfb.Chain([first, second]), conditional_input=None)
