"""The s/t network of an affine (or, t alone, an additive) coupling: a ResNet with weight normalization (paper sec. 4.1)."""

import keras
from keras import ops

from tfp_realnvp.layers.weight_norm_conv import WeightNormConv2D


@keras.saving.register_keras_serializable(package="tfp_realnvp")
class ShiftAndLogScaleResNet(keras.layers.Layer):
  """Computes (log_scale, shift) for an affine coupling (shift alone for an additive one).

  ```none
  h = conv3x3(input [, spatial conditional_input])
        [+ dense(vector conditional_input) broadcast over H, W]
  h = h + conv3x3(relu(conv3x3(relu(h))))     (num_res_blocks times)
  raw_s, t = split(conv3x3_zero_init(relu(h)))
  log_scale = scale * tanh(raw_s)             (bounded, paper sec. 4.1)
  ```

  The convolutions are weight-normalized except the last, which starts at
  zero so that a new coupling is the identity (s = t = 0). `scale` is a
  learned per-channel vector starting at 1.

  With `shift_only` (for an additive coupling, NICE) the last convolution
  gives t alone, there is no `scale`, and log_scale is None.

  Call: `layer(inputs, conditional_input=None)` with inputs [N, H, W, C_in]
  float and conditional_input either a vector [N, K] float (required iff
  `conditional_dims` was given: a bias of the first hidden layer) or a
  spatial one [N, H, W, K] float (required iff `conditional_channels` was
  given: concatenated to the inputs); returns `(log_scale, shift)`, each
  [N, H, W, output_channels] (log_scale None with `shift_only`).
  """

  def __init__(self, output_channels, filters=32, num_res_blocks=4,
               conditional_dims=None, scale_regularizer=None,
               shift_only=False, conditional_channels=None, **kwargs):
    """Args:
      output_channels: int >= 1, channels C of the coupling's event.
      filters: int >= 1, feature maps of the hidden convolutions.
      num_res_blocks: int >= 0, residual blocks.
      conditional_dims: int K >= 1 for a conditional network, else None.
      scale_regularizer: a Keras regularizer (or identifier) for the scale
        parameters: every weight-normalization gain and the tanh `scale`
        (the paper's "weight scale parameters", sec. 4.1; the official
        code, with a differently shaped network, penalizes the gains of the
        convolutions that end its residual blocks and its tanh scale), or
        None.
      shift_only: whether the network computes t alone (additive coupling).
      conditional_channels: int K >= 1 for a network conditioned on a
        spatial input [N, H, W, K] (e.g. the image that the variational
        dequantization's flow is conditioned on), else None; not together
        with `conditional_dims`.
      **kwargs: `keras.layers.Layer` arguments.

    Raises:
      ValueError: if a size is out of range, or both kinds of conditional
        input are asked for.
    """
    super().__init__(**kwargs)
    for arg_name, value, minimum in (("output_channels", output_channels, 1),
                                     ("filters", filters, 1),
                                     ("num_res_blocks", num_res_blocks, 0)):
      if int(value) < minimum:
        raise ValueError(f"{arg_name} must be >= {minimum}; got {value}.")
    for arg_name, value in (("conditional_dims", conditional_dims),
                            ("conditional_channels", conditional_channels)):
      if value is not None and int(value) < 1:
        raise ValueError(f"{arg_name} must be None or >= 1; got {value}.")
    if conditional_dims is not None and conditional_channels is not None:
      raise ValueError("A network takes a vector (conditional_dims) or a "
                       "spatial (conditional_channels) conditional input, "
                       "not both.")
    self.output_channels = int(output_channels)
    self.filters = int(filters)
    self.num_res_blocks = int(num_res_blocks)
    self.conditional_dims = (None if conditional_dims is None
                             else int(conditional_dims))
    self.scale_regularizer = keras.regularizers.get(scale_regularizer)
    self.shift_only = bool(shift_only)
    self.conditional_channels = (None if conditional_channels is None
                                 else int(conditional_channels))
    self.input_conv = self._weight_norm_conv("input_conv")
    self.res_convs = [
        (self._weight_norm_conv(f"block{i}_conv0"),
         self._weight_norm_conv(f"block{i}_conv1"))
        for i in range(self.num_res_blocks)
    ]
    self.output_conv = keras.layers.Conv2D(
        (1 if self.shift_only else 2) * self.output_channels, 3, padding="same",
        kernel_initializer="zeros", name="output_conv")
    self.conditional_dense = (
        None if self.conditional_dims is None else
        keras.layers.Dense(self.filters, name="conditional_dense"))

  def _weight_norm_conv(self, name):
    return WeightNormConv2D(self.filters, name=name,
                            gain_regularizer=self.scale_regularizer)

  def build(self, input_shape, conditional_input_shape=None):
    """Builds every sub-layer for inputs [N, H, W, C_in] (and a condition [N, K], or [N, H, W, C_c] with `conditional_channels`)."""
    input_shape = tuple(input_shape)
    hidden_shape = input_shape[:-1] + (self.filters,)
    self.input_conv.build(input_shape[:-1] + (
        input_shape[-1] + (self.conditional_channels or 0),))
    for first, second in self.res_convs:
      first.build(hidden_shape)
      second.build(hidden_shape)
    self.output_conv.build(hidden_shape)
    if self.conditional_dense is not None:
      self.conditional_dense.build((None, self.conditional_dims))
    if self.shift_only:
      return
    self.scale = self.add_weight(
        shape=(self.output_channels,), initializer="ones",
        regularizer=self.scale_regularizer, name="scale")

  def call(self, inputs, conditional_input=None):
    """Returns (log_scale, shift), each [N, H, W, output_channels] (log_scale None with `shift_only`).

    Raises:
      ValueError: conditional_input missing for a conditional network, or
        given to an unconditional one.
    """
    hidden = self.input_conv(self._with_spatial_condition(inputs,
                                                          conditional_input))
    hidden = hidden + self._conditional_bias(conditional_input, hidden.dtype)
    for first, second in self.res_convs:
      hidden = hidden + second(ops.relu(first(ops.relu(hidden))))
    output = self.output_conv(ops.relu(hidden))
    if self.shift_only:
      return None, output
    raw_log_scale, shift = ops.split(output, 2, axis=-1)
    log_scale = ops.cast(self.scale, raw_log_scale.dtype) * ops.tanh(
        raw_log_scale)
    return log_scale, shift

  def _with_spatial_condition(self, inputs, conditional_input):
    if self.conditional_channels is None:
      return inputs
    if conditional_input is None:
      raise ValueError(
          f"This network is conditional: it needs conditional_input of shape "
          f"[N, H, W, {self.conditional_channels}].")
    return ops.concatenate(
        [inputs, ops.cast(conditional_input, inputs.dtype)], axis=-1)

  def _conditional_bias(self, conditional_input, dtype):
    if self.conditional_dense is None:
      if conditional_input is not None and self.conditional_channels is None:
        raise ValueError("This network is unconditional; got a "
                         "conditional_input.")
      return ops.zeros((), dtype)
    if conditional_input is None:
      raise ValueError(
          f"This network is conditional: it needs conditional_input of shape "
          f"[N, {self.conditional_dims}].")
    bias = self.conditional_dense(ops.cast(conditional_input, dtype))
    return bias[:, None, None, :]

  def get_config(self):
    """Constructor arguments for `from_config`."""
    config = super().get_config()
    config.update(output_channels=self.output_channels, filters=self.filters,
                  num_res_blocks=self.num_res_blocks,
                  conditional_dims=self.conditional_dims,
                  shift_only=self.shift_only,
                  conditional_channels=self.conditional_channels,
                  scale_regularizer=keras.regularizers.serialize(
                      self.scale_regularizer))
    return config
