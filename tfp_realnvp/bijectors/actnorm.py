"""Actnorm: per-channel affine normalization with data-dependent initialization (Glow: Kingma & Dhariwal 2018, sec. 3.1).

Why a bijector of our own: TFP has actnorm only inside `tfb.Glow`, whose
variables Keras 3 cannot see (TFP#355, #1997) and which initializes itself
from whatever batch it first sees (a warm-up batch of zeros gives NaN). Here
the weights and the initialized flag are Keras weights of an
`ActNormWeights` layer, and the initialization uses the first training
batch (the global batch under a distribution strategy).
"""

import tensorflow as tf

from tfp_realnvp.bijectors.augmented import AugmentedBijector
from tfp_realnvp.bijectors.batch_norm import batch_moments
from tfp_realnvp.bijectors.per_pixel import per_pixel_log_det


class ActNorm(AugmentedBijector):
  """z = y * exp(log_scale) + bias per channel of [N, H, W, C] events (Glow eq. in Table 1).

  With (log_scale, bias) [C] from an `ActNormWeights` layer:

  ```none
  inverse (data -> latent):  x = y * exp(log_scale) + bias
  forward (latent -> data):  y = (x - bias) * exp(-log_scale)
  log|det dy/dx| = -H * W * sum_c log_scale_c
  ```

  With `training=True`, `inverse` first initializes the weights from the
  batch, if they were never initialized: per-channel mean m and variance v
  of y over N, H, W (of the global batch under a distribution strategy,
  `batch_moments`) give exp(log_scale) = 1 / (sqrt(v) + epsilon) and bias =
  -m exp(log_scale), so that the batch's x has mean 0 and variance 1 per
  channel. After that they are ordinary trained parameters; `training` no
  longer changes anything. The log-determinant does not depend on the input.

  Keyword arguments: `training`, Python bool (default False).
  """

  accepted_kwargs = ("training",)

  def __init__(self, weights, validate_args=False, name="actnorm"):
    """Builds the actnorm.

    Args:
      weights: a built `tfp_realnvp.layers.ActNormWeights` layer for C
        channels.
      validate_args: Python bool, TFP's argument validation flag.
      name: bijector name, unique within its chain.
    """
    parameters = dict(locals())
    self._weights = weights
    super().__init__(forward_min_event_ndims=3, validate_args=validate_args,
                     parameters=parameters, name=name)

  @property
  def actnorm_weights(self):
    """The `ActNormWeights` layer holding log_scale, bias and the initialized flag."""
    return self._weights

  def _log_scale_and_bias(self, dtype):
    return (tf.cast(self._weights.log_scale, dtype),
            tf.cast(self._weights.bias, dtype))

  def _log_det(self, tensor, log_scale):
    """-H * W * sum_c log_scale_c (the forward log-det), broadcast to the batch shape [N]."""
    return per_pixel_log_det(tensor, -tf.reduce_sum(log_scale))

  def _augmented_forward(self, x, training=False):
    del training  # Initialization needs data, which only `inverse` sees.
    log_scale, bias = self._log_scale_and_bias(x.dtype)
    y = (x - bias) * tf.exp(-log_scale)
    fldj = self._log_det(x, log_scale)
    return y, {"fldj": fldj, "ildj": -fldj}

  def _augmented_inverse(self, y, training=False):
    if training:
      self._weights.initialize(*batch_moments(y))
    log_scale, bias = self._log_scale_and_bias(y.dtype)
    x = y * tf.exp(log_scale) + bias
    fldj = self._log_det(y, log_scale)
    return x, {"fldj": fldj, "ildj": -fldj}
