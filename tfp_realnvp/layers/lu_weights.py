"""Keras layer that holds the LU-parameterized weight of an invertible 1x1 convolution (Glow sec. 3.2)."""

import keras
import numpy as np
import tensorflow as tf


@keras.saving.register_keras_serializable(package="tfp_realnvp")
class LUWeights(keras.layers.Layer):
  """A C x C invertible matrix W = P^T L (U + diag(sign * exp(log_scale))) (Glow, Kingma & Dhariwal 2018, eq. 10).

  TFP bijectors are not tracked by Keras 3, so the weight of
  `tfp_realnvp.bijectors.Invertible1x1Conv` lives here, where `fit`,
  checkpoints and `.keras` files see it.

  Weights (of the policy's variable dtype, float32 under a mixed policy,
  and not autocast): `lower_upper`
  [C, C], trainable, holds L's strictly lower part below the diagonal, U's
  strictly upper part above it, and log of the absolute values of s on the
  diagonal (so that W stays invertible: s never reaches 0); `sign` [C],
  non-trainable, the signs of s (+1 or -1); `permutation` [C] int32,
  non-trainable, as `tf.linalg.lu` gives it (P = eye[permutation], P W =
  L U). When built (eagerly), W is a random orthogonal matrix (Glow's
  initialization, seeded by Keras's global seed), split by `tf.linalg.lu`
  in float64.
  """

  def build(self, input_shape):
    """Creates the weights for inputs (..., C)."""
    channels = int(input_shape[-1])
    rotation = keras.initializers.Orthogonal()((channels, channels),
                                               dtype="float64")
    lower_upper, permutation = tf.linalg.lu(rotation)
    diagonal = np.diag(lower_upper.numpy())
    parameters = lower_upper.numpy()
    np.fill_diagonal(parameters, np.log(np.abs(diagonal)))
    self.lower_upper = self.add_weight(
        shape=(channels, channels), autocast=False, name="lower_upper",
        initializer=keras.initializers.Constant(parameters))
    self.sign = self.add_weight(
        shape=(channels,), trainable=False, autocast=False, name="sign",
        initializer=keras.initializers.Constant(np.sign(diagonal)))
    self.permutation = self.add_weight(
        shape=(channels,), dtype="int32", trainable=False, name="permutation",
        initializer=keras.initializers.Constant(permutation.numpy()))

  def log_scale(self):
    """The log of the absolute values of s, whose sum is log|det W|.

    Returns:
      float tensor [C] of the weights' dtype.
    """
    return tf.linalg.diag_part(tf.convert_to_tensor(self.lower_upper))

  def packed_lower_upper(self):
    """L and U packed as `tf.linalg.lu` returns them, for `tfp.math.lu_reconstruct`.

    Returns:
      float tensor [C, C] of the weights' dtype: L below the diagonal, U on
      and above it (its diagonal s = sign * exp(log_scale)).
    """
    parameters = tf.convert_to_tensor(self.lower_upper)
    diagonal = tf.convert_to_tensor(self.sign) * tf.exp(self.log_scale())
    return tf.linalg.set_diag(parameters, diagonal)
