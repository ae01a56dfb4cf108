"""How an affine coupling's s/t network sees the conditioning part: masked or split.

Both layouts give the network the same information, the values of the
conditioning part x_b = {x_i : b_i = 1}, and return (s, t) on the event's
[H, W, C] grid with zeros on the conditioning part, so the coupling's
transform and log-determinant (paper eq. 6-9) do not depend on the layout.
They differ in what the network computes on:

- "masked" (paper eq. 9, the official code): the network runs at the event's
  full resolution on concat([b * x, b]) [H, W, C + 1] and outputs s and t for
  all C channels, of which the (1 - b) part is kept. Half of its input is
  zeros and half of its output is thrown away.
- "split": the network runs on the conditioning values alone, packed into a
  dense tensor, and outputs s and t for the transformed values alone. A
  channel mask packs into a channel slice [H, W, C/2]. A checkerboard mask on
  even H and W packs after a squeeze (space-to-depth, paper sec. 3.6): every
  2x2 block holds two conditioning and two transformed pixels, so the
  network sees [H/2, W/2, 2C] and its convolutions cost a quarter of the
  full-resolution ones. Its output [H/2, W/2, 2C] is put back on the
  transformed pixels.

REFERENCE: Dinh et al. 2017 sec. 3.4 (masks), eq. 9 (the masked form); s and
t may be any function of x_b (sec. 3.3), which "split" uses.
"""

import numpy as np
import tensorflow as tf

MASKED = "masked"
SPLIT = "split"
#: Layouts `network_input` accepts (module docstring).
NETWORK_INPUTS = (MASKED, SPLIT)


def _space_to_depth(array):
  """numpy [H, W, C] -> [H/2, W/2, 4C] in `tf.nn.space_to_depth`'s order."""
  height, width, channels = array.shape
  blocks = array.reshape(height // 2, 2, width // 2, 2, channels)
  return blocks.transpose(0, 2, 1, 3, 4).reshape(height // 2, width // 2,
                                                 4 * channels)


def split_layout(mask):
  """Whether and how the conditioning part of `mask` packs into a dense tensor.

  Args:
    mask: 0/1 numpy array [H, W, C], 1 marking the conditioning part.

  Returns:
    `(squeezed, conditioning, transformed)`, or None if `mask` does not
    pack: squeezed is True when the tensor is squeezed (space-to-depth by 2)
    first; conditioning and transformed are int arrays of channel indices
    (of the squeezed tensor when squeezed) holding the two parts. A mask
    packs when each channel (after the squeeze, if any) is entirely
    conditioning or entirely transformed: channel masks unsqueezed,
    checkerboard masks squeezed when H and W are even.
  """
  height, width, _ = mask.shape
  candidates = [(False, mask)]
  if height % 2 == 0 and width % 2 == 0:
    candidates.append((True, _space_to_depth(mask)))
  for squeezed, view in candidates:
    per_position = view.reshape(-1, view.shape[-1])
    if np.all(per_position == per_position[:1]):
      channels = per_position[0]
      return (squeezed, np.flatnonzero(channels == 1),
              np.flatnonzero(channels == 0))
  return None


def _runs(is_conditioning):
  """Maximal runs of equal values: [(conditioning?, start, stop)] over the channels."""
  runs, start = [], 0
  for stop in range(1, len(is_conditioning) + 1):
    if (stop == len(is_conditioning)
        or is_conditioning[stop] != is_conditioning[start]):
      runs.append((bool(is_conditioning[start]), start, stop))
      start = stop
  return runs


def _concat(tensors):
  return tensors[0] if len(tensors) == 1 else tf.concat(tensors, axis=-1)


class MaskedInput:
  """The "masked" layout of paper eq. 9: the network sees concat([b * x, b]) at full resolution.

  `split(x)` gives (b * x, x); the network's s and t [N, H, W, C] are zeroed
  on the conditioning part, so x * exp(s) + t leaves that part exactly
  unchanged and `merge` returns the transformed tensor as it is.

  Args:
    mask: float32 0/1 numpy array [H, W, C], 1 marking the conditioning part.
  """

  def __init__(self, mask):
    self._mask = mask

  @property
  def input_shape(self):
    """The network's input event shape (H, W, C + 1)."""
    height, width, channels = self._mask.shape
    return (height, width, channels + 1)

  @property
  def output_channels(self):
    """Channels C of s and t (the network returns them for every channel)."""
    return self._mask.shape[-1]

  def split(self, x):
    """Splits an event into the conditioning part and the part to transform.

    Args:
      x: float tensor [N, H, W, C].

    Returns:
      (b * x, x), both [N, H, W, C].
    """
    return x * tf.cast(self._mask, x.dtype), x

  def network_input(self, conditioning):
    """The network's input for the conditioning part (paper eq. 9).

    Args:
      conditioning: b * x, float tensor [N, H, W, C].

    Returns:
      concat([b * x, b], axis=-1), [N, H, W, C + 1].
    """
    batch_mask = tf.broadcast_to(
        tf.cast(self._mask[..., :1], conditioning.dtype),
        tf.concat([tf.shape(conditioning)[:-1], [1]], axis=0))
    return tf.concat([conditioning, batch_mask], axis=-1)

  def network_output(self, values):
    """Restricts a network output to the transformed part.

    Args:
      values: s or t, float tensor [N, H, W, C].

    Returns:
      (1 - b) * values, [N, H, W, C].
    """
    return values * tf.cast(1. - self._mask, values.dtype)

  def merge(self, conditioning, transformed):
    """Puts the two parts back together.

    Args:
      conditioning: b * x [N, H, W, C] (unused: `transformed` holds x there).
      transformed: x * exp(s) + t or its inverse, [N, H, W, C], equal to x
        on the conditioning part since s = t = 0 there.

    Returns:
      `transformed`.
    """
    del conditioning
    return transformed


class SplitInput:
  """The "split" layout: the conditioning and transformed values, each densely packed.

  `split(x)` squeezes x if the mask needs it and slices its channels into
  the conditioning part (the network's input) and the transformed part (of
  the shape of the network's outputs s and t); `merge` puts the two back.

  Args:
    mask: float32 0/1 numpy array [H, W, C] for which `split_layout` is not
      None.

  Raises:
    ValueError: if the mask does not pack (`split_layout`).
  """

  def __init__(self, mask):
    layout = split_layout(mask)
    if layout is None:
      raise ValueError(
          f"network_input='split' needs a channel mask, or a checkerboard "
          f"mask on even height and width; got a mask of shape {mask.shape} "
          f"that is neither (use network_input='masked').")
    self._event_shape = mask.shape
    self._squeezed, conditioning, transformed = layout
    is_conditioning = np.zeros(len(conditioning) + len(transformed), bool)
    is_conditioning[conditioning] = True
    self._num_conditioning = len(conditioning)
    self._runs = _runs(is_conditioning)

  @property
  def input_shape(self):
    """The network's input event shape, (H/2, W/2, 2C) for a checkerboard mask or (H, W, C/2) for a channel mask."""
    height, width, _ = self._event_shape
    if self._squeezed:
      height, width = height // 2, width // 2
    return (height, width, self._num_conditioning)

  @property
  def output_channels(self):
    """Number of transformed channels the network returns s and t for."""
    channels = self._runs[-1][2]
    return channels - self._num_conditioning

  def split(self, x):
    """Splits an event into the conditioning and the transformed values, each packed.

    Args:
      x: float tensor [N, H, W, C].

    Returns:
      (conditioning [N, h, w, k] (input_shape), transformed [N, h, w,
      output_channels]) with (h, w) = input_shape[:2].
    """
    if self._squeezed:
      x = tf.nn.space_to_depth(x, 2)
    # tf.split, not slicing: the gradient of a slice scatters into a tensor
    # of zeros, which cost 10% of a training step.
    pieces = tf.split(x, [stop - start for _, start, stop in self._runs],
                      axis=-1)
    parts = {True: [], False: []}
    for (is_conditioning, _, _), piece in zip(self._runs, pieces):
      parts[is_conditioning].append(piece)
    return _concat(parts[True]), _concat(parts[False])

  def network_input(self, conditioning):
    """The network's input: the packed conditioning values.

    Args:
      conditioning: float tensor [N, h, w, k] (input_shape).

    Returns:
      `conditioning`.
    """
    return conditioning

  def network_output(self, values):
    """A network output, which already has one channel per transformed value.

    Args:
      values: s or t, float tensor [N, h, w, output_channels].

    Returns:
      `values`.
    """
    return values

  def merge(self, conditioning, transformed):
    """Puts the two packed parts back on the event's grid (the inverse of `split`).

    Args:
      conditioning: float tensor [N, h, w, k] (input_shape).
      transformed: float tensor [N, h, w, output_channels].

    Returns:
      float tensor [N, H, W, C].
    """
    pieces = {}
    for is_conditioning, part in ((True, conditioning), (False, transformed)):
      sizes = [stop - start for c, start, stop in self._runs
               if c == is_conditioning]
      pieces[is_conditioning] = iter(tf.split(part, sizes, axis=-1))
    x = _concat([next(pieces[is_conditioning])
                 for is_conditioning, _, _ in self._runs])
    if self._squeezed:
      x = tf.nn.depth_to_space(x, 2)
    return x


def make_network_input(kind, mask):
  """The layout object for `kind` in ("masked", "split") and `mask` [H, W, C].

  Args:
    kind: "masked" or "split" (module docstring).
    mask: 0/1 numpy array [H, W, C], 1 marking the conditioning part.

  Returns:
    A `MaskedInput` or `SplitInput`: `input_shape` and `output_channels`
    of the network; `split(x)` -> (conditioning, transformed),
    `network_input(conditioning)`, `network_output(s or t)` and
    `merge(conditioning, transformed)` -> x.

  Raises:
    ValueError: for an unknown kind, or "split" with a mask that does not
      pack (`split_layout`).
  """
  if kind == MASKED:
    return MaskedInput(np.asarray(mask, np.float32))
  if kind == SPLIT:
    return SplitInput(np.asarray(mask, np.float32))
  raise ValueError(f"network_input must be one of {NETWORK_INPUTS}; got "
                   f"{kind!r}.")
