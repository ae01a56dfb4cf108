"""Per-scale latents: split_scales/merge_scales against the flow's own factor-out steps."""

import math

import numpy as np
import pytest
import tensorflow as tf
from tensorflow_probability.python.bijectors import chain

import tfp_realnvp
from tfp_realnvp.bijectors import FactorOut
from tfp_realnvp.latents import merge_scales
from tfp_realnvp.latents import scale_latent_shapes
from tfp_realnvp.latents import split_scales

# `tfb.Chain(...)` of non-composite bijectors builds the base class `_Chain`.
CHAIN_TYPE = chain._Chain  # pylint: disable=protected-access
IMAGE_SHAPE = (8, 8, 1)


def perturbed_model(num_scales):
  """An unconditional model whose couplings and batch norms are far from the identity."""
  model = tfp_realnvp.RealNVP(IMAGE_SHAPE, num_scales=num_scales,
                              num_coupling_layers=1, num_res_blocks=1,
                              filters=4)
  rng = np.random.default_rng(0)
  for weight in model.weights:
    if "seed" not in weight.path:
      values = rng.normal(scale=0.2, size=weight.shape)
      if "moving_variance" in weight.path:
        values = np.exp(values)
      weight.assign(values)
  return model


def run_inverse_collecting_factored(bijector, t, factored):
  """Runs `bijector.inverse(t)` step by step, appending what each FactorOut leaves out.

  The innermost flow (the last scale) has no FactorOut: its output is
  appended after the last factored part.
  """
  if isinstance(bijector, CHAIN_TYPE):
    for step in bijector.bijectors:  # Chain.inverse runs them first to last.
      t = run_inverse_collecting_factored(step, t, factored)
    return t
  if isinstance(bijector, FactorOut):
    out, rest = t[..., :bijector.num_factored], t[..., bijector.num_factored:]
    factored.append(out)
    count = len(factored)
    rest = run_inverse_collecting_factored(bijector.inner, rest, factored)
    if len(factored) == count:
      factored.append(rest)
    return tf.concat([out, rest], axis=-1)
  return bijector.inverse(t)


@pytest.mark.parametrize("num_scales", [1, 2, 3])
def test_split_scales_gives_what_each_factor_out_step_leaves_out(num_scales):
  model = perturbed_model(num_scales)
  pixels = np.random.default_rng(1).uniform(0, 256, (3,) + IMAGE_SHAPE)
  pixels = pixels.astype(np.float32)
  factored = []
  z = run_inverse_collecting_factored(model.flow, tf.constant(pixels),
                                      factored).numpy()
  if not factored:  # One scale: nothing is factored out.
    factored = [z]
  encoded = model.encode(tf.constant(pixels)).numpy()
  np.testing.assert_allclose(z, encoded, rtol=1e-5, atol=1e-5)
  parts = split_scales(encoded, num_scales)
  assert len(parts) == len(factored) == num_scales
  shapes = scale_latent_shapes(IMAGE_SHAPE, num_scales)
  for k, (part, expected) in enumerate(zip(parts, factored)):
    assert part.shape == (3,) + shapes[k], k
    np.testing.assert_allclose(part.numpy(), np.asarray(expected), rtol=1e-5,
                               atol=1e-5, err_msg=f"scale {k}")
  # The couplings make every scale's latents different from the pixels' layout.
  assert np.abs(encoded - pixels).max() > 1.0


def test_merge_scales_inverts_split_scales_exactly():
  z = np.random.default_rng(2).normal(size=(2, 28, 28, 1))
  parts = split_scales(z, 3)
  assert [tuple(p.shape[1:]) for p in parts] == [(14, 14, 2), (7, 7, 4),
                                                 (7, 7, 4)]
  assert sum(math.prod(p.shape[1:]) for p in parts) == 28 * 28
  assert all(p.dtype == tf.float64 for p in parts)
  np.testing.assert_array_equal(merge_scales(parts).numpy(), z)
  # Every value of z appears exactly once among the parts.
  values = np.sort(np.concatenate([p.numpy().ravel() for p in parts]))
  np.testing.assert_array_equal(values, np.sort(z.ravel()))


def test_scale_zero_holds_the_top_row_of_every_2x2_block():
  z = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
  finest, coarsest = split_scales(z, 2)
  np.testing.assert_array_equal(finest.numpy()[0, ..., 0], [[0, 2], [8, 10]])
  np.testing.assert_array_equal(finest.numpy()[0, ..., 1], [[1, 3], [9, 11]])
  np.testing.assert_array_equal(coarsest.numpy()[0, ..., 0], [[4, 6],
                                                               [12, 14]])


def test_bad_shapes_are_refused():
  with pytest.raises(ValueError, match=r"\[N, H, W, C\]"):
    split_scales(np.zeros((28, 28, 1)), 2)
  with pytest.raises(ValueError, match="num_scales must be in"):
    split_scales(np.zeros((1, 28, 28, 1)), 4)
  with pytest.raises(ValueError, match="at least one scale"):
    merge_scales([])
  with pytest.raises(ValueError, match=r"Scale 0's latents must be \[N, 7, 7, 2\]"):
    merge_scales([np.zeros((1, 14, 14, 2)), np.zeros((1, 7, 7, 2))])
