"""Additive coupling with checkerboard and channel masks (NICE: Dinh et al. 2015, sec. 3.2, eq. 7).

Why a bijector of our own: as for `AffineCoupling`, TFP's couplings
(`tfb.RealNVP` with `shift_only=True`) mask rank-1 events only.
"""

import tensorflow as tf

from tfp_realnvp.bijectors.coupling import MaskedCoupling


class AdditiveCoupling(MaskedCoupling):
  """Masked additive coupling on [H, W, C] events (NICE eq. 7, in Real NVP's mask form).

  With b the 0/1 mask (1 = conditioning part) and t computed from the
  conditioning part only,

  ```none
  forward:  y = x + (1 - b) * t(b * x)
  inverse:  x = y - (1 - b) * t(b * y)
  log|det dy/dx| = 0                      (volume-preserving)
  ```

  The network is called as by `AffineCoupling` and returns `(log_scale,
  shift)`; log_scale must be None (`ShiftAndLogScaleResNet(shift_only=True)`),
  so that no parameter of it is left without a gradient.

  Keyword arguments: `conditional_input`, as `MaskedCoupling`'s.
  """

  shift_only = True

  def __init__(self, mask, shift_fn, validate_args=False,
               name="additive_coupling"):
    """Builds the coupling.

    Args:
      mask: 0/1 array [H, W, C] (see `checkerboard_mask`, `channel_mask`).
      shift_fn: callable `(network_input, conditional_input)` returning
        `(None, shift)`, shift [N, H, W, C] (see the class docstring).
      validate_args: Python bool, TFP's argument validation flag.
      name: bijector name, unique within its chain (kwargs are routed by name).

    Raises:
      ValueError: if `mask` is not of rank 3 [H, W, C].
    """
    parameters = dict(locals())
    super().__init__(mask, shift_fn, validate_args, parameters, name)

  @property
  def shift_fn(self):
    """The t network."""
    return self._network

  def _masked_shift(self, conditioner, conditional_input):
    log_scale, shift, mask = self._network_outputs(conditioner,
                                                   conditional_input)
    if log_scale is not None:
      raise ValueError(
          f"An additive coupling's network must return (None, shift); "
          f"{self.name}'s returned a log_scale (use "
          f"ShiftAndLogScaleResNet(shift_only=True)).")
    return tf.cast(shift, conditioner.dtype) * (1. - mask)

  def _zero_log_det(self, tensor):
    return tf.zeros(tf.shape(tensor)[:-3], tensor.dtype)

  def _forward_log_det_jacobian(self, x, conditional_input=None):
    del conditional_input  # Zero without running the network.
    return self._zero_log_det(x)

  def _inverse_log_det_jacobian(self, y, conditional_input=None):
    del conditional_input
    return self._zero_log_det(y)

  def _augmented_forward(self, x, conditional_input=None):
    y = x + self._masked_shift(x, conditional_input)
    zero = self._zero_log_det(x)
    return y, {"fldj": zero, "ildj": zero}

  def _augmented_inverse(self, y, conditional_input=None):
    x = y - self._masked_shift(y, conditional_input)
    zero = self._zero_log_det(y)
    return x, {"fldj": zero, "ildj": zero}
