"""Keras layer that holds the per-channel scale and bias of an actnorm (Glow sec. 3.1)."""

import keras
import numpy as np
import tensorflow as tf


@keras.saving.register_keras_serializable(package="tfp_realnvp")
class ActNormWeights(keras.layers.Layer):
  """Per-channel log-scale and bias of `tfp_realnvp.bijectors.ActNorm`, and whether they were initialized.

  TFP bijectors are not tracked by Keras 3, so the state of the actnorm
  bijector lives here, in Keras weights that `fit`, checkpoints,
  `BackupAndRestore` and `.keras` files carry. The data-dependent
  initialization (Glow sec. 3.1) happens once: the `initialized` flag is a
  weight too, so a resumed run or a loaded model never initializes again.

  Weights (float32 under a mixed precision policy, not autocast):
  `log_scale` [C] and `bias` [C], trainable, starting at 0 (the identity);
  `initialized`, a non-trainable scalar, 0 until `initialize` has run on
  a training batch, then 1. All use aggregation "mean", so that replicas
  of a distribution strategy may assign the values they share (the
  statistics of the global batch, `batch_moments`).

  The actnorm maps a data-side activation y to z = y * exp(log_scale) +
  bias; after initialization from a batch with per-channel mean m and
  variance v, exp(log_scale) = 1 / (sqrt(v) + epsilon) and bias = -m *
  exp(log_scale), so that the batch's outputs have mean 0 and variance 1
  (up to epsilon) per channel.
  """

  def __init__(self, epsilon=1e-6, **kwargs):
    """Args:
      epsilon: float > 0 added to the standard deviation before dividing
        (Glow's code: 1e-6), so that a constant channel stays finite.
      **kwargs: `keras.layers.Layer` arguments (name, dtype).

    Raises:
      ValueError: if epsilon is not > 0.
    """
    super().__init__(**kwargs)
    if not epsilon > 0.0:
      raise ValueError(f"epsilon must be > 0; got {epsilon}.")
    self.epsilon = float(epsilon)

  def build(self, input_shape):
    """Creates the [C] weights and the flag; `input_shape` is (..., C)."""
    channels = int(input_shape[-1])
    self.log_scale = self.add_weight(
        shape=(channels,), initializer="zeros", aggregation="mean",
        autocast=False, name="log_scale")
    self.bias = self.add_weight(
        shape=(channels,), initializer="zeros", aggregation="mean",
        autocast=False, name="bias")
    self.initialized = self.add_weight(
        shape=(), initializer="zeros", trainable=False, aggregation="mean",
        autocast=False, name="initialized")

  def initialize(self, mean, variance):
    """Sets log_scale and bias from a batch's statistics, unless already initialized.

    The values are assigned on every call (the old ones again once
    initialized), so that the training step has no conditional branch: a
    `tf.cond` around the assignment would hold a replica synchronization,
    which `tf.distribute` does not allow there.

    Args:
      mean, variance: float tensors [C], the batch's per-channel statistics
        (`tfp_realnvp.bijectors.batch_norm.batch_moments`); no gradient
        flows through them.
    """
    initialized = tf.cast(self.initialized, tf.bool)
    mean = tf.stop_gradient(tf.cast(mean, self.log_scale.dtype))
    std = tf.sqrt(tf.stop_gradient(tf.cast(variance, self.log_scale.dtype)))
    log_scale = -tf.math.log(std + self.epsilon)
    self.log_scale.assign(tf.where(initialized, self.log_scale, log_scale))
    self.bias.assign(tf.where(initialized, self.bias,
                              -mean * tf.exp(log_scale)))
    self.initialized.assign(np.ones((), self.initialized.dtype))

  def call(self, inputs):
    """Identity; the layer exists for its weights."""
    return inputs

  def get_config(self):
    """Constructor arguments for `from_config`."""
    config = super().get_config()
    config.update(epsilon=self.epsilon)
    return config
