"""The latents of each scale of a multi-scale Real NVP (paper sec. 3.6, fig. 4b).

`RealNVP.encode` returns one latent tensor z shaped like the image,
[N, H, W, C]. Inside it, every scale but the last has factored out half of
its variables (paper eq. 13-16): the finest scale holds D/2 of the D = H*W*C
values, the next D/4, ..., and the last scale keeps what is left. The layout
(`RealNVP`'s class docstring) is recursive, with squeeze =
`tf.nn.space_to_depth(., 2)`:

    h_0 = z
    latents of scale k = squeeze(h_k)[..., :half]   (k < num_scales - 1)
    h_{k+1}            = squeeze(h_k)[..., half:]
    latents of the last scale = h_{num_scales - 1}

`split_scales` undoes that layout and `merge_scales` rebuilds z; both are
permutations of the values, so merge_scales(split_scales(z)) == z exactly.
Source: Dinh et al., "Density estimation using Real NVP", sec. 3.6 and fig.
4b (at each scale half the variables are modelled as Gaussians, the other
half is transformed further); putting the factored-out channels back
through the inverse squeeze is the official code's layout.
"""

import tensorflow as tf

from tfp_realnvp import validation
from tfp_realnvp.architecture import scale_shapes


def standard_normal_latents(shape, seed=None, dtype=tf.float32):
  """Draws latents z ~ N(0, I), the prior of the flow, for sampling.

  With an int `seed` the draw is stateless (`tf.random.stateless_normal` with
  seed [seed, 0]): the same seed and shape give the same z in any process,
  which is what makes `RealNVP.sample(..., seed=s)` and
  `tfp_realnvp.sampling` reproducible (also through a SavedModel's `decode`
  signature). Without a seed the draw comes from TF's stateful generator.

  Args:
    shape: int list or int tensor [N, H, W, C].
    seed: int (Python or numpy), or None.
    dtype: float dtype of the result.

  Returns:
    `dtype` tensor of `shape`, standard normal (unit: latent standard
    deviations; multiply by a temperature for reduced-temperature samples).

  Raises:
    ValueError: a seed that is not an int or None (a float such as 1.5, a
      bool, a string; `tfp_realnvp.validation.seed`).
  """
  seed = validation.seed(seed)
  if seed is None:
    return tf.random.normal(shape, dtype=dtype)
  return tf.random.stateless_normal(shape, seed=[seed, 0], dtype=dtype)


def scale_latent_shapes(image_shape, num_scales):
  """Shapes (H_k, W_k, C_k) of the latents each scale factors out, finest first.

  Args:
    image_shape: (H, W, C) of the images (and of z).
    num_scales: the model's `num_scales` (>= 1).

  Returns:
    List of `num_scales` tuples: scale k < num_scales - 1 holds
    (H / 2^(k+1), W / 2^(k+1), 2^(k+1) C), D / 2^(k+1) values; the last scale
    holds (H / 2^(L-1), W / 2^(L-1), 2^(L-1) C) with L = num_scales. The
    values add up to D = H * W * C.

  Raises:
    ValueError: if H or W cannot be halved num_scales - 1 times.
  """
  shapes = scale_shapes(tuple(int(d) for d in image_shape), num_scales)
  factored = [(h // 2, w // 2, 2 * c) for h, w, c in shapes[:-1]]
  return factored + [shapes[-1]]


def split_scales(z, num_scales):
  """Splits latents z into the latents of each scale, finest first.

  Args:
    z: float tensor or array [N, H, W, C], latents from `RealNVP.encode` (or
      drawn from the prior) of a model with `num_scales` scales.
    num_scales: int >= 1, the model's `num_scales`.

  Returns:
    List of `num_scales` tensors of z's dtype, shaped
    [N] + `scale_latent_shapes((H, W, C), num_scales)[k]`; entry k holds
    scale k's latents (the last entry: the coarsest scale's). Each is a
    reordering of values of z, nothing is computed.

  Raises:
    ValueError: if z is not rank 4 or H, W cannot be halved num_scales - 1
      times.
  """
  z = tf.convert_to_tensor(z)
  if z.shape.rank != 4:
    raise ValueError(f"z must be [N, H, W, C]; got shape {z.shape}.")
  scale_shapes(tuple(z.shape[1:]), num_scales)  # Raises for too many scales.
  latents, h = [], z
  for _ in range(num_scales - 1):
    squeezed = tf.nn.space_to_depth(h, 2)
    half = squeezed.shape[-1] // 2
    latents.append(squeezed[..., :half])
    h = squeezed[..., half:]
  latents.append(h)
  return latents


def merge_scales(latents):
  """Reassembles z [N, H, W, C] from per-scale latents: the inverse of `split_scales`.

  Args:
    latents: list of float tensors or arrays, finest scale first, shaped as
      `split_scales` returns them (e.g. with some scales replaced by draws
      from the prior).

  Returns:
    z, a tensor [N, H, W, C] of the latents' dtype, for `RealNVP.decode`.

  Raises:
    ValueError: for an empty list or shapes that do not fit together.
  """
  if not latents:
    raise ValueError("merge_scales needs the latents of at least one scale.")
  latents = [tf.convert_to_tensor(part) for part in latents]
  h = latents[-1]
  for k in range(len(latents) - 2, -1, -1):
    part = latents[k]
    if part.shape.rank != 4 or part.shape[1:] != h.shape[1:]:
      raise ValueError(
          f"Scale {k}'s latents must be [N, {h.shape[1]}, {h.shape[2]}, "
          f"{h.shape[3]}], the shape of what scale {k + 1} starts from; got "
          f"{part.shape}.")
    h = tf.nn.depth_to_space(tf.concat([part, h], axis=-1), 2)
  return h
