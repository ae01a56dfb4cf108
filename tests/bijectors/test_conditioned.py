"""Tests of tfp_realnvp.bijectors.conditioned (Conditioned)."""

import numpy as np
import pytest
import tensorflow_probability as tfp

from flow_checks import EVENT_SHAPE
from flow_checks import NUM_CLASSES
from flow_checks import check_bijection
from flow_checks import fresh
from flow_checks import make_moments
from flow_checks import make_network
from flow_checks import one_hot
from flow_checks import random_input
from tfp_realnvp.bijectors import AffineCoupling
from tfp_realnvp.bijectors import BatchNormalization
from tfp_realnvp.bijectors import Conditioned
from tfp_realnvp.bijectors import checkerboard_mask
from tfp_realnvp.bijectors import route_kwargs

tfb = tfp.bijectors

pytestmark = pytest.mark.usefixtures("float64_policy")


def _flow():
  """Chain([coupling, batch norm]): a conditional coupling and running averages."""
  coupling = AffineCoupling(checkerboard_mask(EVENT_SHAPE, 0),
                            make_network(EVENT_SHAPE, NUM_CLASSES, seed=30),
                            name="coupling")
  moments = make_moments([0.3, -0.2], [1.5, 0.7])
  flow = tfb.Chain([coupling, BatchNormalization(moments, name="bn")],
                   name="flow")
  return flow, moments


def test_bound_flow_is_a_bijection_with_the_flows_log_det():
  flow, moments = _flow()
  labels = one_hot([0, 2, 1])
  bound = Conditioned(flow, labels)
  x = random_input((3,) + EVENT_SHAPE, seed=31)
  y, fldj = check_bijection(bound, x)  # Against the autodiff Jacobian.
  kwargs = route_kwargs(flow, conditional_input=labels, training=False)
  np.testing.assert_allclose(y, flow.forward(fresh(x), **kwargs).numpy(),
                             rtol=1e-12)
  np.testing.assert_allclose(
      fldj, flow.forward_log_det_jacobian(fresh(x), event_ndims=3,
                                          **kwargs).numpy(), rtol=1e-12)
  # Inference mode: the running averages are read, never updated.
  np.testing.assert_array_equal(moments.moving_mean.numpy(), [0.3, -0.2])


def test_sample_dimensions_are_folded_into_the_batch():
  flow, _ = _flow()
  labels = one_hot([0, 2, 1])
  bound = Conditioned(flow, labels)
  x = random_input((2, 3) + EVENT_SHAPE, seed=32)  # [M, N, H, W, C]
  y = bound.inverse(fresh(x)).numpy()
  ildj = bound.inverse_log_det_jacobian(fresh(x), event_ndims=3).numpy()
  assert y.shape == x.shape and ildj.shape == (2, 3)
  kwargs = route_kwargs(flow, conditional_input=labels, training=False)
  for draw in range(2):  # Each [N, ...] slice with the N labels in order.
    np.testing.assert_allclose(
        y[draw], flow.inverse(fresh(x[draw]), **kwargs).numpy(), rtol=1e-12)
    np.testing.assert_allclose(
        ildj[draw], flow.inverse_log_det_jacobian(
            fresh(x[draw]), event_ndims=3, **kwargs).numpy(), rtol=1e-12)


def test_the_bound_labels_are_the_ones_used():
  flow, _ = _flow()
  x = random_input((2,) + EVENT_SHAPE, seed=33)
  first = Conditioned(flow, one_hot([0, 1])).forward(fresh(x)).numpy()
  second = Conditioned(flow, one_hot([2, 1])).forward(fresh(x)).numpy()
  assert not np.allclose(first[0], second[0])  # Label 0 vs 2.
  np.testing.assert_allclose(first[1], second[1], rtol=1e-12)  # Both 1.
