"""Batch normalization as a bijector with running averages (paper sec. 3.7).

Why a bijector of our own: `tfb.BatchNormalization` wraps a Keras-2 layer,
whose variables Keras 3 does not track, and fixes `training` when it is built;
here the state is a Keras 3 layer and `training` is a call argument.
"""

import tensorflow as tf

from tfp_realnvp.bijectors.augmented import AugmentedBijector
from tfp_realnvp.bijectors.per_pixel import per_pixel_log_det


def batch_moments(tensor):
  """Per-channel mean and biased variance [C] of `tensor` [N, H, W, C] over N, H, W.

  The batch statistics of the paper's batch normalization (sec. 3.7). Under a
  distribution strategy with several replicas the statistics are those
  of the global batch: the replicas' sums are all-reduced (synchronized batch
  normalization), so that training on k replicas normalizes exactly as on one
  device with the same global batch.

  Args:
    tensor: float tensor [N, H, W, C] (the input of
      `BatchNormalization.inverse`).

  Returns:
    (mean, variance), each a tensor [C] of `tensor`'s dtype; the variance is
    biased (divided by the count N * H * W, as `tf.nn.moments`).
  """
  context = tf.distribute.get_replica_context()
  if context is None or context.num_replicas_in_sync == 1:
    return tf.nn.moments(tensor, axes=[0, 1, 2])
  sum_ = tf.distribute.ReduceOp.SUM
  count = tf.cast(tf.reduce_prod(tf.shape(tensor)[:-1]), tensor.dtype)
  total, count = context.all_reduce(
      sum_, [tf.reduce_sum(tensor, axis=[0, 1, 2]), count])
  mean = total / count
  squares = context.all_reduce(
      sum_, tf.reduce_sum(tf.square(tensor - mean), axis=[0, 1, 2]))
  return mean, squares / count


class BatchNormalization(AugmentedBijector):
  """Per-channel normalization of [N, H, W, C] activations, invertible.

  With mu, var the per-channel statistics and eps the layer's epsilon:

  ```none
  inverse (data -> latent):  x = (y - mu) / sqrt(var + eps)
  forward (latent -> data):  y = x * sqrt(var + eps) + mu
  log|det dy/dx| = 1/2 * H * W * sum_c log(var_c + eps)
  ```

  With `training=True`, `inverse` uses the batch's mean and (biased) variance
  over N, H, W (of the global batch under a distribution strategy, see
  `batch_moments`), and moves the running averages towards them; the
  log-determinant uses the batch variance, and gradients flow through the
  batch statistics (as in the official code's `batch_norm_log_diff`).
  Otherwise, and always in `forward`, the running averages are used.

  Keyword arguments: `training`, Python bool (default False).
  """

  accepted_kwargs = ("training",)

  def __init__(self, moments, validate_args=False, name="batch_norm"):
    """Builds the batch normalization.

    Args:
      moments: a built `tfp_realnvp.layers.MovingMoments` layer holding the
        running mean and variance [C] and epsilon.
      validate_args: Python bool, TFP's argument validation flag.
      name: bijector name, unique within its chain.
    """
    parameters = dict(locals())
    self._moments = moments
    super().__init__(
        forward_min_event_ndims=3,
        validate_args=validate_args,
        parameters=parameters,
        name=name)

  @property
  def moments(self):
    """The `MovingMoments` layer holding the running statistics."""
    return self._moments

  def _moving_statistics(self, dtype):
    return (tf.cast(self._moments.moving_mean, dtype),
            tf.cast(self._moments.moving_variance, dtype))

  def _log_det(self, tensor, variance):
    """1/2 * H * W * sum_c log(var_c + eps), broadcast to the batch shape [N]."""
    return per_pixel_log_det(tensor, 0.5 * tf.reduce_sum(
        tf.math.log(variance + self._moments.epsilon)))

  def _augmented_forward(self, x, training=False):
    del training  # The forward direction cannot know a batch's statistics.
    mean, variance = self._moving_statistics(x.dtype)
    y = x * tf.sqrt(variance + self._moments.epsilon) + mean
    fldj = self._log_det(x, variance)
    return y, {"fldj": fldj, "ildj": -fldj}

  def _augmented_inverse(self, y, training=False):
    if training:
      mean, variance = batch_moments(y)
      self._moments.update(mean, variance)
    else:
      mean, variance = self._moving_statistics(y.dtype)
    x = (y - mean) * tf.math.rsqrt(variance + self._moments.epsilon)
    fldj = self._log_det(y, variance)
    return x, {"fldj": fldj, "ildj": -fldj}
