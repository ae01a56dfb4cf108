"""The conditioning network of a conditional invertible network: a condition to features at every resolution of the flow (Ardizzone et al. 2019, sec. 3)."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="tfp_realnvp")
class ConditioningNetwork(keras.layers.Layer):
  """Turns a condition (and a class label) into features for every coupling's s/t network.

  The flow's couplings work at resolutions (H / 2^j, W / 2^j), j = 0 ..
  num_scales - 1 (a scale's checkerboard couplings at its own, its channel
  couplings at the next). This layer gives the features of each, following
  the conditional INN of Ardizzone et al. 2019 ("Guided image generation
  with conditional invertible neural networks", sec. 3: a conditioning
  network feeds every coupling the condition at its scale):

  ```none
  vector condition c [N, K]:
    h = [c, one-hot(label)]; h = relu(dense(h))   (depth times)
    features at every resolution: h [N, F]          (broadcast by the coupling)
  image condition c [N, h, w, k] (h, w dividing H, W):
    c_0 = [repeat(c, H / h, W / w), one-hot(label) broadcast]   [N, H, W, k (+K)]
    c_j = average_pool(c_0, 2^j)                                 [N, H/2^j, W/2^j, .]
    features_j = relu(conv3x3(c_j))                 (depth times, own weights per j)
  ```

  With depth 0 the features are the (pooled) condition itself. The
  upsampling by repetition and the average pooling are exact, so c_j is the
  mean of the condition over each feature's pixels.

  A user's Keras layer (`encoder`) can come first: c is then replaced by
  encoder(c), a vector [N, K'] or an image [N, h', w', k'] (h', w' dividing
  H, W), and the rest is as above (with `depth` 0, the encoder alone makes
  the features).

  Call: `layer(condition, class_one_hot=None)` with condition float
  [N] + condition_shape and class_one_hot float [N, num_classes] (required
  iff `num_classes` was given); returns a dict (H_j, W_j) -> features,
  float [N, F] for a vector condition and [N, H_j, W_j, F] for an image
  one, F = `output_channels`.
  """

  def __init__(self, condition_shape, image_shape, num_scales, depth=2,
               filters=32, num_classes=None, encoder=None, **kwargs):
    """Args:
      condition_shape: (K,) for a vector condition, or (h, w, k) for an
        image condition whose h and w divide the image's H and W.
      image_shape: (H, W, C) of the flow's images.
      num_scales: int >= 1, the flow's scales (features for each of their
        resolutions).
      depth: int >= 0, dense (vector) or 3x3 convolution (image) layers.
      filters: int >= 1, their units or feature maps, F.
      num_classes: int >= 2 when a class label also conditions the model
        (its one-hot vector joins the condition), else None.
      encoder: a Keras layer (or its serialized config) applied to the
        condition first, giving [N, K'] or [N, h', w', k'], or None.
      **kwargs: `keras.layers.Layer` arguments.

    Raises:
      ValueError: a condition shape of rank other than 1 or 3, with sizes
        < 1, or an image condition (or encoder output) whose h or w does
        not divide H or W.
    """
    super().__init__(**kwargs)
    self.condition_shape = check_condition_shape(condition_shape, image_shape)
    if isinstance(encoder, dict):
      encoder = keras.saving.deserialize_keras_object(encoder)
    self.encoder = encoder
    self.features_shape = self.condition_shape
    if encoder is not None:
      if not encoder.built:
        encoder.build((None, *self.condition_shape))
      shape = encoder.compute_output_shape((None, *self.condition_shape))
      self.features_shape = check_condition_shape(
          shape[1:], image_shape, what="the condition_encoder's output shape")
    self.image_shape = tuple(int(d) for d in image_shape)
    self.num_scales = int(num_scales)
    self.depth = int(depth)
    self.filters = int(filters)
    self.num_classes = None if num_classes is None else int(num_classes)
    height, width = self.image_shape[:2]
    self.resolutions = [(height // 2**j, width // 2**j)
                        for j in range(self.num_scales)]
    if self.is_image:
      self.hidden = [[keras.layers.Conv2D(self.filters, 3, padding="same",
                                          activation="relu",
                                          name=f"resolution{j}_conv{i}")
                      for i in range(self.depth)]
                     for j in range(self.num_scales)]
    else:
      self.hidden = [[keras.layers.Dense(self.filters, activation="relu",
                                         name=f"dense{i}")
                      for i in range(self.depth)]]

  @property
  def is_image(self):
    """Whether the condition (after the encoder) is an image [h, w, k], else a vector [K]."""
    return len(self.features_shape) == 3

  @property
  def input_channels(self):
    """Channels (or units) of the condition (after the encoder) with the one-hot label."""
    return self.features_shape[-1] + (self.num_classes or 0)

  @property
  def output_channels(self):
    """F, the features' last dimension."""
    return self.filters if self.depth else self.input_channels

  def build(self, condition_shape=None, class_one_hot_shape=None):
    """Builds every layer for the declared condition shape."""
    for j, layers in enumerate(self.hidden):
      channels = self.input_channels
      for layer in layers:
        if self.is_image:
          layer.build((None, *self.resolutions[j], channels))
        else:
          layer.build((None, channels))
        channels = self.filters

  def call(self, condition, class_one_hot=None):
    """Returns the dict (H_j, W_j) -> features described in the class docstring.

    Raises:
      ValueError: class_one_hot missing when `num_classes` was given, or
        given when it was not.
    """
    if (class_one_hot is None) != (self.num_classes is None):
      raise ValueError(
          "This conditioning network takes no class label (num_classes="
          "None)." if self.num_classes is None else
          "This conditioning network also takes a class label: "
          f"class_one_hot [N, {self.num_classes}] is required.")
    if self.encoder is not None:
      condition = self.encoder(condition)
    if self.is_image:
      return self._image_features(condition, class_one_hot)
    hidden = condition
    if class_one_hot is not None:
      hidden = ops.concatenate([hidden, ops.cast(class_one_hot, hidden.dtype)],
                               axis=-1)
    for layer in self.hidden[0]:
      hidden = layer(hidden)
    return {resolution: hidden for resolution in self.resolutions}

  def _image_features(self, condition, class_one_hot):
    height, width = self.image_shape[:2]
    hidden = ops.repeat(condition, height // self.features_shape[0], axis=1)
    hidden = ops.repeat(hidden, width // self.features_shape[1], axis=2)
    if class_one_hot is not None:
      labels = ops.cast(class_one_hot, hidden.dtype)[:, None, None, :]
      hidden = ops.concatenate([hidden, labels * ops.ones_like(
          hidden[..., :1])], axis=-1)
    features = {}
    for j, layers in enumerate(self.hidden):
      pooled = hidden if j == 0 else ops.average_pool(
          hidden, 2**j, strides=2**j, padding="valid")
      for layer in layers:
        pooled = layer(pooled)
      features[self.resolutions[j]] = pooled
    return features

  def get_config(self):
    """Constructor arguments for `from_config`."""
    config = super().get_config()
    config.update(condition_shape=list(self.condition_shape),
                  image_shape=list(self.image_shape),
                  num_scales=self.num_scales, depth=self.depth,
                  filters=self.filters, num_classes=self.num_classes,
                  encoder=(None if self.encoder is None else
                           keras.saving.serialize_keras_object(self.encoder)))
    return config


def check_condition_shape(condition_shape, image_shape,
                          what="condition_shape"):
  """The condition shape as a tuple of ints, checked against the image shape.

  Args:
    condition_shape: (K,) (a vector) or (h, w, k) (an image), positive
      ints.
    image_shape: (H, W, C) of the model's images.
    what: the name of the shape in the error messages.

  Returns:
    tuple of ints.

  Raises:
    ValueError: a rank other than 1 or 3, a size < 1, or an image
      condition whose h or w does not divide H or W (naming the sizes that
      do).
  """
  try:
    shape = tuple(int(d) for d in condition_shape)
  except (TypeError, ValueError):
    shape = ()
  if len(shape) not in (1, 3) or min(shape, default=0) < 1:
    raise ValueError(f"{what} must be (K,) for a vector condition or "
                     f"(h, w, k) for an image condition, positive ints; got "
                     f"{condition_shape!r}.")
  if len(shape) == 3:
    for side, size, name in ((0, image_shape[0], "height"),
                             (1, image_shape[1], "width")):
      if size % shape[side]:
        divisors = [d for d in range(1, size + 1) if size % d == 0]
        raise ValueError(
            f"An image condition's {name} must divide the image {name} "
            f"{size} (one of {divisors}); got {what} {shape}.")
  return shape
