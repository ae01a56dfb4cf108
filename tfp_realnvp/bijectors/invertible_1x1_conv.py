"""Invertible 1x1 convolution, LU-parameterized (Glow: Kingma & Dhariwal 2018, sec. 3.2).

Why a bijector of our own: `tfb.ScaleMatvecLU` converts the LU factors it is
given to tensors when it is built, so it cannot read a Keras 3 layer's
weights as they train; this bijector reads them from an `LUWeights` layer at
every call and does the algebra with TFP's `tfp.math.lu_reconstruct` and
`tfp.math.lu_matrix_inverse`. Its Jacobian comes from the LU form directly
instead of TFP's per-pixel reduction.
"""

import tensorflow as tf
import tensorflow_probability as tfp

from tfp_realnvp.bijectors.per_pixel import per_pixel_log_det


def _per_pixel(matrix, tensor):
  """matrix [C, C] times every pixel's channel vector of `tensor` [..., C], as one matrix product."""
  return tf.einsum("dc,...c->...d", matrix, tensor)


class Invertible1x1Conv(tfp.bijectors.Bijector):
  """A learned C x C channel mixing applied at every pixel of [H, W, C] events (Glow eq. 9-10).

  With W = P^T L (U + diag(s)) from an `LUWeights` layer, per pixel:

  ```none
  inverse (data -> latent):  x = W y
  forward (latent -> data):  y = W^-1 x
  log|det dx/dy| = H * W_img * sum_c log|s_c|   (inverse log-det)
  ```

  The data-to-latent direction (training) is Glow's z = W x, one matrix
  product; sampling inverts W once per call. The log-determinants do not
  depend on the input and are broadcast to its batch shape.
  """

  def __init__(self, weights, validate_args=False, name="invertible_1x1_conv"):
    """Builds the bijector.

    Args:
      weights: a built `tfp_realnvp.layers.LUWeights` layer for C channels.
      validate_args: Python bool, TFP's argument validation flag.
      name: bijector name, unique within its chain.
    """
    parameters = dict(locals())
    self._weights = weights
    super().__init__(forward_min_event_ndims=3,
                     validate_args=validate_args, parameters=parameters,
                     name=name)

  @classmethod
  def _parameter_properties(cls, dtype):
    return dict()

  @property
  def lu_weights(self):
    """The `LUWeights` layer holding W."""
    return self._weights

  def _from_factors(self, lu_function, dtype):
    """`lu_function` (a `tfp.math` LU function) of W's factors, cast to `dtype`."""
    return tf.cast(lu_function(
        self._weights.packed_lower_upper(),
        tf.convert_to_tensor(self._weights.permutation),
        validate_args=self.validate_args), dtype)

  def _inverse(self, y):
    return _per_pixel(self._from_factors(tfp.math.lu_reconstruct, y.dtype), y)

  def _forward(self, x):
    return _per_pixel(
        self._from_factors(tfp.math.lu_matrix_inverse, x.dtype), x)

  def _inverse_log_det_jacobian(self, y):
    return per_pixel_log_det(y, tf.reduce_sum(self._weights.log_scale()))

  def _forward_log_det_jacobian(self, x):
    return -self._inverse_log_det_jacobian(x)
