"""Logit transform between pixels in [0, 256) and logit space (official Real NVP code)."""

import numpy as np
import tensorflow_probability as tfp

tfb = tfp.bijectors

#: Pixel values per channel of 8-bit images; pixels lie in [0, PIXEL_LEVELS).
PIXEL_LEVELS = 256.0


def logit_transform(alpha=0.05, dtype="float32", name="logit_transform"):
  """Returns a bijector from logit space (forward input) to pixel space.

  ```none
  inverse (pixels -> logits):  y = logit(alpha + (1 - 2 alpha) * x / 256)
  forward (logits -> pixels):  x = (sigmoid(y) - alpha) * 256 / (1 - 2 alpha)
  ```

  The symmetric form keeps logit's argument in [alpha, 1 - alpha] for every
  x in [0, 256], so pixel 255.999 stays finite (the asymmetric
  `alpha + (1 - alpha) x` form diverges there). Composed from TFP's `Sigmoid`,
  `Shift` and `Scale`, whose log-determinants make the Jacobian exact:
  log|dx/dy| = log sigmoid(y) + log(1 - sigmoid(y)) + log(256 / (1 - 2 alpha))
  per pixel. Dequantization (adding U[0, 1) noise to integer pixels) happens
  in the training step, not here.

  Args:
    alpha: float in (0, 0.5), the margin kept away from 0 and 1.
    dtype: float dtype of the tensors the bijector will transform.
    name: name of the returned `tfb.Chain`.

  Returns:
    A scalar (event_ndims 0) `tfb.Chain`; forward maps R -> (-alpha', 256 + alpha')
    with alpha' = 256 alpha / (1 - 2 alpha).

  Raises:
    ValueError: if alpha is not in (0, 0.5).
  """
  if not 0.0 < alpha < 0.5:
    raise ValueError(f"alpha must be in (0, 0.5); got {alpha}.")
  dtype = np.dtype(dtype)
  return tfb.Chain([
      tfb.Scale(np.asarray(PIXEL_LEVELS / (1.0 - 2.0 * alpha), dtype)),
      tfb.Shift(np.asarray(-alpha, dtype)),
      tfb.Sigmoid(),
  ], name=name)
