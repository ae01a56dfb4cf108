"""Dequantization: q's density, the bound on the discrete likelihood, and its exact value on 2-pixel images."""

import math

import numpy as np
import pytest
import tensorflow as tf

import tfp_realnvp
from flow_checks import log_abs_det_jacobian
from tfp_realnvp import loading
from tfp_realnvp.dequantization import combine_log_weights
from tfp_realnvp.dequantization import within_bins

TWO_PIXELS = (1, 2, 1)


def perturbed(model, seed=0, scale=0.3):
  """`model` with every weight but seeds, signs, permutations and flags random (so q is not uniform)."""
  rng = np.random.default_rng(seed)
  for weight in model.weights:
    if any(name in weight.path for name in ("seed", "sign", "permutation",
                                            "initialized")):
      continue
    values = rng.normal(scale=scale, size=weight.shape)
    if "moving_variance" in weight.path:
      values = np.exp(values)
    weight.assign(values.astype(weight.dtype))
  return model


def variational_model(image_shape, num_classes=None, **options):
  return tfp_realnvp.RealNVP(
      image_shape, num_classes=num_classes, num_scales=1,
      num_coupling_layers=1, num_res_blocks=1, filters=4,
      dequantization="variational", dequantization_coupling_layers=3,
      dequantization_filters=4, dequantization_res_blocks=1, **options)


@pytest.mark.parametrize("image_shape, num_classes", [
    ((3, 4, 2), None), ((2, 3, 3), 3)], ids=["non-square", "RGB-conditional"])
def test_log_q_is_minus_the_log_det_of_its_own_flow(float64_policy,
                                                    image_shape, num_classes):
  model = perturbed(variational_model(image_shape, num_classes))
  rng = np.random.default_rng(1)
  pixels = tf.constant(np.floor(rng.uniform(0, 256, (2,) + image_shape)))
  one_hot = (None if num_classes is None else
             tf.one_hot([0, 2], num_classes, dtype=tf.float64))
  noise = rng.uniform(0.01, 0.99, (2,) + image_shape)
  dequantization = model.dequantization

  def unit_noise(v):
    return dequantization.dequantize(pixels, v, one_hot)[0] - pixels

  dequantized, log_q = dequantization.dequantize(
      pixels, tf.constant(noise), one_hot)
  u = (dequantized - pixels).numpy()
  assert u.min() > 0 and u.max() < 1
  assert np.abs(u - noise).max() > 0.05  # q is not the uniform one.
  np.testing.assert_allclose(log_q.numpy(),
                             -log_abs_det_jacobian(unit_noise, noise),
                             rtol=1e-9, atol=1e-9)
  # The density at u through the flow's inverse is the same.
  np.testing.assert_allclose(
      dequantization.log_prob(tf.constant(u), pixels, one_hot).numpy(),
      log_q.numpy(), rtol=1e-6, atol=1e-6)
  # q depends on the image (and on the label).
  other = dequantization.dequantize(pixels + 1.0, tf.constant(noise),
                                    one_hot)[1]
  assert np.abs(other.numpy() - log_q.numpy()).min() > 1e-3
  if num_classes is not None:
    relabelled = dequantization.dequantize(
        pixels, tf.constant(noise),
        tf.one_hot([1, 1], num_classes, dtype=tf.float64))[1]
    assert np.abs(relabelled.numpy() - log_q.numpy()).min() > 1e-3


def test_a_new_variational_dequantization_is_the_uniform_one():
  model = variational_model((3, 4, 1))
  noise = np.random.default_rng(2).uniform(0, 1, (4, 3, 4, 1)).astype(
      np.float32)
  pixels = tf.fill([4, 3, 4, 1], 7.0)
  dequantized, log_q = model.dequantization.dequantize(pixels, noise)
  np.testing.assert_allclose(dequantized.numpy() - 7.0, noise, atol=2e-6)
  np.testing.assert_allclose(log_q.numpy(), 0.0, atol=1e-3)


def test_the_log_importance_weight_is_log_p_of_the_dequantized_minus_log_q(
    float64_policy):
  model = perturbed(variational_model((3, 4, 2), num_classes=3), seed=4)
  rng = np.random.default_rng(3)
  images = rng.integers(0, 256, (3, 3, 4, 2)).astype(np.uint8)
  labels = np.array([0, 1, 2])
  noise = rng.uniform(0, 1, images.shape)
  one_hot = tf.one_hot(labels, 3, dtype=tf.float64)
  dequantized, log_q = model.dequantization.dequantize(
      tf.constant(images, tf.float64), tf.constant(noise), one_hot)
  expected = model.log_prob(dequantized, labels).numpy() - log_q.numpy()
  np.testing.assert_allclose(
      model.log_importance_weight(images, noise, labels).numpy(), expected,
      rtol=1e-12)
  # Dequantized float pixels are floored to the integers they came from.
  np.testing.assert_allclose(
      model.log_importance_weight(images + noise * 0.999, noise,
                                  labels).numpy(), expected, rtol=1e-12)


def test_fit_and_evaluate_report_the_bound_of_their_noise(monkeypatch):
  noise = np.random.default_rng(5).uniform(0, 1, (4, 3, 4, 1)).astype(
      np.float32)
  monkeypatch.setattr(tfp_realnvp.RealNVP, "_dequantization_noise",
                      lambda self, pixels: tf.constant(noise))
  model = perturbed(variational_model((3, 4, 1)), seed=6, scale=0.1)
  model.compile()
  images = np.random.default_rng(6).integers(0, 256, (4, 3, 4, 1)).astype(
      np.uint8)
  reported = model.evaluate(images, batch_size=4, verbose=0,
                            return_dict=True)["bits_per_dim"]
  bound = model.log_importance_weight(images, noise).numpy()
  assert reported == pytest.approx(-bound.mean() / (12 * math.log(2)),
                                   rel=1e-5)


@pytest.mark.parametrize("num_samples, noise, message", [
    (0, None, "num_samples must be an int >= 1"),
    (2.5, None, "num_samples must be an int >= 1"),
    (1, np.full((2, 3, 4, 1), 1.0), r"noise must lie in \[0, 1\)"),
    (1, np.full((2, 3, 4, 1), np.nan), r"noise must lie in \[0, 1\)"),
    (1, np.full((2, 3, 4, 2), 0.5), r"noise must have shape \[N, 3, 4, 1\]"),
    (1, np.full((3, 3, 4, 1), 0.5), "noise must have the shape of the images"),
    (1, np.full((2, 3, 4, 1), 1, np.int32), "noise must have a float dtype"),
])
def test_bad_draw_counts_and_noise_are_named(num_samples, noise, message):
  model = variational_model((3, 4, 1))
  images = np.zeros((2, 3, 4, 1), np.uint8)
  with pytest.raises(ValueError, match=message):
    if noise is None:
      model.discrete_log_prob(images, num_samples=num_samples)
    else:
      model.log_importance_weight(images, noise)


def test_dequantized_pixels_stay_in_their_bins():
  """x + u rounds to x + 1 in float32 for u near 1 and x >= 128; a saturated sigmoid gives u = 1."""
  pixels = tf.constant([0.0, 127.0, 200.0, 255.0])
  below_one = np.nextafter(np.float32(1), np.float32(0))
  assert float(pixels[2] + below_one) == 201.0  # The rounding clipped away.
  for noise in (tf.fill([4], below_one), tf.ones([4])):
    dequantized = within_bins(pixels, noise).numpy()
    assert np.all(np.floor(dequantized) == pixels.numpy())
  np.testing.assert_array_equal(
      within_bins(pixels, tf.fill([4], 0.5)).numpy(), pixels.numpy() + 0.5)


def test_combining_draws():
  log_weights = np.log([[0.5, 2.0], [1.5, 8.0]])
  np.testing.assert_allclose(combine_log_weights(log_weights, "uniform"),
                             log_weights.mean(axis=0))
  np.testing.assert_allclose(combine_log_weights(log_weights, "variational"),
                             np.log([1.0, 5.0]), atol=1e-12)
  with pytest.raises(ValueError, match="dequantization must be one of"):
    combine_log_weights(log_weights, "gaussian")


def test_the_importance_weighted_bound_does_not_decrease_with_more_samples():
  model = perturbed(variational_model(TWO_PIXELS), seed=7)
  trained = loading.from_keras(model)
  images = np.random.default_rng(8).integers(0, 256, (64,) + TWO_PIXELS)
  log_weights = tf.stack([
      trained.log_importance_weight(images, tf.random.stateless_uniform(
          images.shape, seed=[9, draw])) for draw in range(32)])
  # Jensen, draw by draw: the bound of 2K draws is at least the mean of the
  # bounds of its two halves of K.
  for count in (1, 2, 4, 8, 16):
    whole = combine_log_weights(log_weights[:2 * count], "variational")
    halves = (combine_log_weights(log_weights[:count], "variational") +
              combine_log_weights(log_weights[count:2 * count],
                                  "variational")) / 2
    assert np.all(whole.numpy() >= halves.numpy() - 1e-5)
  # And on average over images, K = 1, 4, 32 draws give rising bounds.
  means = [float(np.mean(combine_log_weights(log_weights[:count],
                                             "variational")))
           for count in (1, 4, 32)]
  assert means[0] < means[1] < means[2]


def gauss_legendre_log_probability(model, pixels, nodes=8):
  """log P(x) = log of the integral of p(x + u) over [0, 1)^2, by Gauss-Legendre quadrature."""
  points, weights = np.polynomial.legendre.leggauss(nodes)
  points, weights = (points + 1) / 2, weights / 2
  log_prob = tf.function(model.log_prob)
  terms = []
  for i in range(nodes):
    for j in range(nodes):
      offset = np.array([points[i], points[j]]).reshape(TWO_PIXELS)
      terms.append(np.log(weights[i] * weights[j]) +
                   log_prob(tf.constant(pixels + offset)).numpy())
  return np.logaddexp.reduce(np.stack(terms), axis=0)


def test_the_bound_on_two_pixel_images_stays_below_their_exact_probability(
    float64_policy):
  """All 256^2 images of 2 pixels: P(x) by quadrature sums to at most 1, and discrete_log_prob is a lower bound of log P(x) that tightens with K."""
  variational = perturbed(variational_model(TWO_PIXELS), seed=10)
  uniform = tfp_realnvp.RealNVP(TWO_PIXELS, config=variational.config,
                                dequantization="uniform")
  for weight, value in zip(uniform.weights, variational.get_weights()):
    weight.assign(value)  # The same density p: q's weights come last.
  grid = np.stack(np.meshgrid(np.arange(256.0), np.arange(256.0),
                              indexing="ij"), axis=-1).reshape(
                                  (-1,) + TWO_PIXELS)
  log_probability = gauss_legendre_log_probability(uniform, grid)
  total = np.exp(log_probability).sum()
  assert 0.5 < total <= 1.0  # Some mass lies outside [0, 256)^2.

  subset = np.random.default_rng(11).choice(len(grid), 16, replace=False)
  for model in (uniform, variational):
    trained = loading.from_keras(model)
    # One draw is an unbiased estimate of P(x): over all images, its
    # exponentials add up to the total probability.
    one_draw = trained.discrete_log_prob(grid, num_samples=1, seed=0).numpy()
    assert np.exp(one_draw).sum() == pytest.approx(total, rel=0.005)
    assert np.exp(one_draw).sum() <= 1.0
    if model is uniform:
      # The mean of log p(x + u) over 256 draws: below log P(x) by Jensen's
      # inequality, up to its Monte Carlo error (p varies little within a
      # pixel's bin, so the gap is small).
      many = trained.discrete_log_prob(grid[subset], num_samples=256,
                                       seed=1).numpy()
      assert np.all(many < log_probability[subset] + 2e-3)
      continue
    # q is not uniform (log-weights vary by ~0.09 nats): one draw's bound
    # lies below log P(x) on average, and the importance-weighted bound of
    # many draws reaches it (its Monte Carlo error is ~0.003 here).
    log_weights = np.stack([trained.log_importance_weight(
        grid[subset], tf.random.stateless_uniform(
            grid[subset].shape, seed=[2, draw], dtype=tf.float64)).numpy()
                            for draw in range(1024)])
    assert np.std(log_weights, axis=0).min() > 0.05
    assert np.mean(log_weights) < np.mean(log_probability[subset]) - 1e-3
    many = trained.discrete_log_prob(grid[subset], num_samples=1024,
                                     seed=1).numpy()
    np.testing.assert_allclose(many, log_probability[subset], atol=0.01)
