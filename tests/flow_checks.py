"""Helpers shared by the bijector tests (fresh tensors, networks, check_bijection).

They expect the `float64_policy` fixture (tests/conftest.py): Keras layers are
built in float64 so that inverses and log-determinants can be compared tightly.

TFP caches bijector results keyed on the input tensor *object*: calling
`forward(x)` twice returns the first result, and `inverse(forward(x))` returns
the cached `x` without computing anything. Every comparison of two paths
therefore feeds fresh tensors (`fresh(...)`), or the test could not fail.
"""

import numpy as np
import tensorflow as tf

from tfp_realnvp.layers import LUWeights
from tfp_realnvp.layers import MovingMoments
from tfp_realnvp.layers import ShiftAndLogScaleResNet

RTOL = 1e-10
ATOL = 1e-10
EVENT_SHAPE = (4, 4, 2)
NUM_CLASSES = 3


def fresh(tensor):
  """A new float64 tensor with the same values (defeats TFP's bijector cache)."""
  return tf.constant(np.array(tensor, dtype=np.float64))


def random_input(shape, seed, loc=0.0, scale=1.0):
  rng = np.random.default_rng(seed)
  return loc + scale * rng.standard_normal(shape)


def make_network(event_shape, conditional_dims=None, seed=0, stddev=0.3,
                 shift_only=False):
  """A small s/t network with non-trivial weights (the output conv starts at 0)."""
  network = ShiftAndLogScaleResNet(output_channels=event_shape[-1], filters=8,
                                   num_res_blocks=1,
                                   conditional_dims=conditional_dims,
                                   shift_only=shift_only)
  network.build((None,) + tuple(event_shape[:-1]) + (event_shape[-1] + 1,))
  rng = np.random.default_rng(seed)
  for weight in network.weights:
    weight.assign(rng.normal(0.0, stddev, weight.shape))
  assert all(w.dtype == "float64" for w in network.weights)
  return network


def make_moments(mean, variance, momentum=0.9, epsilon=1e-3):
  moments = MovingMoments(momentum=momentum, epsilon=epsilon)
  moments.build((None, len(mean)))
  moments.moving_mean.assign(np.asarray(mean, np.float64))
  moments.moving_variance.assign(np.asarray(variance, np.float64))
  return moments


def make_lu_weights(channels, seed=0, stddev=0.5):
  """An `LUWeights` layer for `channels` with a random W far from orthogonal.

  Its permutation is a cyclic shift (not its own inverse for C > 2, so that
  P and P^T differ) and its signs alternate (a dropped sign shows).
  """
  weights = LUWeights()
  weights.build((None, channels))
  rng = np.random.default_rng(seed)
  weights.lower_upper.assign(rng.normal(0.0, stddev, (channels, channels)))
  weights.permutation.assign(np.roll(np.arange(channels), 1))
  weights.sign.assign((-1.0) ** np.arange(channels))
  return weights


def one_hot(labels):
  return tf.one_hot(labels, NUM_CLASSES, dtype=tf.float64)


def jacobian(fn, x):
  """Per-example Jacobian [N, D, D] of fn at x (x: numpy [N, H, W, C])."""
  x = fresh(x)
  with tf.GradientTape() as tape:
    tape.watch(x)
    y = fn(x)
  jac = tape.batch_jacobian(y, x)
  n = x.shape[0]
  d_out = int(np.prod(y.shape[1:]))
  d_in = int(np.prod(x.shape[1:]))
  assert d_out == d_in
  return tf.reshape(jac, [n, d_out, d_in])


def log_abs_det_jacobian(fn, x):
  sign, log_abs_det = tf.linalg.slogdet(jacobian(fn, x))
  assert np.all(sign.numpy() != 0), "singular Jacobian"
  return log_abs_det.numpy()


def check_bijection(bijector, x, y_expected=None, **kwargs):
  """Round trips, ldj against the autodiff Jacobian, and ildj == -fldj.

  Returns (y, fldj) computed from fresh tensors.
  """
  y = bijector.forward(fresh(x), **kwargs)
  if y_expected is not None:
    np.testing.assert_allclose(y.numpy(), y_expected, rtol=RTOL, atol=ATOL)
  # inverse(forward(x)) == x, through fresh tensors so nothing is cached.
  x_back = bijector.inverse(fresh(y), **kwargs)
  np.testing.assert_allclose(x_back.numpy(), x, rtol=RTOL, atol=ATOL)
  # forward(inverse(y')) == y' for a y' that never went through forward.
  y_other = y.numpy() + random_input(y.shape, seed=99, scale=0.1)
  x_other = bijector.inverse(fresh(y_other), **kwargs)
  y_other_back = bijector.forward(fresh(x_other), **kwargs)
  np.testing.assert_allclose(y_other_back.numpy(), y_other, rtol=RTOL,
                             atol=ATOL)

  fldj = bijector.forward_log_det_jacobian(fresh(x), event_ndims=3, **kwargs)
  if bijector.is_constant_jacobian:
    # TFP returns a constant log-det unbroadcast (a scalar for squeeze).
    assert fldj.shape.rank == 0 or fldj.shape == (x.shape[0],)
    fldj = tf.broadcast_to(fldj, [x.shape[0]])
  else:
    assert fldj.shape == (x.shape[0],)
  expected = log_abs_det_jacobian(lambda t: bijector.forward(t, **kwargs), x)
  np.testing.assert_allclose(fldj.numpy(), expected, rtol=1e-9, atol=1e-9)

  ildj = bijector.inverse_log_det_jacobian(fresh(y), event_ndims=3, **kwargs)
  ildj = tf.broadcast_to(ildj, [x.shape[0]])
  np.testing.assert_allclose(ildj.numpy(), -fldj.numpy(), rtol=RTOL,
                             atol=ATOL)
  # The log-dets cached by one direction serve the other consistently:
  # fldj at the output of an inverse pass, ildj at the output of a forward one.
  y_tensor = bijector.forward(fresh(x), **kwargs)
  cached_ildj = bijector.inverse_log_det_jacobian(y_tensor, event_ndims=3,
                                                  **kwargs)
  np.testing.assert_allclose(tf.broadcast_to(cached_ildj, [x.shape[0]]),
                             -fldj.numpy(), rtol=RTOL, atol=ATOL)
  x_tensor = bijector.inverse(fresh(y), **kwargs)
  cached_fldj = bijector.forward_log_det_jacobian(x_tensor, event_ndims=3,
                                                  **kwargs)
  np.testing.assert_allclose(tf.broadcast_to(cached_fldj, [x.shape[0]]),
                             fldj.numpy(), rtol=RTOL, atol=ATOL)
  # The inverse's ldj also matches the inverse's own autodiff Jacobian.
  expected_inverse = log_abs_det_jacobian(
      lambda t: bijector.inverse(t, **kwargs), y.numpy())
  np.testing.assert_allclose(ildj.numpy(), expected_inverse, rtol=1e-9,
                             atol=1e-9)
  return y.numpy(), fldj.numpy()
