"""The log-determinant of a channel map applied alike at every pixel.

Batch normalization, actnorm and the invertible 1x1 convolution (paper
sec. 3.7; Glow sec. 3.1 and 3.2) each transform the C channels of every
pixel by the same map, so the log|det| of the whole [H, W, C] event is
H * W times that of one pixel.
"""

import tensorflow as tf


def per_pixel_log_det(tensor, log_det_per_pixel):
  """H * W * `log_det_per_pixel`, broadcast to the batch shape of `tensor`.

  Args:
    tensor: float tensor [..., H, W, C], the bijector's input or output.
    log_det_per_pixel: scalar float tensor, the log|det| (nats) of the map
      of one pixel's C channels.

  Returns:
    float tensor [...] of `tensor`'s dtype (the batch shape), nats.
  """
  pixels = tf.cast(tf.reduce_prod(tf.shape(tensor)[-3:-1]), tensor.dtype)
  return tf.fill(tf.shape(tensor)[:-3],
                 pixels * tf.cast(log_det_per_pixel, tensor.dtype))
