"""Squeeze: [H, W, C] -> [H/2, W/2, 4C] (paper sec. 3.6, fig. 3), from TFP's own bijectors."""

import tensorflow_probability as tfp

tfb = tfp.bijectors

SPACE_TO_DEPTH_ORDER = (0, 1, 2, 3)
# Offsets (0,0), (1,1) first, then (0,1), (1,0): the first 2C channels hold one
# checkerboard parity and the last 2C the other (the official code's
# `squeeze_2x2_ordered`), so channel masks and factor-out split checkerboards.
CHECKERBOARD_ORDER = (0, 3, 1, 2)


def squeeze(event_shape, order=SPACE_TO_DEPTH_ORDER, name="squeeze"):
  """Returns a bijector that squeezes [N, H, W, C] into [N, H/2, W/2, 4C].

  Each 2x2 spatial block becomes 4C channels: 4 groups of C, one per offset
  (row, column) of the block, enumerated (0,0), (0,1), (1,0), (1,1) and taken
  in `order`. The default order equals `tf.nn.space_to_depth(x, 2)`;
  `CHECKERBOARD_ORDER` puts the two checkerboard parities in the two channel
  halves. A permutation, so log|det| = 0. Composed from TFP's `Reshape`,
  `Transpose` and `Permute`, so no bijector of our own is needed. `forward`
  squeezes, `inverse` unsqueezes; use `tfb.Invert(squeeze(...))` where the
  data-to-latent direction squeezes.

  Args:
    event_shape: (H, W, C) of the unsqueezed event; H and W must be even.
    order: permutation of (0, 1, 2, 3), the offsets' order in the channels.
    name: name of the returned `tfb.Chain`.

  Returns:
    A `tfb.Chain` bijector with forward event shape (H, W, C) -> (H/2, W/2, 4C).

  Raises:
    ValueError: if `event_shape` is not rank 3, H or W is odd, or `order` is
      not a permutation of (0, 1, 2, 3).
  """
  if len(event_shape) != 3:
    raise ValueError(
        f"squeeze needs an event shape (H, W, C); got {tuple(event_shape)}.")
  height, width, channels = (int(d) for d in event_shape)
  if height % 2 or width % 2:
    raise ValueError(
        f"squeeze needs even height and width; got H={height}, W={width} "
        f"in event shape {tuple(event_shape)}.")
  if sorted(order) != [0, 1, 2, 3]:
    raise ValueError(f"order must be a permutation of (0, 1, 2, 3); got "
                     f"{tuple(order)}.")
  half_height, half_width = height // 2, width // 2
  steps = [
      tfb.Reshape(event_shape_out=[half_height, half_width, 4 * channels],
                  event_shape_in=[half_height, half_width, 4, channels],
                  name="merge_offsets"),
      tfb.Reshape(event_shape_out=[half_height, half_width, 4, channels],
                  event_shape_in=[half_height, half_width, 2, 2, channels],
                  name="flatten_offsets"),
      tfb.Transpose(perm=[0, 2, 1, 3, 4], name="group_offsets"),
      tfb.Reshape(event_shape_out=[half_height, 2, half_width, 2, channels],
                  event_shape_in=[height, width, channels],
                  name="split_blocks"),
  ]
  if tuple(order) != SPACE_TO_DEPTH_ORDER:
    steps.insert(1, tfb.Permute(permutation=list(order), axis=-2,
                                name="order_offsets"))
  return tfb.Chain(steps, name=name)
