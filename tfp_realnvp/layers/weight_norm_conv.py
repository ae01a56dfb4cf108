"""2-D convolution with weight normalization (Salimans & Kingma 2016), as Real NVP's networks use."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="tfp_realnvp")
class WeightNormConv2D(keras.layers.Layer):
  """'same'-padded stride-1 convolution with kernel = g * v / ||v||.

  The norm is taken per output channel over (kh, kw, in). g starts at ||v||,
  so the layer starts as a plain convolution with a Glorot-uniform kernel.
  Keras 3 ships no weight-normalization wrapper (it lived in TF Addons), hence
  this layer.

  Input [N, H, W, C_in] float; output [N, H, W, filters].
  """

  def __init__(self, filters, kernel_size=3, gain_regularizer=None, **kwargs):
    """Args:
      filters: int >= 1, output channels.
      kernel_size: odd int >= 1, square kernel side.
      gain_regularizer: a Keras regularizer (or its identifier) applied to g,
        the weight scale (Real NVP puts L2 on it, paper sec. 4.1), or None.
      **kwargs: `keras.layers.Layer` arguments.

    Raises:
      ValueError: for non-positive filters or an even kernel size.
    """
    super().__init__(**kwargs)
    if int(filters) < 1:
      raise ValueError(f"filters must be >= 1; got {filters}.")
    if int(kernel_size) < 1 or int(kernel_size) % 2 == 0:
      raise ValueError(f"kernel_size must be odd and >= 1; got {kernel_size}.")
    self.filters = int(filters)
    self.kernel_size = int(kernel_size)
    self.gain_regularizer = keras.regularizers.get(gain_regularizer)

  def build(self, input_shape):
    """Creates direction v [k, k, C_in, filters], gain g [filters], bias [filters]."""
    kernel_shape = (self.kernel_size, self.kernel_size, int(input_shape[-1]),
                    self.filters)
    self.direction = self.add_weight(
        shape=kernel_shape, initializer="glorot_uniform", name="direction")
    initial_norm = ops.convert_to_numpy(self._direction_norm())
    self.gain = self.add_weight(
        shape=(self.filters,),
        initializer=keras.initializers.Constant(initial_norm),
        regularizer=self.gain_regularizer, name="gain")
    self.bias = self.add_weight(
        shape=(self.filters,), initializer="zeros", name="bias")

  def _direction_norm(self):
    return ops.sqrt(ops.sum(ops.square(self.direction), axis=(0, 1, 2)))

  def call(self, inputs):
    """[N, H, W, C_in] -> [N, H, W, filters]."""
    kernel = self.direction * (self.gain / self._direction_norm())
    outputs = ops.conv(inputs, ops.cast(kernel, inputs.dtype), padding="same")
    return outputs + ops.cast(self.bias, inputs.dtype)

  def compute_output_shape(self, input_shape):
    """(..., C_in) -> (..., filters)."""
    return tuple(input_shape[:-1]) + (self.filters,)

  def get_config(self):
    """Constructor arguments for `from_config`."""
    config = super().get_config()
    config.update(
        filters=self.filters, kernel_size=self.kernel_size,
        gain_regularizer=keras.regularizers.serialize(self.gain_regularizer))
    return config
