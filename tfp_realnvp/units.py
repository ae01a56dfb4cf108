"""Unit conversions between log-densities in nats and bits per dimension.

Bits/dim (the paper's reported unit, Dinh et al. 2017, sec. 4.2) is the
negative log-density in base 2 divided by the number of pixel values
D = H * W * C: -log p(x) / (D ln 2) for log p(x) in nats.
"""

import math


def nats_to_bits_per_dim(log_prob, num_dims):
  """Bits per dimension -log_prob / (D ln 2) of log-densities `log_prob` in nats.

  Args:
    log_prob: float tensor [N], log-density over pixel space [0, 256)^D.
    num_dims: D = H * W * C.

  Returns:
    float tensor [N], bits/dim (the paper's reported unit).
  """
  return -nats_per_image_to_bits_per_dim(log_prob, num_dims)


def nats_per_image_to_bits_per_dim(value, num_dims):
  """`value` on the nats-per-image scale (the official code's loss) restated on the bits/dim scale: value / (D ln 2).

  Coefficients and bounds of the official code (its L2 coefficient, its
  gradient clipping) apply to our bits/dim loss after this conversion.

  Args:
    value: float or float tensor (any shape) in nats per image.
    num_dims: D = H * W * C.

  Returns:
    float or tensor: value / (D ln 2), of `value`'s type and shape (no sign
    change; a log-density gives minus the bits/dim, see
    `nats_to_bits_per_dim`).
  """
  return value / (num_dims * math.log(2.0))
