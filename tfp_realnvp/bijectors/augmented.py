"""A bijector base whose transform and log-determinant come from one pass.

TFP computes `inverse(y)` and `inverse_log_det_jacobian(y)` in separate calls.
For a coupling both need the same s/t network evaluation, and for a factor-out
both need the same inner flow; computing them separately would run the
networks twice. TFP's own `tfb.FFJORD` solves this with
`cache_util.BijectorCacheWithGreedyAttrs` (a private TFP class, see
`tfp_realnvp._compat`): `_augmented_forward` and
`_augmented_inverse` return the transformed tensor together with its
log-determinants, which the cache stores beside the result. This base applies
that pattern to every bijector of this package that needs it.
"""

import tensorflow_probability as tfp

from tfp_realnvp._compat import BijectorCacheWithGreedyAttrs

tfb = tfp.bijectors


class AugmentedBijector(tfb.Bijector):
  """Base for bijectors that compute a transform and its log-det together.

  Subclasses implement `_augmented_forward(x, **kwargs)` and
  `_augmented_inverse(y, **kwargs)`, each returning
  `(output, {"fldj": ..., "ildj": ...})` with log-determinants reduced over
  the bijector's minimum event dimensions (shape [N] for [N, H, W, C] input).
  """

  _cache = BijectorCacheWithGreedyAttrs(
      forward_name="_augmented_forward", inverse_name="_augmented_inverse")

  @classmethod
  def _parameter_properties(cls, dtype):
    return dict()

  def _forward(self, x, **kwargs):
    return self._augmented_forward(x, **kwargs)[0]

  def _inverse(self, y, **kwargs):
    return self._augmented_inverse(y, **kwargs)[0]

  def _forward_log_det_jacobian(self, x, **kwargs):
    cached = self._cache.forward_attributes(x, **kwargs)
    if "fldj" not in cached:
      cached.update(self._augmented_forward(x, **kwargs)[1])
    return cached["fldj"]

  def _inverse_log_det_jacobian(self, y, **kwargs):
    cached = self._cache.inverse_attributes(y, **kwargs)
    if "ildj" not in cached:
      cached.update(self._augmented_inverse(y, **kwargs)[1])
    return cached["ildj"]
