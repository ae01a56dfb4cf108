"""A flow with its keyword arguments bound, for any batch of [H, W, C] events.

Why a bijector of our own: TFP's `TransformedDistribution` passes keyword
arguments to its bijector only per call (`log_prob(x, bijector_kwargs=...)`),
so a conditional flow placed in TFP code that knows nothing of them (a
mixture, a KL term, an MCMC target) would lose its condition; and our flow's
s/t networks take [N, H, W, C] tensors only, where TFP hands a distribution's
bijector any sample shape ([M, N, H, W, C] for `sample(M)` of a batch of N).
TFP has no bijector that binds keyword arguments or folds sample dimensions.
"""

import tensorflow as tf

from tfp_realnvp.bijectors.augmented import AugmentedBijector
from tfp_realnvp.bijectors.routing import per_resolution
from tfp_realnvp.bijectors.routing import route_kwargs

#: Rank of the events the flow transforms ([H, W, C]).
EVENT_NDIMS = 3


class Conditioned(AugmentedBijector):
  """`flow` with `conditional_input` bound and batch-norm in inference mode, on events of any batch shape.

  On y = x of shape [..., H, W, C] (any leading shape B):

  ```none
  forward(x)  = unfold(flow.forward(fold(x), conditional_input=fold(c)))
  inverse(y)  = unfold(flow.inverse(fold(y), conditional_input=fold(c)))
  log|det|    = unfold(flow's log|det|)      (shape B)
  ```

  where fold reshapes [..., H, W, C] to [prod(B), H, W, C], and c [N, ...]
  (one entry per event of the last batch axis: a one-hot label [N, K], or
  each tensor of a dict of a condition's features per resolution,
  `per_resolution`) is broadcast to B + [...] and folded the same way. Every batch normalization of the flow uses its
  running averages (`training=False`). Without `conditional_input` the flow
  is unconditional and only the folding applies.
  """

  def __init__(self, flow, conditional_input=None, validate_args=False,
               name="conditioned"):
    """Binds `conditional_input` to `flow`.

    Args:
      flow: the bijector on [N, H, W, C] events (`RealNVP.flow`), whose
        couplings take `conditional_input` and whose batch normalizations
        take `training` (`route_kwargs`).
      conditional_input: float tensor [N, K] (one row per event of the last
        batch axis), a dict (H, W) -> float tensor [N, ...] of features per
        resolution (`per_resolution`), or None.
      validate_args: Python bool, TFP's argument validation flag.
      name: bijector name.
    """
    parameters = dict(locals())
    self._flow = flow
    self._conditional_input = conditional_input
    super().__init__(
        forward_min_event_ndims=EVENT_NDIMS,
        validate_args=validate_args,
        parameters=parameters,
        name=name)

  @property
  def flow(self):
    """The bijector on [N, H, W, C] events."""
    return self._flow

  def _folded(self, tensor):
    """(tensor as [prod(B), H, W, C], B, the routed keyword arguments)."""
    batch_shape = tf.shape(tensor)[:-EVENT_NDIMS]
    folded = tf.reshape(tensor, tf.concat(
        [[-1], tf.shape(tensor)[-EVENT_NDIMS:]], axis=0))
    def fold(features):
      rest = tf.shape(features)[1:]
      return tf.reshape(
          tf.broadcast_to(features, tf.concat([batch_shape, rest], axis=0)),
          tf.concat([tf.shape(folded)[:1], rest], axis=0))
    conditional_input = self._conditional_input
    if conditional_input is not None:
      conditional_input = tf.nest.map_structure(fold, conditional_input)
    kwargs = route_kwargs(self._flow,
                          conditional_input=per_resolution(conditional_input),
                          training=False)
    return folded, batch_shape, kwargs

  def _unfolded(self, tensor, like):
    return tf.reshape(tensor, tf.shape(like))

  def _augmented_forward(self, x, **kwargs):
    folded, batch_shape, flow_kwargs = self._folded(x)
    y = self._flow.forward(folded, **flow_kwargs)
    fldj = tf.reshape(self._flow.forward_log_det_jacobian(
        folded, event_ndims=EVENT_NDIMS, **flow_kwargs), batch_shape)
    return self._unfolded(y, x), {"fldj": fldj, "ildj": -fldj}

  def _augmented_inverse(self, y, **kwargs):
    folded, batch_shape, flow_kwargs = self._folded(y)
    x = self._flow.inverse(folded, **flow_kwargs)
    ildj = tf.reshape(self._flow.inverse_log_det_jacobian(
        folded, event_ndims=EVENT_NDIMS, **flow_kwargs), batch_shape)
    return self._unfolded(x, y), {"fldj": -ildj, "ildj": ildj}
