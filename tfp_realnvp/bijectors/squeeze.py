"""Squeeze: [H, W, C] -> [H/2, W/2, 4C] (paper sec. 3.6, fig. 3), from TFP's own bijectors."""

import tensorflow_probability as tfp

tfb = tfp.bijectors


def squeeze(event_shape, name="squeeze"):
  """Returns a bijector that squeezes [N, H, W, C] into [N, H/2, W/2, 4C].

  Each 2x2 spatial block becomes 4C channels, ordered like
  `tf.nn.space_to_depth(x, 2)` (row offset, column offset, channel). It is a
  permutation, so log|det| = 0. Composed from TFP's `Reshape` and `Transpose`,
  so no bijector of our own is needed. `forward` squeezes, `inverse` unsqueezes;
  use `tfb.Invert(squeeze(...))` where the data-to-latent direction squeezes.

  Args:
    event_shape: (H, W, C) of the unsqueezed event; H and W must be even.
    name: name of the returned `tfb.Chain`.

  Returns:
    A `tfb.Chain` bijector with forward event shape (H, W, C) -> (H/2, W/2, 4C).

  Raises:
    ValueError: if `event_shape` is not rank 3 or H or W is odd.
  """
  if len(event_shape) != 3:
    raise ValueError(
        f"squeeze needs an event shape (H, W, C); got {tuple(event_shape)}.")
  height, width, channels = (int(d) for d in event_shape)
  if height % 2 or width % 2:
    raise ValueError(
        f"squeeze needs even height and width; got H={height}, W={width} "
        f"in event shape {tuple(event_shape)}.")
  blocks = [height // 2, 2, width // 2, 2, channels]
  return tfb.Chain([
      tfb.Reshape(event_shape_out=[height // 2, width // 2, 4 * channels],
                  event_shape_in=[height // 2, width // 2, 2, 2, channels],
                  name="merge_blocks"),
      tfb.Transpose(perm=[0, 2, 1, 3, 4], name="group_blocks"),
      tfb.Reshape(event_shape_out=blocks,
                  event_shape_in=[height, width, channels],
                  name="split_blocks"),
  ], name=name)
