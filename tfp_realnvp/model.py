"""The Real NVP Keras model (Dinh, Sohl-Dickstein, Bengio, ICLR 2017)."""

import json
import math

import keras
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from tfp_realnvp import validation
from tfp_realnvp.architecture import FlowBuilder
from tfp_realnvp.architecture import scale_shapes
from tfp_realnvp.bijectors import route_kwargs
from tfp_realnvp.layers import MovingMoments
from tfp_realnvp.layers import ShiftAndLogScaleResNet

tfd = tfp.distributions


def nats_to_bits_per_dim(log_prob, num_dims):
  """Bits per dimension -log_prob / (D ln 2) of log-densities `log_prob` in nats.

  Args:
    log_prob: float tensor [N], log-density over pixel space [0, 256)^D.
    num_dims: D = H * W * C.

  Returns:
    float tensor [N], bits/dim (the paper's reported unit).
  """
  return -nats_per_image_to_bits_per_dim(log_prob, num_dims)


def nats_per_image_to_bits_per_dim(value, num_dims):
  """`value` on the nats-per-image scale (the official code's loss) restated on the bits/dim scale: value / (D ln 2).

  Coefficients and bounds of the official code (its L2 coefficient, its
  gradient clipping) apply to our bits/dim loss after this conversion.

  Args:
    value: float or float tensor (any shape) in nats per image.
    num_dims: D = H * W * C.

  Returns:
    float or tensor: value / (D ln 2), of `value`'s type and shape (no sign
    change; a log-density gives minus the bits/dim, see
    `nats_to_bits_per_dim`).
  """
  return value / (num_dims * math.log(2.0))


def standard_normal_latents(shape, seed=None, dtype=tf.float32):
  """Draws latents z ~ N(0, I), the prior of the flow, for sampling.

  With an int `seed` the draw is stateless (`tf.random.stateless_normal` with
  seed [seed, 0]): the same seed and shape give the same z in any process,
  which is what makes `RealNVP.sample(..., seed=s)` and
  `tfp_realnvp.sampling` reproducible (also through a SavedModel's `decode`
  signature). Without a seed the draw comes from TF's stateful generator.

  Args:
    shape: int list or int tensor [N, H, W, C].
    seed: int, or None.
    dtype: float dtype of the result.

  Returns:
    `dtype` tensor of `shape`, standard normal (unit: latent standard
    deviations; multiply by a temperature for reduced-temperature samples).
  """
  if seed is None:
    return tf.random.normal(shape, dtype=dtype)
  return tf.random.stateless_normal(shape, seed=[int(seed), 0], dtype=dtype)


#: Learning-rate schedules `learning_rate_schedule` accepts.
LR_SCHEDULES = ("constant", "cosine")


def learning_rate_schedule(learning_rate, schedule="constant", total_steps=None):
  """Adam's learning rate: constant, or cosine decay from `learning_rate` to 0.

  Args:
    learning_rate: float > 0, the (peak) step size.
    schedule: "constant" or "cosine".
    total_steps: optimizer steps of the whole training, for "cosine".

  Returns:
    The float, or a `keras.optimizers.schedules.CosineDecay`.

  Raises:
    ValueError: for an unknown schedule, or "cosine" without total_steps.
  """
  if schedule not in LR_SCHEDULES:
    raise ValueError(f"schedule must be one of {LR_SCHEDULES}; got "
                     f"{schedule!r}.")
  if schedule == "constant":
    return learning_rate
  if not total_steps or total_steps < 1:
    raise ValueError(f"A cosine schedule needs total_steps >= 1; got "
                     f"{total_steps}.")
  return keras.optimizers.schedules.CosineDecay(learning_rate,
                                                decay_steps=int(total_steps))


def default_optimizer(learning_rate=1e-3, gradient_clip_norm=100.0):
  """Adam with global gradient-norm clipping.

  Args:
    learning_rate: float > 0, Adam's step size (official code: 1e-3), or a
      Keras learning-rate schedule (`learning_rate_schedule`).
    gradient_clip_norm: float > 0, the largest global norm of the gradient of
      the loss in bits/dim. The official code clips at 100 the gradient of
      the loss in nats per image, D ln 2 times larger than ours: its
      equivalent here is 100 / (D ln 2) (`official_gradient_clip_norm`).

  Returns:
    A new `keras.optimizers.Adam`.
  """
  return keras.optimizers.Adam(learning_rate=learning_rate,
                               global_clipnorm=gradient_clip_norm)


def official_gradient_clip_norm(num_dims):
  """The official code's clipping (norm 100 of nats-per-image gradients) on our bits/dim loss: 100 / (D ln 2).

  The official code (tensorflow/models research/real_nvp,
  `get_default_hparams`: clip_gradient=100) clips the global norm of the
  gradient of its loss in nats per image.

  Args:
    num_dims: D = H * W * C.

  Returns:
    float: 100 / (D ln 2), 0.184 for 28x28x1 and 0.047 for 32x32x3.
  """
  return nats_per_image_to_bits_per_dim(100.0, num_dims)


@keras.saving.register_keras_serializable(package="tfp_realnvp")
class RealNVP(keras.Model):
  """Real NVP density model of images, trainable with `fit`.

  The flow `self.flow` is a TFP bijector whose `forward` maps latents to
  pixels (TFP convention); its layers (s/t networks, batch-norm statistics)
  are Keras layers owned by this model. Architecture: paper sec. 3.6 (see
  `tfp_realnvp.architecture.FlowBuilder`); preprocessing: the logit transform
  with alpha (official code); prior: standard normal over all D = H*W*C
  latents.

  Pixels are in [0, 256): uint8 images or dequantized floats. Densities are
  over the dequantized pixel space, in nats; bits/dim = -log_prob / (D ln 2).

  Latent layout: `encode` returns z of shape [N, H, W, C] like the image,
  defined recursively with `squeeze` (= `tf.nn.space_to_depth(., 2)`):
  h_0 = z; the latents factored out at scale k are the first half of the
  channels of squeeze(h_k), and h_{k+1} is the second half; the last scale's
  latents are h_last. With space-to-depth's channel order, the first half is
  the top row of every 2x2 block: scale k's latents sit on the even rows of
  h_k, and every factored-out block is put back in place.

  Training: `compile()` (Adam, lr 1e-3, global gradient-norm clip 100 by
  default) then `fit()` on a `tf.data.Dataset` of uint8-valued images or
  (images, labels). Each step adds U[0, 1) dequantization noise; the loss is
  the mean of per-example bits/dim (averaged over the global batch, so
  distribution strategies scale it right); `bits_per_dim` is logged for
  training and validation data. `call(inputs)` returns per-example bits/dim of
  the given (already continuous) pixels, so `predict` does too.
  """

  def __init__(self, image_shape, num_scales=2, num_coupling_layers=3,
               num_res_blocks=4, filters=32, num_classes=None,
               batch_norm=True, batch_norm_momentum=0.9, alpha=0.05,
               l2_regularization=0.0, **kwargs):
    """Builds the model and all its weights.

    Args:
      image_shape: (H, W, C) of the images.
      num_scales: int >= 1; H and W must be divisible by 2^(num_scales - 1).
      num_coupling_layers: couplings per half-scale (paper: 3); the last scale
        has one more.
      num_res_blocks: residual blocks per s/t network (paper: 4 for 32x32).
      filters: feature maps of the s/t networks (paper: 32; 64 for CIFAR-10).
      num_classes: number of classes for a class-conditional model (labels
        are one-hot encoded and fed to every s/t network), else None.
      batch_norm: whether every coupling is followed by batch normalization
        with running averages (paper sec. 3.7).
      batch_norm_momentum: momentum of the running averages (0.9: they
        follow the weights within ~10 steps, so held-out figures early in
        training are not distorted by stale statistics).
      alpha: margin of the logit transform (official code: 0.05).
      l2_regularization: float >= 0, coefficient of the L2 penalty on the
        scale parameters (every weight-normalization gain and tanh scale;
        paper sec. 4.1: 5e-5), on the official code's scale: c * sum(g^2) is
        added to the mean negative log-likelihood in nats per image. The
        loss is in bits/dim, so the penalty enters it divided by D ln 2.
      **kwargs: `keras.Model` arguments (name, dtype).

    Raises:
      ValueError: for an invalid image shape or hyper-parameter.
    """
    # Pixels keep float32 under a mixed precision policy (bfloat16 rounds
    # 255.9 to 256); only the s/t networks compute in the low precision.
    kwargs.setdefault("autocast", False)
    super().__init__(**kwargs)
    image_shape = tuple(int(d) for d in image_shape)
    if len(image_shape) != 3 or min(image_shape) < 1:
      raise ValueError(
          f"image_shape must be (H, W, C) of positive ints; got {image_shape}.")
    scale_shapes(image_shape, num_scales)  # Raises for too many scales.
    for arg_name, value in (("num_coupling_layers", num_coupling_layers),
                            ("filters", filters)):
      if int(value) < 1:
        raise ValueError(f"{arg_name} must be >= 1; got {value}.")
    if num_classes is not None and int(num_classes) < 2:
      raise ValueError(f"num_classes must be None or >= 2; got {num_classes}.")
    if not float(l2_regularization) >= 0:
      raise ValueError(f"l2_regularization must be >= 0; got "
                       f"{l2_regularization}.")
    self.image_shape = image_shape
    self.num_scales = int(num_scales)
    self.num_coupling_layers = int(num_coupling_layers)
    self.num_res_blocks = int(num_res_blocks)
    self.filters = int(filters)
    self.num_classes = None if num_classes is None else int(num_classes)
    self.batch_norm = bool(batch_norm)
    self.batch_norm_momentum = float(batch_norm_momentum)
    self.alpha = float(alpha)
    self.l2_regularization = float(l2_regularization)

    self.coupling_networks = []
    self.batch_norm_moments = []
    self.flow = FlowBuilder(self.num_coupling_layers, self._make_network,
                            self._make_moments).build(
                                image_shape, self.num_scales, self.alpha,
                                self.dtype)
    self._prior = tfd.Sample(
        tfd.Normal(loc=np.zeros((), self.dtype), scale=np.ones((), self.dtype)),
        sample_shape=image_shape)
    self._distribution = tfd.TransformedDistribution(self._prior, self.flow)
    self.bits_per_dim_tracker = keras.metrics.Mean(name="bits_per_dim")
    # Seeded from Python's global RNG, so keras.utils.set_random_seed fixes it.
    self.dequantization_seed = keras.random.SeedGenerator(
        name="dequantization_seed")
    self.built = True

  @property
  def num_dims(self):
    """D = H * W * C, the number of pixel values per image."""
    return math.prod(self.image_shape)

  def _make_network(self, name, event_shape):
    network = ShiftAndLogScaleResNet(
        output_channels=event_shape[-1], filters=self.filters,
        num_res_blocks=self.num_res_blocks,
        conditional_dims=self.num_classes,
        scale_regularizer=self._scale_regularizer(), name=name)
    network.build((None,) + tuple(event_shape[:-1]) + (event_shape[-1] + 1,))
    self.coupling_networks.append(network)
    return network

  def _scale_regularizer(self):
    """L2 in bits/dim units: the nats-per-image coefficient divided by D ln 2."""
    if not self.l2_regularization:
      return None
    return keras.regularizers.L2(nats_per_image_to_bits_per_dim(
        self.l2_regularization, self.num_dims))

  def _make_moments(self, name, channels):
    if not self.batch_norm:
      return None
    moments = MovingMoments(momentum=self.batch_norm_momentum, name=name)
    moments.build((None, channels))
    self.batch_norm_moments.append(moments)
    return moments

  @classmethod
  def from_preset(cls, name, compile=True, **overrides):  # pylint: disable=redefined-builtin
    """A new model with a named configuration (`tfp_realnvp.presets.PRESETS`).

    Presets hold the paper's and the official code's hyper-parameters
    (sources in `tfp_realnvp.presets`), e.g. "cifar10": 2 scales, 8 residual
    blocks, 64 feature maps, L2 5e-5 on the scale parameters.

    Args:
      name: "cifar10", "celeb_a", "imagenet32", "imagenet64", "mnist" or
        "mnist_bundled".
      compile: whether to compile with the preset's optimizer: Adam at its
        learning rate, gradient-norm clipping and schedule (a cosine
        schedule spans the preset's epochs over the full train split at its
        batch size).
      **overrides: `RealNVP` arguments that replace the preset's (e.g.
        `num_classes=None`, `filters=16`).

    Returns:
      The new `RealNVP` (image shape of the preset's data set).

    Raises:
      ValueError: for an unknown preset or an invalid override.
    """
    from tfp_realnvp import presets  # pylint: disable=import-outside-toplevel
    from tfp_realnvp import training  # pylint: disable=import-outside-toplevel
    preset = presets.get(name)
    config = training.TrainConfig.from_preset(name)
    model = cls(**{**config.model_kwargs(), **overrides})
    if compile:
      model.compile(optimizer=config.optimizer(preset.steps_per_epoch()))
    return model

  # --- Flow evaluation (validated inputs in, tensors out). ---

  def _bijector_kwargs(self, class_labels, training):
    conditional_input = (None if class_labels is None else
                         tf.one_hot(class_labels, self.num_classes,
                                    dtype=self.dtype))
    return route_kwargs(self.flow, conditional_input=conditional_input,
                        training=training)

  def _validated(self, pixels, class_labels):
    pixels = validation.images(pixels, self.image_shape, self.dtype)
    class_labels = validation.labels(class_labels, self.num_classes,
                                     tf.shape(pixels)[0])
    return pixels, class_labels

  def _log_prob(self, pixels, class_labels, training=False):
    return self._distribution.log_prob(
        pixels, bijector_kwargs=self._bijector_kwargs(class_labels, training))

  # --- Public API. ---

  def log_prob(self, x, labels=None):
    """Log-density of images in pixel space (paper eq. 3 with the logit Jacobian).

    Args:
      x: images [N, H, W, C], uint8 or float, pixel values in [0, 256)
        (dequantized values for a proper density estimate).
      labels: int [N] in [0, num_classes) for a conditional model, else None.

    Returns:
      float tensor [N], nats.

    Raises:
      ValueError: wrong rank/shape/dtype, NaN, pixels out of range, labels
        missing, superfluous or out of range (inside a `tf.function` or a
        SavedModel, value problems raise `tf.errors.InvalidArgumentError`).
    """
    pixels, class_labels = self._validated(x, labels)
    return self._log_prob(pixels, class_labels)

  def bits_per_dim(self, x, labels=None):
    """Bits per dimension [N] = -log_prob(x) / (D ln 2); arguments as `log_prob`.

    Args:
      x, labels: as in `log_prob`.

    Returns:
      float tensor [N], bits/dim (the paper's reported unit).

    Raises:
      ValueError: as `log_prob`.
    """
    return nats_to_bits_per_dim(self.log_prob(x, labels), self.num_dims)

  def encode(self, x, labels=None):
    """Maps images to latents (the flow's inverse; paper's f).

    Args:
      x, labels: as in `log_prob`.

    Returns:
      latents [N, H, W, C] in the model's dtype (layout in the class docstring);
      log_prob(x) = log N(encode(x); 0, I) + log|det d encode / dx|.

    Raises:
      ValueError: as `log_prob`.
    """
    pixels, class_labels = self._validated(x, labels)
    return self.flow.inverse(pixels,
                             **self._bijector_kwargs(class_labels, False))

  def decode(self, z, labels=None):
    """Maps latents to images, the exact inverse of `encode`.

    Args:
      z: latents [N, H, W, C], float.
      labels: as in `log_prob`.

    Returns:
      pixels [N, H, W, C]; within (-14.3, 270.3) for alpha = 0.05 (the logit
      transform's range, 256 alpha / (1 - 2 alpha) beyond each end), in
      [0, 256) for latents of real images.

    Raises:
      ValueError: wrong rank/shape/dtype, NaN, or bad labels.
    """
    latents = validation.latents(z, self.image_shape, self.dtype)
    class_labels = validation.labels(labels, self.num_classes,
                                     tf.shape(latents)[0])
    return self.flow.forward(latents,
                             **self._bijector_kwargs(class_labels, False))

  def sample(self, num_samples, labels=None, temperature=1.0, seed=None):
    """Draws images: z ~ N(0, temperature^2 I), x = decode(z).

    Args:
      num_samples: int N >= 1.
      labels: int [N] classes for a conditional model, else None.
      temperature: float > 0, or float [N], standard deviation of the latents
        (reduced temperatures such as 0.7 give smoother samples).
      seed: int for reproducible samples, or None.

    Returns:
      float pixels [N, H, W, C], clipped into [0, 256) (the logit transform
      can reach slightly beyond; floor them for uint8 images).

    Raises:
      ValueError: num_samples < 1, temperature <= 0 or not broadcastable to
        [N], or bad labels.
    """
    if int(num_samples) < 1:
      raise ValueError(f"num_samples must be >= 1; got {num_samples}.")
    temperature = validation.temperatures(temperature, self.dtype)
    if temperature.shape.rank == 1 and temperature.shape[0] != num_samples:
      raise ValueError(f"temperature must be a scalar or have shape "
                       f"[{num_samples}]; got {temperature.shape}.")
    temperature = tf.broadcast_to(temperature, [int(num_samples)])
    return self.sample_at_temperatures(temperature, labels, seed)

  def sample_at_temperatures(self, temperature, labels=None, seed=None):
    """Draws one image per temperature; graph-friendly core of `sample`.

    Args:
      temperature: validated float tensor [N] of positive temperatures.
      labels: int [N] for a conditional model, else None.
      seed: int for reproducible samples, or None.

    Returns:
      float pixels [N, H, W, C] in [0, 256).
    """
    shape = tf.concat([tf.shape(temperature), self.image_shape], axis=0)
    latents = (standard_normal_latents(shape, seed, self.dtype)
               * temperature[:, None, None, None])
    return validation.clip_pixels(self.decode(latents, labels))

  # --- Keras integration. ---

  def call(self, inputs, training=False):
    """Per-example bits/dim [N] of `inputs`: images or (images, labels)."""
    pixels, class_labels = self._split_inputs(inputs)
    pixels, class_labels = self._validated(pixels, class_labels)
    return nats_to_bits_per_dim(
        self._log_prob(pixels, class_labels, training=training),
        self.num_dims)

  def _split_inputs(self, inputs):
    if isinstance(inputs, (tuple, list)):
      if len(inputs) != 2:
        raise ValueError("inputs must be images or (images, labels); got a "
                         f"sequence of {len(inputs)} elements.")
      pixels, class_labels = inputs
    else:
      pixels, class_labels = inputs, None
    if self.num_classes is None:
      class_labels = None  # Labelled data sets train unconditional models too.
    return pixels, class_labels

  def _dequantize(self, data):
    """Turns a batch of integer pixels (and labels) into Keras inputs with U[0, 1) noise."""
    if isinstance(data, (tuple, list)) and len(data) == 1:
      data = data[0]
    pixels, class_labels = self._split_inputs(data)
    pixels = validation.images(pixels, self.image_shape, self.dtype)
    noise = self._dequantization_noise(pixels)
    # In float32, 255 + u rounds to 256 for u within 3e-5 of 1: clip it back.
    pixels = validation.clip_pixels(tf.floor(pixels) + noise)
    if class_labels is None:
      return (pixels,)
    return ((pixels, class_labels),)

  def _dequantization_noise(self, pixels):
    """U[0, 1) noise shaped like `pixels`; each replica of a strategy draws its own."""
    seed = tf.cast(self.dequantization_seed.next(), tf.int32)
    context = tf.distribute.get_replica_context()
    replica = 0 if context is None else context.replica_id_in_sync_group
    seed += tf.stack([0, tf.cast(replica, tf.int32)])
    return tf.random.stateless_uniform(tf.shape(pixels), seed=seed,
                                       dtype=self.dtype)

  def _maybe_symbolic_build(self, iterator=None, data_batch=None):
    # Every layer is built in __init__ and there is no compiled loss or
    # metric, so no data batch is needed to build. Keras would take one and
    # reduce it across replicas eagerly, which MultiWorkerMirroredStrategy
    # rejects (keras-team/keras#20585); only the optimizer is left to build.
    # Building the optimizer here, not in the first step, also spares that
    # step's tf.function a second trace (it retraces when it creates
    # variables).
    del iterator, data_batch
    with self.distribute_strategy.scope():
      self._symbolic_build()

  def train_step(self, data):
    """One optimizer step on a batch of integer pixels (and labels), dequantized here."""
    return _multi_worker_logs(super().train_step(self._dequantize(data)))

  def test_step(self, data):
    """Bits/dim of a dequantized batch; batch norm uses its running averages."""
    return _multi_worker_logs(super().test_step(self._dequantize(data)))

  def compile(self, optimizer=None, **kwargs):
    """Keras `compile`; the loss is the model's own (mean bits/dim).

    Args:
      optimizer: a Keras optimizer or its name; None gives
        `default_optimizer()` (Adam 1e-3, gradient-norm clip 100).
      **kwargs: other `keras.Model.compile` arguments (e.g. `jit_compile`,
        default False; `steps_per_execution`).

    Raises:
      ValueError: if `loss` or `metrics` is given (the loss is the negative
        log-likelihood and `bits_per_dim` is always logged).
    """
    for argument in ("loss", "metrics", "weighted_metrics"):
      if kwargs.get(argument) is not None:
        raise ValueError(f"RealNVP defines its own loss and metrics; got "
                         f"{argument}={kwargs[argument]!r}.")
      kwargs.pop(argument, None)
    kwargs.setdefault("jit_compile", False)
    super().compile(optimizer=optimizer or default_optimizer(), **kwargs)

  def compile_from_config(self, config):
    """Restores `compile()` when loading a `.keras` file (optimizer state included)."""
    self.compile(**keras.saving.deserialize_keras_object(config))
    if self.built:
      self.optimizer.build(self.trainable_variables)

  def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None,
                   training=True):
    """Mean bits/dim over the global batch, plus Keras regularization losses if any layer adds some.

    Per-example bits/dim are summed and divided by the global batch size
    (`tf.nn.compute_average_loss`), so gradients summed over replicas of a
    distribution strategy equal the single-device gradient.
    """
    loss = tf.nn.compute_average_loss(y_pred)
    if self.losses:
      loss += tf.nn.scale_regularization_loss(tf.add_n(self.losses))
    return loss

  def compute_metrics(self, x, y, y_pred, sample_weight=None):
    """Updates the `bits_per_dim` metric with the per-example values `y_pred` [N]."""
    self.bits_per_dim_tracker.update_state(y_pred)
    return super().compute_metrics(x, y, y_pred, sample_weight)

  def get_config(self):
    """Constructor arguments (JSON-serializable) for `from_config` and `.keras` files."""
    config = super().get_config()
    config.update(
        image_shape=list(self.image_shape), num_scales=self.num_scales,
        num_coupling_layers=self.num_coupling_layers,
        num_res_blocks=self.num_res_blocks, filters=self.filters,
        num_classes=self.num_classes, batch_norm=self.batch_norm,
        batch_norm_momentum=self.batch_norm_momentum, alpha=self.alpha,
        l2_regularization=self.l2_regularization)
    return config


def _multi_worker_logs(logs):
  """Gives scalar step logs a length-1 axis under multi-worker training.

  Keras reduces per-replica step outputs of MultiWorkerMirroredStrategy with
  MEAN over axis 0, which scalars lack; the metric values are the same on
  every replica, so the mean over that axis restores them.
  """
  strategy = tf.distribute.get_strategy()
  if (isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
      and strategy.extended._in_multi_worker_mode()):  # pylint: disable=protected-access
    return {name: tf.reshape(value, [1]) for name, value in logs.items()}
  return logs


def load_trained_model(path, config_path=None):
  """Loads a RealNVP from a `.keras` file or a `.weights.h5` checkpoint.

  Args:
    path: a `.keras` file (architecture and weights), or a `.weights.h5`
      checkpoint (weights only; local or any TF filesystem for `.keras`).
    config_path: JSON file holding `RealNVP.get_config()` (`train` writes
      `config.json`); required for `.weights.h5` checkpoints.

  Returns:
    The `RealNVP`.

  Raises:
    ValueError: unknown file type, or a checkpoint without `config_path`.
    OSError: a missing file.
  """
  path = str(path)
  if not tf.io.gfile.exists(path):
    raise OSError(f"No model file at {path!r}.")
  if path.endswith(".keras"):
    return keras.models.load_model(path)
  if path.endswith(".weights.h5"):
    if not config_path:
      raise ValueError(f"{path!r} holds weights only: pass the model's config "
                       f"JSON (config.json next to it) as config_path/--config.")
    with tf.io.gfile.GFile(config_path) as file:
      model = RealNVP.from_config(json.load(file))
    model.load_weights(path)
    return model
  raise ValueError(f"Expected a .keras file or a .weights.h5 checkpoint; got "
                   f"{path!r}.")
