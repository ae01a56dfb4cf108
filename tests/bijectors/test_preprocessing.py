"""Tests of tfp_realnvp.bijectors.preprocessing (logit_transform)."""

import numpy as np
import pytest
import tensorflow as tf

from flow_checks import EVENT_SHAPE
from flow_checks import check_bijection
from flow_checks import fresh
from flow_checks import random_input
from tfp_realnvp.bijectors import logit_transform

pytestmark = pytest.mark.usefixtures("float64_policy")


@pytest.mark.parametrize("alpha", [0.05, 0.2])
def test_logit_transform_bijection_and_closed_form_log_det(alpha):
  bijector = logit_transform(alpha, dtype="float64")
  logits = random_input((2,) + EVENT_SHAPE, seed=16, scale=2.0)
  sigmoid = 1.0 / (1.0 + np.exp(-logits))
  expected_pixels = (sigmoid - alpha) * 256.0 / (1.0 - 2.0 * alpha)

  pixels, fldj = check_bijection(bijector, logits, y_expected=expected_pixels)
  closed_form = (np.log(sigmoid) + np.log1p(-sigmoid)
                 + np.log(256.0 / (1.0 - 2.0 * alpha))).sum(axis=(1, 2, 3))
  np.testing.assert_allclose(fldj, closed_form, rtol=1e-12)
  # Inverse: y = logit(alpha + (1 - 2 alpha) x / 256).
  p = alpha + (1.0 - 2.0 * alpha) * pixels / 256.0
  np.testing.assert_allclose(bijector.inverse(fresh(pixels)).numpy(),
                             np.log(p) - np.log1p(-p), rtol=1e-10, atol=1e-10)


def test_logit_transform_extreme_pixels_are_finite():
  alpha = 0.05
  bijector = logit_transform(alpha, dtype="float64")
  pixels = np.array([0.0, 255.999])
  logits = bijector.inverse(fresh(pixels)).numpy()
  assert np.all(np.isfinite(logits))
  p = alpha + (1.0 - 2.0 * alpha) * pixels / 256.0
  np.testing.assert_allclose(logits, np.log(p / (1.0 - p)), rtol=1e-12)
  ildj = bijector.inverse_log_det_jacobian(fresh(pixels), event_ndims=0)
  assert np.all(np.isfinite(ildj.numpy()))
  np.testing.assert_allclose(bijector.forward(fresh(logits)).numpy(), pixels,
                             rtol=1e-12, atol=1e-10)


def test_logit_transform_float32_dtype():
  bijector = logit_transform(0.05)  # default float32
  pixels = tf.constant([[0.0, 128.0, 255.999]], tf.float32)
  logits = bijector.inverse(pixels)
  assert logits.dtype == tf.float32
  assert np.all(np.isfinite(logits.numpy()))


@pytest.mark.parametrize("alpha", [0.0, 0.5, -0.1])
def test_logit_transform_rejects_bad_alpha(alpha):
  with pytest.raises(ValueError, match="alpha"):
    logit_transform(alpha)
