"""Dequantization: integer pixels to continuous ones, and the bound on the discrete likelihood it gives.

A density model p of continuous pixels in [0, 256)^D gives a lower bound
on the probability of integer images x in {0..255}^D through any noise
distribution q(u | x) on [0, 1)^D (Flow++: Ho et al. 2019, sec. 3.1, eq.
10-12):

```none
log P(x) >= E_{u ~ q(u|x)} [log p(x + u) - log q(u | x)]
```

- uniform dequantization (Real NVP, the paper's likelihood): q = U[0, 1)^D,
  log q = 0.
- variational dequantization (Flow++): q is itself a flow conditioned on x
  (and on the class label of a conditional model), trained jointly with p;
  the bound is then tighter.

Both draw the same base noise v ~ U[0, 1)^D (`uniform_noise`); the uniform
dequantization uses it as u, the variational one maps it to u through its
flow. One draw gives one log-weight log p(x + u) - log q(u | x)
(`RealNVP.log_weights`); `combine_log_weights` turns K draws into
`RealNVP.discrete_log_prob`.
"""

import tensorflow as tf
import tensorflow_probability as tfp

from tfp_realnvp.bijectors import AffineCoupling
from tfp_realnvp.bijectors import make_mask
from tfp_realnvp.bijectors import route_kwargs

tfb = tfp.bijectors

UNIFORM = "uniform"
VARIATIONAL = "variational"
# The base noise v is kept in [_V_MARGIN, 1 - _V_MARGIN] before logit(v):
# U[0, 1) can give exactly 0, whose logit is -inf (float32 spacing near 1 is
# 6e-8, so 1 - 2^-24 is the largest float32 below 1).
_V_MARGIN = 2.0 ** -24


def uniform_noise(shape, seed, dtype=tf.float32):
  """The base noise v ~ U[0, 1)^D of every dequantization, from a stateless seed.

  Args:
    shape: int tensor or list, e.g. [N, H, W, C].
    seed: int tensor [2], TensorFlow's stateless seed.
    dtype: float dtype of the noise.

  Returns:
    float tensor of `shape`, values in [0, 1).
  """
  return tf.random.stateless_uniform(shape, seed=seed, dtype=dtype)


def combine_log_weights(log_weights, dequantization):
  """The bound on log P(x) from K draws' log-weights log p(x + u_k) - log q(u_k | x).

  - "uniform": the mean over draws of log p(x + u_k), the Monte Carlo
    estimate of the paper's E_u[log p(x + u)];
  - "variational": the importance-weighted bound log (1/K) sum_k
    p(x + u_k) / q(u_k | x) (Burda, Grosse & Salakhutdinov 2016, eq. 8),
    whose expectation does not decrease with K and reaches log P(x) as
    K -> infinity. K = 1 is the bound training maximizes.

  Args:
    log_weights: float tensor or array [K, N], nats.
    dequantization: a key of `DEQUANTIZATIONS`.

  Returns:
    float tensor [N], nats: a stochastic lower bound on log P(x) (its
    expectation is at most log P(x)).

  Raises:
    ValueError: for an unknown dequantization.
  """
  log_weights = tf.convert_to_tensor(log_weights)
  if dequantization == UNIFORM:
    return tf.reduce_mean(log_weights, axis=0)
  if dequantization == VARIATIONAL:
    count = tf.cast(tf.shape(log_weights)[0], log_weights.dtype)
    return tf.reduce_logsumexp(log_weights, axis=0) - tf.math.log(count)
  raise ValueError(f"dequantization must be one of {tuple(DEQUANTIZATIONS)}; "
                   f"got {dequantization!r}.")


def discrete_log_prob_from_draws(log_importance_weight, shape, dequantization,
                                 num_samples=1, seed=None, first_draw=0):
  """`combine_log_weights` of `num_samples` draws of base noise, each scored by `log_importance_weight`.

  The one definition of the bound that `RealNVP.discrete_log_prob`,
  `tfp_realnvp.loading.TrainedModel.discrete_log_prob` and
  `tfp_realnvp.evaluation` share.

  Args:
    log_importance_weight: callable taking base noise v (float32 of
      `shape`, in [0, 1)) and returning log p(x + u) - log q(u | x), float
      [N] nats, for the images at hand.
    shape: [N, H, W, C] of the images.
    dequantization: a key of `DEQUANTIZATIONS`.
    num_samples: int K >= 1, draws.
    seed: int for reproducible draws (draw k uses the stateless seed
      [seed, first_draw + k]), or None for TensorFlow's stateful generator.
    first_draw: int >= 0, the index of the first draw in the seed's stream
      (`evaluate` gives every batch its own draws).

  Returns:
    float tensor [N], nats (`combine_log_weights`).
  """
  log_weights = []
  for draw in range(first_draw, first_draw + num_samples):
    noise = (tf.random.uniform(shape) if seed is None else
             uniform_noise(shape, tf.constant([seed, draw], tf.int64)))
    log_weights.append(log_importance_weight(noise))
  return combine_log_weights(tf.stack(log_weights), dequantization)


def within_bins(pixels, unit_noise):
  """x + u, kept in x's bin [x, x + 1).

  In float32, x + u rounds up to x + 1 when u is within 2^-17 of 1 and
  x >= 128, and a sigmoid saturates to exactly 1; either would put the
  dequantized pixel in the next bin (or at 256). Each value is clipped to
  the largest float below x + 1.

  Args:
    pixels: float tensor [N, H, W, C] of integer pixel values in [0, 255].
    unit_noise: float tensor of the same shape, u in [0, 1].

  Returns:
    float tensor [N, H, W, C] in [x, x + 1), within [0, 256).
  """
  return tf.minimum(pixels + unit_noise, tf.math.nextafter(pixels + 1.0,
                                                           pixels))


class UniformDequantization:
  """u = v ~ U[0, 1)^D, log q(u | x) = 0 (Real NVP, paper sec. 4.1).

  Attributes:
    name: "uniform".
  """

  name = UNIFORM

  def dequantize(self, pixels, noise, context=None):
    """x + v and log q = 0.

    Args:
      pixels: float tensor [N, H, W, C] of integer pixel values in [0, 255].
      noise: float tensor [N, H, W, C], the base noise v in [0, 1)
        (`uniform_noise`).
      context: ignored (the noise does not depend on the condition).

    Returns:
      (dequantized, log_q): float [N, H, W, C] pixels x + v, each in its
      bin [x, x + 1) (`within_bins`), and float [N] zeros (nats).
    """
    del context
    return (within_bins(pixels, noise),
            tf.zeros(tf.shape(pixels)[:1], pixels.dtype))


class VariationalDequantization:
  """A flow q(u | x) on [0, 1)^D conditioned on the image, and on the class (Flow++ sec. 3.1).

  ```none
  eps = logit(v)                 v ~ U[0, 1)^D: eps is standard logistic
  e_K = g_K( ... g_1(eps) ...)   affine couplings, checkerboard masks of
                                 alternating parity, each s/t network also
                                 given c = [x / 128 - 1, one-hot(label)]
  u = sigmoid(e_K)
  log q(u | x) = log U(v) - log|det du/dv| = -log|det du/dv|
  ```

  The flow is one `tfb.Chain` (forward: v -> u) of TFP's `Sigmoid`, its
  inverse and this package's `AffineCoupling` bijectors, so log|det du/dv| is
  exact, the sigmoid's Jacobian included. Every coupling starts as the
  identity (its network's last layer is zero), so a new q is the uniform
  dequantization (u = v, log q = 0, up to float32 rounding) and training can only tighten
  the bound from there. Flow++ draws eps from a standard normal; the
  logistic base used here is what makes that start exact, and lets every
  dequantization share the same base noise.

  Attributes:
    name: "variational".
    flow: the `tfb.Chain`, forward v -> u, on [N, H, W, C] events.
  """

  name = VARIATIONAL

  def __init__(self, make_network, event_shape, num_coupling_layers):
    """Builds q's flow.

    Args:
      make_network: callable `(name, event_shape)` returning a built s/t
        network (`tfp_realnvp.layers.ShiftAndLogScaleResNet` with
        `conditional_channels` C + K, the channels of the condition c) that
        the caller owns.
      event_shape: (H, W, C) of the images.
      num_coupling_layers: int >= 1, the couplings of q.
    """
    couplings = [
        AffineCoupling(make_mask("checkerboard", event_shape, i % 2),
                       make_network(f"dequantization_coupling{i}_network",
                                    event_shape),
                       name=f"dequantization_coupling{i}")
        for i in range(num_coupling_layers)]
    self.flow = tfb.Chain(
        [tfb.Sigmoid(), *reversed(couplings), tfb.Invert(tfb.Sigmoid())],
        name="dequantization_flow")

  def condition(self, pixels, context=None):
    """What q is conditioned on: c = [x / 128 - 1, the model's context (broadcast over H, W if a vector)].

    Args:
      pixels: float tensor [N, H, W, C], integer pixel values in [0, 255].
      context: what the model is conditioned on, at the image's resolution:
        a one-hot label or a vector condition's features [N, K], an image
        condition's features [N, H, W, K], or None.

    Returns:
      float tensor [N, H, W, C (+ K)] of `pixels`' dtype.
    """
    condition = pixels / 128.0 - 1.0
    if context is None:
      return condition
    context = tf.cast(context, pixels.dtype)
    if context.shape.rank == 2:
      context = context[:, None, None, :]
    spatial = tf.concat([tf.shape(pixels)[:-1], tf.shape(context)[-1:]],
                        axis=0)
    return tf.concat([condition, tf.broadcast_to(context, spatial)], axis=-1)

  def _kwargs(self, pixels, context):
    return route_kwargs(self.flow, conditional_input=self.condition(
        pixels, context))

  def dequantize(self, pixels, noise, context=None):
    """x + u for u = q's flow of v, and log q(u | x).

    Args:
      pixels: float tensor [N, H, W, C] of integer pixel values in [0, 255].
      noise: float tensor [N, H, W, C], the base noise v in [0, 1)
        (`uniform_noise`), kept within 2^-24 of 0 and 1 so that logit(v)
        is finite.
      context: as in `condition`.

    Returns:
      (dequantized, log_q): float [N, H, W, C] pixels x + u, each in its
      bin [x, x + 1) (`within_bins`), and float [N] log q(u | x) in nats
      (over u in [0, 1)^D).
    """
    noise = tf.clip_by_value(noise, _V_MARGIN, 1.0 - _V_MARGIN)
    kwargs = self._kwargs(pixels, context)
    unit_noise = self.flow.forward(noise, **kwargs)
    log_q = -self.flow.forward_log_det_jacobian(noise, event_ndims=3,
                                                **kwargs)
    return within_bins(pixels, unit_noise), log_q

  def log_prob(self, unit_noise, pixels, context=None):
    """log q(u | x) of given u in (0, 1)^D, through the flow's inverse.

    Args:
      unit_noise: float tensor [N, H, W, C], u in (0, 1).
      pixels, context: as in `dequantize`.

    Returns:
      float tensor [N], nats.
    """
    kwargs = self._kwargs(pixels, context)
    return self.flow.inverse_log_det_jacobian(unit_noise, event_ndims=3,
                                              **kwargs)


#: The dequantizations (`ModelConfig.dequantization`) and their classes.
DEQUANTIZATIONS = {UNIFORM: UniformDequantization,
                   VARIATIONAL: VariationalDequantization}


def make_dequantization(name, make_network, event_shape, num_coupling_layers):
  """The dequantization `name` (`ModelConfig.dequantization`).

  Args:
    name: a key of `DEQUANTIZATIONS`.
    make_network, event_shape, num_coupling_layers: as
      `VariationalDequantization` (unused for "uniform").

  Returns:
    A `UniformDequantization` or `VariationalDequantization`.

  Raises:
    ValueError: for an unknown name.
  """
  if name not in DEQUANTIZATIONS:
    raise ValueError(f"dequantization must be one of {tuple(DEQUANTIZATIONS)}; "
                     f"got {name!r}.")
  if name == UNIFORM:
    return UniformDequantization()
  return VariationalDequantization(make_network, event_shape,
                                   num_coupling_layers)
