"""Keras layer that holds the running averages of a flow batch normalization."""

import keras


@keras.saving.register_keras_serializable(package="tfp_realnvp")
class MovingMoments(keras.layers.Layer):
  """Per-channel running mean and variance (paper sec. 3.7).

  TFP bijectors are not tracked by Keras 3, so the state of
  `tfp_realnvp.bijectors.BatchNormalization` lives here, in non-trainable
  Keras weights that `fit`, checkpoints and `.keras` files carry.

  Weights: `moving_mean` and `moving_variance`, each float [C] (float32
  under a mixed precision policy, and read and updated in float32: they are
  not autocast), starting at 0 and 1. `update(mean, variance)` moves them
  towards a batch's statistics: m <- momentum * m + (1 - momentum) * batch.
  """

  def __init__(self, momentum=0.99, epsilon=1e-4, **kwargs):
    """Args:
      momentum: float in [0, 1), weight of the old running average.
      epsilon: float > 0 added to variances before square roots and logs.
      **kwargs: `keras.layers.Layer` arguments (name, dtype).

    Raises:
      ValueError: if momentum or epsilon is out of range.
    """
    super().__init__(**kwargs)
    if not 0.0 <= momentum < 1.0:
      raise ValueError(f"momentum must be in [0, 1); got {momentum}.")
    if epsilon <= 0.0:
      raise ValueError(f"epsilon must be > 0; got {epsilon}.")
    self.momentum = float(momentum)
    self.epsilon = float(epsilon)

  def build(self, input_shape):
    """Creates the [C] weights; `input_shape` is (..., C)."""
    channels = int(input_shape[-1])
    # Replicas update with the same synchronized statistics; "mean" lets them
    # assign in replica context and keeps one value. autocast=False (as
    # Keras's BatchNormalization): under a mixed policy the model's call
    # would read them in 16 bits, and a bfloat16 running average
    # (8 mantissa bits) cannot move by less than ~4% per step at momentum 0.9.
    self.moving_mean = self.add_weight(
        shape=(channels,), initializer="zeros", trainable=False,
        aggregation="mean", autocast=False, name="moving_mean")
    self.moving_variance = self.add_weight(
        shape=(channels,), initializer="ones", trainable=False,
        aggregation="mean", autocast=False, name="moving_variance")

  def update(self, mean, variance):
    """Moves the running averages towards `mean` and `variance` ([C] each).

    m <- momentum * m + (1 - momentum) * batch, for each of the two.

    Args:
      mean, variance: float tensors [C], a batch's statistics
        (`tfp_realnvp.bijectors.batch_norm.batch_moments`); cast to the
        weights' dtype.
    """
    for average, value in ((self.moving_mean, mean),
                           (self.moving_variance, variance)):
      value = keras.ops.cast(value, average.dtype)
      average.assign(self.momentum * average + (1.0 - self.momentum) * value)

  def call(self, inputs):
    """Identity; the layer exists for its weights."""
    return inputs

  def get_config(self):
    """Constructor arguments for `from_config`."""
    config = super().get_config()
    config.update(momentum=self.momentum, epsilon=self.epsilon)
    return config
