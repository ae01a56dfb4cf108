"""Mathematical tests of the Real NVP bijectors (tfp_realnvp.bijectors).

Every check runs in float64 (Keras layers are built under a float64 dtype
policy) so that inverses and log-determinants can be compared tightly.

TFP caches bijector results keyed on the input tensor *object*: calling
`forward(x)` twice returns the first result, and `inverse(forward(x))` returns
the cached `x` without computing anything. Every comparison of two paths
therefore feeds fresh tensors (`fresh(...)`), or the test could not fail.
"""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

from tfp_realnvp.bijectors import AffineCoupling
from tfp_realnvp.bijectors import BatchNormalization
from tfp_realnvp.bijectors import FactorOut
from tfp_realnvp.bijectors import channel_mask
from tfp_realnvp.bijectors import checkerboard_mask
from tfp_realnvp.bijectors import logit_transform
from tfp_realnvp.bijectors import make_mask
from tfp_realnvp.bijectors import route_kwargs
from tfp_realnvp.bijectors import squeeze
from tfp_realnvp.layers import MovingMoments
from tfp_realnvp.layers import ShiftAndLogScaleResNet

tfb = tfp.bijectors

pytestmark = pytest.mark.usefixtures("float64_policy")

RTOL = 1e-10
ATOL = 1e-10
EVENT_SHAPE = (4, 4, 2)
NUM_CLASSES = 3


# --------------------------------------------------------------------------
# Helpers.
# --------------------------------------------------------------------------


def fresh(tensor):
  """A new float64 tensor with the same values (defeats TFP's bijector cache)."""
  return tf.constant(np.array(tensor, dtype=np.float64))


def random_input(shape, seed, loc=0.0, scale=1.0):
  rng = np.random.default_rng(seed)
  return loc + scale * rng.standard_normal(shape)


def make_network(event_shape, conditional_dims=None, seed=0, stddev=0.3):
  """A small s/t network with non-trivial weights (the output conv starts at 0)."""
  network = ShiftAndLogScaleResNet(output_channels=event_shape[-1], filters=8,
                                   num_res_blocks=1,
                                   conditional_dims=conditional_dims)
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


# --------------------------------------------------------------------------
# squeeze.
# --------------------------------------------------------------------------


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


# --------------------------------------------------------------------------
# FactorOut.
# --------------------------------------------------------------------------


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


# --------------------------------------------------------------------------
# BatchNormalization.
# --------------------------------------------------------------------------

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


# --------------------------------------------------------------------------
# logit_transform.
# --------------------------------------------------------------------------


@pytest.mark.parametrize("alpha", [0.05, 0.2])
def test_logit_transform_bijection_and_closed_form_log_det(alpha):
  bijector = logit_transform(alpha, dtype="float64")
  logits = random_input((2,) + EVENT_SHAPE, seed=16, scale=2.0)
  sigmoid = 1.0 / (1.0 + np.exp(-logits))
  expected_pixels = (sigmoid - alpha) * 256.0 / (1.0 - 2.0 * alpha)

  pixels, fldj = check_bijection(bijector, logits, y_expected=expected_pixels)
  closed_form = (np.log(sigmoid) + np.log1p(-sigmoid)
                 + np.log(256.0 / (1.0 - 2.0 * alpha))).sum(axis=(1, 2, 3))
  np.testing.assert_allclose(fldj, closed_form, rtol=1e-12)
  # Inverse: y = logit(alpha + (1 - 2 alpha) x / 256).
  p = alpha + (1.0 - 2.0 * alpha) * pixels / 256.0
  np.testing.assert_allclose(bijector.inverse(fresh(pixels)).numpy(),
                             np.log(p) - np.log1p(-p), rtol=1e-10, atol=1e-10)


def test_logit_transform_extreme_pixels_are_finite():
  alpha = 0.05
  bijector = logit_transform(alpha, dtype="float64")
  pixels = np.array([0.0, 255.999])
  logits = bijector.inverse(fresh(pixels)).numpy()
  assert np.all(np.isfinite(logits))
  p = alpha + (1.0 - 2.0 * alpha) * pixels / 256.0
  np.testing.assert_allclose(logits, np.log(p / (1.0 - p)), rtol=1e-12)
  ildj = bijector.inverse_log_det_jacobian(fresh(pixels), event_ndims=0)
  assert np.all(np.isfinite(ildj.numpy()))
  np.testing.assert_allclose(bijector.forward(fresh(logits)).numpy(), pixels,
                             rtol=1e-12, atol=1e-10)


def test_logit_transform_float32_dtype():
  bijector = logit_transform(0.05)  # default float32
  pixels = tf.constant([[0.0, 128.0, 255.999]], tf.float32)
  logits = bijector.inverse(pixels)
  assert logits.dtype == tf.float32
  assert np.all(np.isfinite(logits.numpy()))


@pytest.mark.parametrize("alpha", [0.0, 0.5, -0.1])
def test_logit_transform_rejects_bad_alpha(alpha):
  with pytest.raises(ValueError, match="alpha"):
    logit_transform(alpha)


# --------------------------------------------------------------------------
# route_kwargs.
# --------------------------------------------------------------------------


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
