"""The Real NVP Keras model (Dinh, Sohl-Dickstein, Bengio, ICLR 2017)."""

import dataclasses
import math

import keras
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from tfp_realnvp import presets
from tfp_realnvp import validation
from tfp_realnvp.dequantization import discrete_log_prob_from_draws
from tfp_realnvp.dequantization import make_dequantization
from tfp_realnvp.dequantization import uniform_noise
from tfp_realnvp._compat import BuildWithoutDataBatch
from tfp_realnvp._compat import in_multi_worker_mode
from tfp_realnvp.architecture import COUPLINGS
from tfp_realnvp.architecture import FlowBuilder
from tfp_realnvp.architecture import scale_shapes
from tfp_realnvp.bijectors import Conditioned
from tfp_realnvp.bijectors import route_kwargs
from tfp_realnvp.config import ModelConfig
from tfp_realnvp.latents import standard_normal_latents
from tfp_realnvp.layers import ActNormWeights
from tfp_realnvp.layers import LUWeights
from tfp_realnvp.layers import MovingMoments
from tfp_realnvp.layers import ShiftAndLogScaleResNet
from tfp_realnvp.optimization import default_optimizer
from tfp_realnvp.units import nats_per_image_to_bits_per_dim
from tfp_realnvp.units import nats_to_bits_per_dim

tfd = tfp.distributions
# Keys of the inputs `train_step` and `test_step` pass to `call`: integer
# pixels, the dequantization's base noise and the labels.
_PIXELS = "integer_pixels"
_NOISE = "noise"
_LABELS = "labels"


@keras.saving.register_keras_serializable(package="tfp_realnvp")
class RealNVP(BuildWithoutDataBatch, keras.Model):
  """Real NVP density model of images, trainable with `fit`.

  The flow `self.flow` is a TFP bijector whose `forward` maps latents to
  pixels (TFP convention); its layers (s/t networks, batch-norm statistics,
  actnorm and 1x1-convolution weights, the variational dequantization's
  networks) are Keras layers owned by this model. Architecture: paper sec. 3.6 (see
  `tfp_realnvp.architecture.FlowBuilder`), its hyper-parameters in
  `self.config` (a `tfp_realnvp.config.ModelConfig`); preprocessing: the logit transform
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
  (images, labels). Each step dequantizes the integer pixels x
  (`config.dequantization`: x + u with u ~ U[0, 1)^D, or u drawn from the
  variational flow q(u | x) trained with the model, Flow++ sec. 3.1;
  `tfp_realnvp.dequantization`); the loss is the mean of the per-example
  negative bound -(log p(x + u) - log q(u | x)) / (D ln 2) in bits/dim
  (log q = 0 for uniform noise; averaged over the global batch, so
  distribution strategies scale it right), and `bits_per_dim` is logged
  for training and validation data: the discrete bits/dim of
  `discrete_log_prob` with one draw. `call(inputs)` returns per-example
  bits/dim of the given (already continuous) pixels, so `predict` does too.

  As a TFP distribution: `distribution(labels)` (mixtures, KL terms,
  `tfp.mcmc` targets).
  """

  def __init__(self, image_shape, num_classes=None, config=None, **kwargs):
    """Builds the model and all its weights.

    Args:
      image_shape: (H, W, C) of the images.
      num_classes: number of classes for a class-conditional model (labels
        are one-hot encoded and fed to every s/t network), else None.
      config: a `tfp_realnvp.config.ModelConfig` (the architecture), or None
        for its defaults.
      **kwargs: `ModelConfig` fields, which replace those of `config` (e.g.
        `num_scales=2, filters=64`), and `keras.Model` arguments (name,
        dtype).

    Raises:
      ValueError: for an invalid image shape, number of classes or
        hyper-parameter (`ModelConfig`'s checks), or more scales than the
        image shape allows.
    """
    hyperparameters, kwargs = ModelConfig.split_kwargs(kwargs)
    config = dataclasses.replace(config or ModelConfig(), **hyperparameters)
    # Pixels keep float32 under a mixed precision policy (bfloat16 rounds
    # 255.9 to 256); only the s/t networks compute in the low precision.
    kwargs.setdefault("autocast", False)
    super().__init__(**kwargs)
    image_shape = tuple(int(d) for d in image_shape)
    if len(image_shape) != 3 or min(image_shape) < 1:
      raise ValueError(
          f"image_shape must be (H, W, C) of positive ints; got {image_shape}.")
    scale_shapes(image_shape, config.num_scales)  # Raises for too many scales.
    if num_classes is not None and int(num_classes) < 2:
      raise ValueError(f"num_classes must be None or >= 2; got {num_classes}.")
    self.image_shape = image_shape
    self.num_classes = None if num_classes is None else int(num_classes)
    self.config = config

    self.coupling_networks = []
    self.batch_norm_moments = []
    self.lu_weights = []
    self.actnorm_weights = []
    self.flow = FlowBuilder(
        config.num_coupling_layers, self._make_network,
        self._make_normalization_weights, self._make_lu_weights,
        config.coupling, config.normalization).build(
            image_shape, config.num_scales, config.alpha, self.dtype)
    self.dequantization_networks = []
    self.dequantization = make_dequantization(
        config.dequantization, self._make_dequantization_network, image_shape,
        config.dequantization_coupling_layers)
    self._prior = self._standard_normal()
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
        output_channels=event_shape[-1], filters=self.config.filters,
        num_res_blocks=self.config.num_res_blocks,
        conditional_dims=self.num_classes,
        scale_regularizer=self._scale_regularizer(),
        shift_only=COUPLINGS[self.config.coupling].shift_only, name=name)
    return _built(network, event_shape, self.coupling_networks)

  def _scale_regularizer(self):
    """L2 in bits/dim units: the nats-per-image coefficient divided by D ln 2."""
    if not self.config.l2_regularization:
      return None
    return keras.regularizers.L2(nats_per_image_to_bits_per_dim(
        self.config.l2_regularization, self.num_dims))

  def _make_normalization_weights(self, name, channels):
    if self.config.normalization == "batch_norm":
      layer = MovingMoments(momentum=self.config.batch_norm_momentum,
                            name=f"{name}_moments")
      self.batch_norm_moments.append(layer)
    else:
      layer = ActNormWeights(name=f"{name}_actnorm_weights")
      self.actnorm_weights.append(layer)
    layer.build((None, channels))
    return layer

  def _make_dequantization_network(self, name, event_shape):
    """An s/t network of the variational dequantization's flow, conditioned on the image (and label)."""
    network = ShiftAndLogScaleResNet(
        output_channels=event_shape[-1],
        filters=self.config.dequantization_filters,
        num_res_blocks=self.config.dequantization_res_blocks,
        conditional_channels=event_shape[-1] + (self.num_classes or 0),
        name=name)
    return _built(network, event_shape, self.dequantization_networks)

  def _make_lu_weights(self, name, channels):
    if not self.config.invertible_1x1_conv:
      return None
    weights = LUWeights(name=name)
    weights.build((None, channels))
    self.lu_weights.append(weights)
    return weights

  @classmethod
  def from_preset(cls, name, compile=True, **overrides):  # pylint: disable=redefined-builtin
    """A new model with a named configuration (`tfp_realnvp.presets.PRESETS`).

    Presets hold the paper's and the official code's hyper-parameters
    (sources in `tfp_realnvp.presets`), e.g. "cifar10": 2 scales, 8 residual
    blocks, 64 feature maps, L2 5e-5 on the scale parameters.

    Args:
      name: "cifar10", "celeb_a", "imagenet32", "imagenet64", "mnist",
        "mnist_bundled" or "mnist_bundled_paper" (`presets.PRESET_NAMES`).
      compile: whether to compile with the preset's optimizer: Adam at its
        learning rate, gradient-norm clipping and schedule (a cosine
        schedule spans the preset's epochs over the full train split at its
        batch size; `Preset.optimizer`), and its weight averaging (pass
        `tfp_realnvp.callbacks.AveragedWeights()` to `fit` to validate and
        checkpoint the averages; `fit` ends with them in the model).
      **overrides: `RealNVP` arguments that replace the preset's (e.g.
        `num_classes=None`, `filters=16`).

    Returns:
      The new `RealNVP` (image shape of the preset's data set).

    Raises:
      ValueError: for an unknown preset or an invalid override.
    """
    preset = presets.get(name)
    model = cls(**{**preset.model_kwargs(), **overrides})
    if compile:
      model.compile(optimizer=preset.optimizer())
    return model

  def _standard_normal(self, batch_shape=None):
    """The prior N(0, I) over [H, W, C] events; `batch_shape` (an int tensor) adds batch dimensions."""
    zeros = (np.zeros((), self.dtype) if batch_shape is None else
             tf.zeros(batch_shape, self.dtype))
    return tfd.Sample(tfd.Normal(loc=zeros, scale=np.ones((), self.dtype)),
                      sample_shape=self.image_shape)

  # --- Flow evaluation (validated inputs in, tensors out). ---

  def _one_hot(self, class_labels):
    return (None if class_labels is None else
            tf.one_hot(class_labels, self.num_classes, dtype=self.dtype))

  def _bijector_kwargs(self, class_labels, training):
    return route_kwargs(self.flow,
                        conditional_input=self._one_hot(class_labels),
                        training=training)

  def _validated(self, pixels, class_labels, refuse_unit_scale=True):
    pixels = validation.images(pixels, self.image_shape, self.dtype,
                               refuse_unit_scale)
    class_labels = validation.labels(class_labels, self.num_classes,
                                     tf.shape(pixels)[0])
    return pixels, class_labels

  def _log_prob(self, pixels, class_labels, training=False):
    return self._distribution.log_prob(
        pixels, bijector_kwargs=self._bijector_kwargs(class_labels, training))

  def _log_importance_weight(self, integer_pixels, noise, class_labels,
                             training=False):
    """log p(x + u) - log q(u | x) [N] of integer pixels x, u the dequantization of base noise v."""
    dequantized, log_q = self.dequantization.dequantize(
        integer_pixels, noise, self._one_hot(class_labels))
    return self._log_prob(dequantized, class_labels, training) - log_q

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

  def log_importance_weight(self, images, noise, labels=None):
    """One draw of the bound on the discrete log-likelihood: log p(x + u) - log q(u | x) (Flow++ eq. 12).

    x = floor(images) are integer pixels; u is the dequantization of the
    base noise v (`config.dequantization`: u = v with log q = 0 for
    "uniform"; u = q's flow of v for "variational",
    `tfp_realnvp.dequantization`). Its expectation over v ~ U[0, 1)^D is a
    lower bound on log P(x); `discrete_log_prob` combines several draws.

    Args:
      images: [N, H, W, C], uint8 or float pixels in [0, 256) (floored to
        integers).
      noise: float [N, H, W, C], base noise v in [0, 1).
      labels: int [N] in [0, num_classes) for a conditional model, else None.

    Returns:
      float tensor [N], nats.

    Raises:
      ValueError: as `log_prob`, or noise of another shape than the images,
        not float, NaN or outside [0, 1) (`InvalidArgumentError` in a
        graph).
    """
    pixels, class_labels = self._validated(images, labels)
    noise = validation.noise(noise, self.image_shape, self.dtype,
                             tf.shape(pixels)[0])
    return self._log_importance_weight(tf.floor(pixels), noise, class_labels)

  def discrete_log_prob(self, images, labels=None, num_samples=1, seed=None):
    """A lower bound on log P(x) [N] of integer images x in {0..255}^D, in nats.

    One definition for every dequantization (`config.dequantization`), from
    K = `num_samples` draws u_k of the dequantization noise
    (`tfp_realnvp.dequantization.combine_log_weights`):

    - "uniform": the mean over draws of log p(x + u_k), u_k ~ U[0, 1)^D
      (the paper's figure, sec. 4.1);
    - "variational": the importance-weighted bound log (1/K) sum_k
      p(x + u_k) / q(u_k | x), u_k ~ q(u | x) (Burda et al. 2016), which
      rises towards log P(x) with K; K = 1 is the bound training maximizes.

    Discrete bits/dim = -discrete_log_prob / (D ln 2); it is what `fit`
    logs as `bits_per_dim` and `evaluate` reports.

    Args:
      images: [N, H, W, C], uint8 or float pixels in [0, 256) (floored to
        integers).
      labels: int [N] in [0, num_classes) for a conditional model, else None.
      num_samples: int K >= 1, draws of the noise per image.
      seed: int for reproducible draws, or None.

    Returns:
      float tensor [N], nats; its expectation over the draws is <= log P(x).

    Raises:
      ValueError: as `log_prob`, num_samples not an int >= 1, or a seed that
        is not an int or None.
    """
    num_samples = validation.positive_int(num_samples, "num_samples")
    seed = validation.seed(seed)
    pixels, class_labels = self._validated(images, labels)
    pixels = tf.floor(pixels)
    return discrete_log_prob_from_draws(
        lambda noise: self._log_importance_weight(pixels, noise,
                                                  class_labels),
        tf.shape(pixels), self.config.dequantization, num_samples, seed)

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

    All samples go through the flow in one call; for many samples,
    `tfp_realnvp.loading.from_keras(model).sample` runs it in batches (with
    the same latents for a seed).

    Args:
      num_samples: int N >= 1 (a Python or numpy int).
      labels: int [N] classes for a conditional model, else None.
      temperature: float > 0, or float [N], standard deviation of the latents
        (reduced temperatures such as 0.7 give smoother samples).
      seed: int for reproducible samples, or None.

    Returns:
      float pixels [N, H, W, C], clipped into [0, 256) (the logit transform
      can reach slightly beyond; floor them for uint8 images).

    Raises:
      ValueError: num_samples not an int >= 1 (2.7, "3", True), a
        temperature that is not a number, is <= 0 or is not broadcastable to
        [N], a seed that is not an int or None, or bad labels.
    """
    num_samples = validation.positive_int(num_samples, "num_samples")
    temperature = validation.temperatures(temperature, self.dtype)
    if temperature.shape.rank == 1 and temperature.shape[0] != num_samples:
      raise ValueError(f"temperature must be a scalar or have shape "
                       f"[{num_samples}]; got {temperature.shape}.")
    temperature = tf.broadcast_to(temperature, [num_samples])
    return self.sample_at_temperatures(temperature, labels, seed)

  def sample_at_temperatures(self, temperature, labels=None, seed=None):
    """Draws one image per temperature; graph-friendly core of `sample`.

    Args:
      temperature: validated float tensor [N] of positive temperatures.
      labels: int [N] for a conditional model, else None.
      seed: int for reproducible samples, or None.

    Returns:
      float pixels [N, H, W, C] in [0, 256).

    Raises:
      ValueError: a seed that is not an int (Python or numpy) or None.
    """
    seed = validation.seed(seed)
    shape = tf.concat([tf.shape(temperature), self.image_shape], axis=0)
    latents = (standard_normal_latents(shape, seed, self.dtype)
               * temperature[:, None, None, None])
    return validation.clip_pixels(self.decode(latents, labels))

  def distribution(self, labels=None):
    """The model as a TFP distribution over [H, W, C] pixel events.

    A `tfd.TransformedDistribution` of the standard normal prior by the flow
    (bound to `labels` for a conditional model, batch normalization with its
    running averages, `tfp_realnvp.bijectors.Conditioned`): its `log_prob`
    is the model's `log_prob` in nats, and its `sample` is `decode` of a
    prior draw, so the trained flow drops into TFP code (mixtures, KL terms,
    `tfp.mcmc` targets). It shares the model's weights: training the model
    changes it.

    Unlike `log_prob` and `sample`, it does not check its inputs and does not
    clip samples into [0, 256): it is a density on the logit transform's
    whole range (-14.3, 270.3) for alpha = 0.05.

    Args:
      labels: int [N] in [0, num_classes) for a conditional model (the
        distribution then has batch shape [N]: one class per batch member),
        else None (batch shape []).

    Returns:
      `tfd.TransformedDistribution` with event shape [H, W, C] and float
      pixels in the model's dtype; `sample(M)` gives [M, H, W, C] (a
      conditional one [M, N, H, W, C]); `log_prob(x)` takes x of shape
      [..., H, W, C] whose batch dimensions broadcast against its batch
      shape.

    Raises:
      ValueError: labels missing for a conditional model, given to an
        unconditional one, of a non-integer dtype or not of shape [N], or
        outside [0, num_classes).
    """
    if labels is None and self.num_classes is None:
      return tfd.TransformedDistribution(self._prior,
                                         Conditioned(self.flow))
    labels = tf.convert_to_tensor(labels) if labels is not None else None
    batch_size = None if labels is None else tf.shape(labels)[0]
    class_labels = validation.labels(labels, self.num_classes, batch_size)
    return tfd.TransformedDistribution(
        self._standard_normal(tf.shape(class_labels)),
        Conditioned(self.flow, self._one_hot(class_labels)))

  # --- Keras integration. ---

  def call(self, inputs, training=False):
    """Per-example bits/dim [N]: of the continuous pixels of images or (images, labels); of the discrete bound for the dict `train_step` and `test_step` pass (`_dequantize`)."""
    if isinstance(inputs, dict):  # Validated by `_dequantize`.
      log_density = self._log_importance_weight(
          inputs[_PIXELS], inputs[_NOISE], inputs.get(_LABELS), training)
    else:
      pixels, class_labels = self._validated(*self._split_inputs(inputs))
      log_density = self._log_prob(pixels, class_labels, training=training)
    return nats_to_bits_per_dim(log_density, self.num_dims)

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
    """Turns a batch of integer pixels (and labels) into Keras inputs: validated pixels, floored, and the base noise to dequantize them with."""
    images, labels, _ = keras.utils.unpack_x_y_sample_weight(data)
    pixels, class_labels = self._validated(*self._split_inputs(
        images if labels is None else (images, labels)))
    inputs = {_PIXELS: tf.floor(pixels),
              _NOISE: self._dequantization_noise(pixels)}
    if class_labels is not None:
      inputs[_LABELS] = class_labels
    return (inputs,)

  def _dequantization_noise(self, pixels):
    """The base noise v ~ U[0, 1) shaped like `pixels`; each replica of a strategy draws its own."""
    seed = tf.cast(self.dequantization_seed.next(), tf.int32)
    context = tf.distribute.get_replica_context()
    replica = 0 if context is None else context.replica_id_in_sync_group
    seed += tf.stack([0, tf.cast(replica, tf.int32)])
    return uniform_noise(tf.shape(pixels), seed, self.dtype)

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
    """Constructor arguments (JSON-serializable) for `from_config` and `.keras` files.

    Returns:
      dict: Keras's own entries (name, trainable, dtype), `image_shape`
      (list), `num_classes`, and every `ModelConfig` field at the top level
      (the layout of earlier versions, whose files still load).
    """
    config = super().get_config()
    config.update(image_shape=list(self.image_shape),
                  num_classes=self.num_classes, **self.config.to_dict())
    return config


def _built(network, event_shape, networks):
  """`network` built for its coupling's input (the masked event and the mask, [N, H, W, C + 1]) and added to the model's list `networks`."""
  network.build((None,) + tuple(event_shape[:-1]) + (event_shape[-1] + 1,))
  networks.append(network)
  return network


def _multi_worker_logs(logs):
  """Gives scalar step logs a length-1 axis under multi-worker training.

  Keras reduces per-replica step outputs of MultiWorkerMirroredStrategy with
  MEAN over axis 0, which scalars lack; the metric values are the same on
  every replica, so the mean over that axis restores them.
  """
  if in_multi_worker_mode(tf.distribute.get_strategy()):
    return {name: tf.reshape(value, [1]) for name, value in logs.items()}
  return logs
