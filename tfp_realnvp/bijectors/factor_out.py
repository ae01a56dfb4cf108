"""Multi-scale factor-out (paper sec. 3.6, eq. 13-16).

Why a bijector of our own: TFP's `Split` and `Blockwise` act on rank-1 events;
none applies a rank-3 [H, W, C] bijector to a slice of the channels and leaves
the rest as latents. (`tfb.Glow` has such a step only as internal code.)
"""

import tensorflow as tf

from tfp_realnvp.bijectors.augmented import AugmentedBijector


class FactorOut(AugmentedBijector):
  """Leaves the first `num_factored` channels alone and applies `inner` to the rest.

  On [N, H, W, C] events with z = [z_out, z_in] split along channels:

  ```none
  forward:  [z_out, z_in] -> [z_out, inner.forward(z_in)]
  inverse:  [x_out, x_in] -> [x_out, inner.inverse(x_in)]
  log|det| = inner's log|det| on z_in
  ```

  In the data-to-latent direction (`inverse`), x_out leaves the flow at this
  scale as latents with a standard normal prior, and `inner` (the next,
  coarser scale) models x_in. Keyword arguments go to `inner` unchanged, so a
  `tfb.Chain` inside receives its name-routed dictionary.
  """

  def __init__(self, inner, num_factored, validate_args=False,
               name="factor_out"):
    """Builds the factor-out.

    Args:
      inner: bijector on [N, H, W, C - num_factored] events.
      num_factored: Python int, number of leading channels factored out.
      validate_args: Python bool, TFP's argument validation flag.
      name: bijector name, unique within its chain.

    Raises:
      ValueError: if `num_factored` is not a positive int.
    """
    parameters = dict(locals())
    if int(num_factored) < 1:
      raise ValueError(f"num_factored must be >= 1; got {num_factored}.")
    self._inner = inner
    self._num_factored = int(num_factored)
    super().__init__(
        forward_min_event_ndims=3,
        validate_args=validate_args,
        parameters=parameters,
        name=name)

  @property
  def inner(self):
    """The bijector applied to the channels that stay in the flow."""
    return self._inner

  @property
  def num_factored(self):
    """Number of leading channels that leave the flow here."""
    return self._num_factored

  def _split(self, tensor):
    # tf.split's gradient is a concat; a slice's scatters into zeros.
    return tf.split(tensor, [self._num_factored, -1], axis=-1)

  def _augmented_forward(self, x, **kwargs):
    factored, rest = self._split(x)
    rest_out = self._inner.forward(rest, **kwargs)
    fldj = self._inner.forward_log_det_jacobian(rest, event_ndims=3, **kwargs)
    return tf.concat([factored, rest_out], axis=-1), {"fldj": fldj, "ildj": -fldj}

  def _augmented_inverse(self, y, **kwargs):
    factored, rest = self._split(y)
    rest_out = self._inner.inverse(rest, **kwargs)
    ildj = self._inner.inverse_log_det_jacobian(rest, event_ndims=3, **kwargs)
    return tf.concat([factored, rest_out], axis=-1), {"fldj": -ildj, "ildj": ildj}
