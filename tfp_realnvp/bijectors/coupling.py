"""Affine coupling with checkerboard and channel masks (Dinh et al. 2017, eq. 4-9).

Why a bijector of our own: `tfb.RealNVP` masks the first `num_masked` units of a
rank-1 event only; it has neither the spatial checkerboard mask nor rank-3
[H, W, C] events, which Real NVP on images needs.
"""

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from tfp_realnvp.bijectors.augmented import AugmentedBijector

tfb = tfp.bijectors

CHECKERBOARD = "checkerboard"
CHANNEL = "channel"
#: Mask types `make_mask` accepts (paper sec. 3.4).
MASK_TYPES = (CHECKERBOARD, CHANNEL)


def checkerboard_mask(event_shape, parity):
  """Spatial checkerboard mask b[h, w, c] = (h + w + parity) % 2 == 0 (paper sec. 3.4).

  Args:
    event_shape: (H, W, C) of the coupling's input.
    parity: 0 or 1; alternating parities let every pixel be transformed.

  Returns:
    float32 numpy array [H, W, C] of 0/1; 1 marks the conditioning part that
    passes through unchanged.
  """
  height, width, channels = event_shape
  rows = np.arange(height)[:, None]
  cols = np.arange(width)[None, :]
  pattern = ((rows + cols + parity) % 2 == 0).astype(np.float32)
  return np.repeat(pattern[:, :, None], channels, axis=2)


def channel_mask(event_shape, parity):
  """Channel-wise mask: first or second half of the channels (paper sec. 3.4).

  Args:
    event_shape: (H, W, C) with C even.
    parity: 0 keeps the first C/2 channels as the conditioning part, 1 the last.

  Returns:
    float32 numpy array [H, W, C] of 0/1, 1 marking the conditioning part.

  Raises:
    ValueError: if C is odd (the halves would not be equal).
  """
  height, width, channels = event_shape
  if channels % 2:
    raise ValueError(
        f"A channel mask needs an even number of channels; got C={channels} "
        f"in event shape {tuple(event_shape)}.")
  first_half = np.arange(channels) < channels // 2
  conditioning = first_half if parity == 0 else ~first_half
  return np.broadcast_to(conditioning.astype(np.float32),
                         (height, width, channels)).copy()


def make_mask(mask_type, event_shape, parity):
  """Returns the 0/1 mask [H, W, C] for `mask_type` in ('checkerboard', 'channel').

  Args:
    mask_type: "checkerboard" (`checkerboard_mask`) or "channel"
      (`channel_mask`), the two masks of paper sec. 3.4.
    event_shape: (H, W, C) of the coupling's input.
    parity: 0 or 1, as in `checkerboard_mask` and `channel_mask`.

  Returns:
    float32 numpy array [H, W, C] of 0/1; 1 marks the conditioning part that
    passes through unchanged.

  Raises:
    ValueError: for an unknown mask type or an odd channel count with 'channel'.
  """
  if mask_type == CHECKERBOARD:
    return checkerboard_mask(event_shape, parity)
  if mask_type == CHANNEL:
    return channel_mask(event_shape, parity)
  raise ValueError(f"mask_type must be one of {MASK_TYPES}; got {mask_type!r}.")


class MaskedCoupling(AugmentedBijector):
  """Base of the masked couplings: a 0/1 mask [H, W, C] and a network run on the conditioning part.

  The network receives `concat([b * x, b], axis=-1)` [N, H, W, C + 1] and
  the optional conditional input [N, K] (`_network_outputs`); subclasses
  define the coupling law.

  Keyword arguments: `conditional_input`, a float tensor [N, K] (e.g. a one-hot
  class label) passed to the network; None for an unconditional network.
  """

  accepted_kwargs = ("conditional_input",)
  #: Whether the network gives t alone (`ShiftAndLogScaleResNet(shift_only=)`).
  shift_only = False

  def __init__(self, mask, network, validate_args, parameters, name):
    """Stores the mask and the network.

    Args:
      mask: 0/1 array [H, W, C] (see `checkerboard_mask`, `channel_mask`).
      network: the subclass's network callable.
      validate_args: Python bool, TFP's argument validation flag.
      parameters: the subclass constructor's `dict(locals())`.
      name: bijector name, unique within its chain (kwargs are routed by name).

    Raises:
      ValueError: if `mask` is not of rank 3 [H, W, C].
    """
    self._mask = np.asarray(mask, dtype=np.float32)
    if self._mask.ndim != 3:
      raise ValueError(
          f"mask must have rank 3 [H, W, C]; got shape {self._mask.shape}.")
    self._network = network
    super().__init__(
        forward_min_event_ndims=3,
        validate_args=validate_args,
        parameters=parameters,
        name=name)

  @property
  def mask(self):
    """The 0/1 mask [H, W, C]; 1 marks the conditioning part."""
    return self._mask

  def _network_outputs(self, conditioner, conditional_input):
    """Runs the network on the conditioning part; returns its (log_scale, shift) and the mask b."""
    mask = tf.cast(self._mask, conditioner.dtype)
    batch_mask = tf.broadcast_to(
        mask[..., :1], tf.concat([tf.shape(conditioner)[:-1], [1]], axis=0))
    network_input = tf.concat([conditioner * mask, batch_mask], axis=-1)
    log_scale, shift = self._network(network_input, conditional_input)
    return log_scale, shift, mask


class AffineCoupling(MaskedCoupling):
  """Masked affine coupling on [H, W, C] events (paper eq. 4-7, mask form eq. 9).

  With b the 0/1 mask (1 = conditioning part) and (s, t) computed from the
  conditioning part only,

  ```none
  forward:  y = b * x + (1 - b) * (x * exp(s(b * x)) + t(b * x))
  inverse:  x = b * y + (1 - b) * (y - t(b * y)) * exp(-s(b * y))
  log|det dy/dx| = sum_{h,w,c} (1 - b) * s(b * x)
  ```

  The forward direction points from the latent side to the data side (TFP
  convention), so training runs `inverse`. s and t are never inverted, so they
  can be any network: `shift_and_log_scale_fn(network_input, conditional_input)`
  receives `concat([b * x, b], axis=-1)` of shape [N, H, W, C + 1] and the
  optional conditional input [N, K], and returns `(log_scale, shift)`, each
  [N, H, W, C]. Both are multiplied by (1 - b) here, so a network cannot leak
  into the conditioning part.

  Transform and log-determinant come from one evaluation of the network
  (TFP's greedy-attribute cache, as in `tfb.FFJORD`).

  Keyword arguments: `conditional_input`, as `MaskedCoupling`'s.
  """

  def __init__(self, mask, shift_and_log_scale_fn, validate_args=False,
               name="affine_coupling"):
    """Builds the coupling.

    Args:
      mask: 0/1 array [H, W, C] (see `checkerboard_mask`, `channel_mask`).
      shift_and_log_scale_fn: callable as described in the class docstring,
        usually a `tfp_realnvp.layers.ShiftAndLogScaleResNet` owned by a Keras
        model (TFP bijectors are not tracked by Keras 3, so the variables must
        live in the layer).
      validate_args: Python bool, TFP's argument validation flag.
      name: bijector name, unique within its chain (kwargs are routed by name).

    Raises:
      ValueError: if `mask` is not of rank 3 [H, W, C].
    """
    parameters = dict(locals())
    super().__init__(mask, shift_and_log_scale_fn, validate_args, parameters,
                     name)

  @property
  def shift_and_log_scale_fn(self):
    """The s/t network."""
    return self._network

  def _log_scale_and_shift(self, conditioner, conditional_input):
    """The masked (s, t) in the conditioner's dtype, the mask b and 1 - b."""
    log_scale, shift, mask = self._network_outputs(conditioner,
                                                   conditional_input)
    transformed = 1. - mask
    log_scale = tf.cast(log_scale, conditioner.dtype) * transformed
    shift = tf.cast(shift, conditioner.dtype) * transformed
    return log_scale, shift, mask, transformed

  def _augmented_forward(self, x, conditional_input=None):
    log_scale, shift, mask, transformed = self._log_scale_and_shift(
        x, conditional_input)
    y = mask * x + transformed * (x * tf.exp(log_scale) + shift)
    fldj = tf.reduce_sum(log_scale, axis=[-3, -2, -1])
    return y, {"fldj": fldj, "ildj": -fldj}

  def _augmented_inverse(self, y, conditional_input=None):
    log_scale, shift, mask, transformed = self._log_scale_and_shift(
        y, conditional_input)
    x = mask * y + transformed * (y - shift) * tf.exp(-log_scale)
    fldj = tf.reduce_sum(log_scale, axis=[-3, -2, -1])
    return x, {"fldj": fldj, "ildj": -fldj}
