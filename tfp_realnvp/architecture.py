"""Builds the multi-scale Real NVP flow (paper sec. 3.6) from layer factories."""

import tensorflow_probability as tfp

from tfp_realnvp.bijectors import ActNorm
from tfp_realnvp.bijectors import AdditiveCoupling
from tfp_realnvp.bijectors import AffineCoupling
from tfp_realnvp.bijectors import BatchNormalization
from tfp_realnvp.bijectors import FactorOut
from tfp_realnvp.bijectors import Invertible1x1Conv
from tfp_realnvp.bijectors import logit_transform
from tfp_realnvp.bijectors import make_mask
from tfp_realnvp.bijectors import squeeze

tfb = tfp.bijectors

#: The coupling laws (`ModelConfig.coupling`) and their bijectors.
COUPLINGS = {"affine": AffineCoupling, "additive": AdditiveCoupling}
#: The normalizations after each coupling (`ModelConfig.normalization`) and
#: their bijectors (None: no normalization).
NORMALIZATIONS = {"batch_norm": BatchNormalization, "actnorm": ActNorm,
                  "none": None}


def max_num_scales(image_shape):
  """Largest `num_scales` for `image_shape` (H, W, C): every scale but the last halves H and W.

  Each scale but the last squeezes [H, W, C] into [H/2, W/2, 4C] (paper sec.
  3.6), so H and W must both be even at every such scale.

  Args:
    image_shape: (H, W, C) of the images, positive ints; only H and W are
      read.

  Returns:
    int >= 1: one more than the number of times H and W can both be halved
    (28x28: 3, 32x32: 6, 64x64: 7).
  """
  height, width = image_shape[0], image_shape[1]
  scales = 1
  while height % 2 == 0 and width % 2 == 0:
    height, width, scales = height // 2, width // 2, scales + 1
  return scales


def scale_shapes(image_shape, num_scales):
  """Event shapes (H, W, C) that the flow's scales work on, finest first.

  Args:
    image_shape: (H, W, C) of the images.
    num_scales: int, number of scales (paper sec. 3.6).

  Returns:
    List of `num_scales` tuples; scale k has (H / 2^k, W / 2^k, 2^k C).

  Raises:
    ValueError: if H or W cannot be halved `num_scales - 1` times.
  """
  limit = max_num_scales(image_shape)
  if not 1 <= num_scales <= limit:
    height, width = image_shape[0], image_shape[1]
    raise ValueError(
        f"num_scales must be in [1, {limit}] for image shape "
        f"{tuple(image_shape)}: {height}x{width} allows num_scales <= "
        f"{limit}; got {num_scales} (each scale but the last halves H and "
        f"W){_resize_hint(height, width, num_scales)}.")
  height, width, channels = image_shape
  shapes = [(height, width, channels)]
  for _ in range(num_scales - 1):
    height, width, channels = height // 2, width // 2, 2 * channels
    shapes.append((height, width, channels))
  return shapes


def _resize_hint(height, width, num_scales):
  """"; resize the images (--image-size), e.g. 20x24 allows 3" for the nearest size that allows `num_scales`."""
  if num_scales < 1:
    return ""
  step = 2 ** (num_scales - 1)
  nearest = [max(step, step * round(side / step)) for side in (height, width)]
  return (f"; resize the images (--image-size H W, image_size=) to sides "
          f"divisible by {step}, e.g. {nearest[0]}x{nearest[1]} allows "
          f"{num_scales}")


class FlowBuilder:
  """Assembles the bijector; the layers it needs come from the given factories.

  The multi-scale architecture of paper sec. 3.6; the caller (the Keras
  model) owns what the factories create.

  Args:
    num_coupling_layers: int >= 1, couplings per half-scale (paper: 3): each
      scale but the last has that many checkerboard couplings, then as many
      channel couplings; the last scale has `num_coupling_layers + 1`
      checkerboard couplings (paper sec. 4.1: four).
    make_network: callable `(name, event_shape)` returning a built s/t
      network for a coupling on `event_shape` (H, W, C), called as
      the coupling describes (`ShiftAndLogScaleResNet`; with
      `shift_only=True` for an additive coupling).
    make_normalization_weights: callable `(name, channels)` returning the
      built layer of the normalization after a coupling on `channels`
      channels: `MovingMoments` for "batch_norm", `ActNormWeights` for
      "actnorm" (not called for "none").
    make_lu_weights: callable `(name, channels)` returning a built
      `LUWeights` layer for an invertible 1x1 convolution before a
      coupling on `channels` channels (Glow sec. 3.2), or None to leave it
      out; None (the paper's flow): no such factory.
    coupling: a key of `COUPLINGS`: "affine" (paper eq. 4) or "additive"
      (NICE).
    normalization: a key of `NORMALIZATIONS`: "batch_norm" (paper sec.
      3.7), "actnorm" (Glow sec. 3.1) or "none".

  Raises:
    ValueError: for a coupling not in `COUPLINGS` or a normalization not in
      `NORMALIZATIONS`.
  """

  def __init__(self, num_coupling_layers, make_network,
               make_normalization_weights, make_lu_weights=None,
               coupling="affine", normalization="batch_norm"):
    for kind, value, table in (("coupling", coupling, COUPLINGS),
                               ("normalization", normalization,
                                NORMALIZATIONS)):
      if value not in table:
        raise ValueError(f"{kind} must be one of {tuple(table)}; got "
                         f"{value!r}.")
    self._num_coupling_layers = num_coupling_layers
    self._make_network = make_network
    self._make_normalization_weights = make_normalization_weights
    self._make_lu_weights = make_lu_weights or (lambda name, channels: None)
    self._coupling = COUPLINGS[coupling]
    self._normalization = normalization

  def build(self, image_shape, num_scales, alpha, dtype):
    """Returns the flow as a `tfb.Chain`: forward maps latents to pixels.

    The chain lists its steps in the data-to-latent order of the paper
    (`Chain.inverse` runs them first to last): the logit transform, then
    scale 0. Scale k < last: checkerboard couplings, squeeze, channel
    couplings, factor out the first half of the channels (the rest go to
    scale k+1), unsqueeze. The last scale: one more checkerboard coupling than the others.
    Each coupling is preceded by an invertible 1x1 convolution when it is
    enabled and followed by the normalization (batch norm or actnorm)
    unless it is "none".

    Args:
      image_shape: (H, W, C) of the images.
      num_scales: int >= 1; H and W must be divisible by 2^(num_scales - 1).
      alpha: float in (0, 0.5), the logit transform's margin (official
        code: 0.05; `logit_transform`).
      dtype: float dtype of the tensors the flow will transform.

    Returns:
      `tfb.Chain`: named "real_nvp", on [N, H, W, C] events; forward maps
      latents (the layout of `RealNVP.encode`) to pixels, inverse maps
      pixels in [0, 256) to latents.

    Raises:
      ValueError: for a `num_scales` the image shape does not allow
        (`scale_shapes`) or an alpha outside (0, 0.5).
    """
    shapes = scale_shapes(image_shape, num_scales)
    return tfb.Chain([logit_transform(alpha, dtype=dtype),
                      self._scale(shapes, 0)], name="real_nvp")

  def _scale(self, shapes, index):
    event_shape = shapes[index]
    prefix = f"scale{index}"
    if index == len(shapes) - 1:
      return tfb.Chain(self._couplings(
          prefix, "checkerboard", event_shape,
          self._num_coupling_layers + 1), name=prefix)
    height, width, channels = event_shape
    squeezed = (height // 2, width // 2, 4 * channels)
    steps = self._couplings(prefix, "checkerboard", event_shape,
                            self._num_coupling_layers)
    steps.append(tfb.Invert(squeeze(event_shape, name=f"{prefix}_squeeze")))
    steps += self._couplings(prefix, "channel", squeezed,
                             self._num_coupling_layers)
    steps.append(FactorOut(self._scale(shapes, index + 1),
                           num_factored=2 * channels,
                           name=f"{prefix}_factor_out"))
    steps.append(squeeze(event_shape, name=f"{prefix}_unsqueeze"))
    return tfb.Chain(steps, name=prefix)

  def _couplings(self, prefix, mask_type, event_shape, count):
    steps = []
    for i in range(count):
      name = f"{prefix}_{mask_type}{i}"
      lu_weights = self._make_lu_weights(f"{name}_lu_weights", event_shape[-1])
      if lu_weights is not None:
        steps.append(Invertible1x1Conv(lu_weights, name=f"{name}_1x1_conv"))
      network = self._make_network(f"{name}_network", event_shape)
      steps.append(self._coupling(make_mask(mask_type, event_shape, i % 2),
                                  network, name=f"{name}_coupling"))
      normalization = NORMALIZATIONS[self._normalization]
      if normalization is not None:
        steps.append(normalization(
            self._make_normalization_weights(name, event_shape[-1]),
            name=f"{name}_{self._normalization}"))
    return steps
