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
from tfp_realnvp.bijectors import per_resolution
from tfp_realnvp.bijectors import route_kwargs
from tfp_realnvp.config import ModelConfig
from tfp_realnvp.latents import standard_normal_latents
from tfp_realnvp.layers import ActNormWeights
from tfp_realnvp.layers import ConditioningNetwork
from tfp_realnvp.layers import LUWeights
from tfp_realnvp.layers import MovingMoments
from tfp_realnvp.layers import ShiftAndLogScaleResNet
from tfp_realnvp.optimization import default_optimizer
from tfp_realnvp.units import nats_per_image_to_bits_per_dim
from tfp_realnvp.units import nats_to_bits_per_dim

tfd = tfp.distributions
# Keys of the inputs `train_step` and `test_step` pass to `call`: integer
# pixels, the dequantization's base noise, the labels and the condition.
_PIXELS = "integer_pixels"
_NOISE = "noise"
_LABELS = "labels"
_CONDITION = "condition"
#: Keys of a data set's dict elements that `fit`, `evaluate` and `predict`
#: read: the images, their class labels and their condition.
DATA_KEYS = ("images", _LABELS, _CONDITION)


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

  Conditions (Ardizzone et al. 2019): a class label (`num_classes`, fed as
  a one-hot vector to every s/t network, paper sec. 3.5's conditional
  variant) and/or a condition of any declared shape (`condition_shape`: a
  vector [K] or an image [h, w, k]) that a conditioning network
  (`tfp_realnvp.layers.ConditioningNetwork`, `config.condition_depth` and
  `config.condition_filters`) turns into features at every coupling's
  resolution. Every method takes `labels=` and `condition=`.

  Training: `compile()` (Adam, lr 1e-3, global gradient-norm clip 100 by
  default) then `fit()` on a `tf.data.Dataset` of uint8-valued images,
  (images, labels) or (images, condition) pairs (the model's one kind of
  condition), or dicts with keys "images", "labels" and "condition". Each step dequantizes the integer pixels x
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

  def __init__(self, image_shape, num_classes=None, config=None,
               condition_shape=None, condition_encoder=None, **kwargs):
    """Builds the model and all its weights.

    Args:
      image_shape: (H, W, C) of the images.
      num_classes: number of classes for a class-conditional model (labels
        are one-hot encoded and fed to every s/t network), else None.
      config: a `tfp_realnvp.config.ModelConfig` (the architecture), or None
        for its defaults.
      condition_shape: shape of a condition every method then takes as
        `condition=`: (K,) for a vector [N, K], or (h, w, k) for an image
        [N, h, w, k] whose h and w divide H and W (e.g. the image
        average-pooled by 4: super-resolution); None for none.
      condition_encoder: a Keras layer of your own that the condition goes
        through first (`ConditioningNetwork`'s `encoder`: it maps
        [N] + condition_shape to [N, K'] or [N, h', w', k'] with h', w'
        dividing H, W); it is saved with the model (register its class with
        `keras.saving.register_keras_serializable`). None: the condition
        itself.
      **kwargs: `ModelConfig` fields, which replace those of `config` (e.g.
        `num_scales=2, filters=64`), and `keras.Model` arguments (name,
        dtype).

    Raises:
      ValueError: for an invalid image shape, number of classes, condition
        shape or hyper-parameter (`ModelConfig`'s checks), or more scales
        than the image shape allows.
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
    self.conditioning_network = None
    if condition_shape is not None:
      self.conditioning_network = ConditioningNetwork(
          condition_shape, image_shape, config.num_scales,
          config.condition_depth, config.condition_filters, self.num_classes,
          encoder=condition_encoder, name="conditioning_network")
      self.conditioning_network.build()
    self.condition_shape = (None if condition_shape is None else
                            self.conditioning_network.condition_shape)

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
        **self._network_condition(),
        scale_regularizer=self._scale_regularizer(),
        shift_only=COUPLINGS[self.config.coupling].shift_only, name=name)
    return _built(network, event_shape, self.coupling_networks)

  def _network_condition(self):
    """How an s/t network takes the features of the condition: `ShiftAndLogScaleResNet` arguments."""
    network = self.conditioning_network
    if network is None:
      return {"conditional_dims": self.num_classes}
    if network.is_image:
      return {"conditional_channels": network.output_channels}
    return {"conditional_dims": network.output_channels}

  def _context_channels(self):
    """Channels of the full-resolution features the variational dequantization is conditioned on."""
    if self.conditioning_network is not None:
      return self.conditioning_network.output_channels
    return self.num_classes or 0

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
    """An s/t network of the variational dequantization's flow, conditioned on the image (and label and condition)."""
    network = ShiftAndLogScaleResNet(
        output_channels=event_shape[-1],
        filters=self.config.dequantization_filters,
        num_res_blocks=self.config.dequantization_res_blocks,
        conditional_channels=event_shape[-1] + self._context_channels(),
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
        "mnist_bundled", "mnist_bundled_super_resolution" or
        "mnist_bundled_paper" (`presets.PRESET_NAMES`).
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

  def _features(self, class_labels, condition):
    """What the couplings are conditioned on: None, a one-hot label [N, K], or the conditioning network's dict (H, W) -> features."""
    one_hot = (None if class_labels is None else
               tf.one_hot(class_labels, self.num_classes, dtype=self.dtype))
    if self.conditioning_network is None:
      return one_hot
    return self.conditioning_network(condition, one_hot)

  def _full_resolution(self, features):
    """The features at the image's resolution (the variational dequantization's context)."""
    if isinstance(features, dict):
      return features[self.image_shape[:2]]
    return features

  def _bijector_kwargs(self, features, training):
    return route_kwargs(self.flow, conditional_input=per_resolution(features),
                        training=training)

  def _validated(self, pixels, class_labels, condition=None,
                 refuse_unit_scale=True):
    """Validated (pixels, class labels, condition); the last two None where the model takes none."""
    pixels = validation.images(pixels, self.image_shape, self.dtype,
                               refuse_unit_scale)
    batch_size = tf.shape(pixels)[0]
    class_labels = validation.labels(class_labels, self.num_classes,
                                     batch_size)
    condition = validation.condition(condition, self.condition_shape,
                                     self.dtype, batch_size)
    return pixels, class_labels, condition

  def _log_prob(self, pixels, features, training=False):
    return self._distribution.log_prob(
        pixels, bijector_kwargs=self._bijector_kwargs(features, training))

  def _log_importance_weight(self, integer_pixels, noise, features,
                             training=False):
    """log p(x + u) - log q(u | x) [N] of integer pixels x, u the dequantization of base noise v."""
    dequantized, log_q = self.dequantization.dequantize(
        integer_pixels, noise, self._full_resolution(features))
    return self._log_prob(dequantized, features, training) - log_q

  # --- Public API. ---

  def log_prob(self, x, labels=None, condition=None):
    """Log-density of images in pixel space (paper eq. 3 with the logit Jacobian).

    Args:
      x: images [N, H, W, C], uint8 or float, pixel values in [0, 256)
        (dequantized values for a proper density estimate).
      labels: int [N] in [0, num_classes) for a conditional model, else None.
      condition: float (or int) [N] + condition_shape for a model with a
        condition, else None.

    Returns:
      float tensor [N], nats: log p(x | labels, condition).

    Raises:
      ValueError: wrong rank/shape/dtype, NaN, pixels out of range, labels
        or a condition missing, superfluous, of the wrong shape or dtype, or
        out of range (inside a `tf.function` or a SavedModel, value problems
        raise `tf.errors.InvalidArgumentError`).
    """
    pixels, class_labels, condition = self._validated(x, labels, condition)
    return self._log_prob(pixels, self._features(class_labels, condition))

  def bits_per_dim(self, x, labels=None, condition=None):
    """Bits per dimension [N] = -log_prob(x) / (D ln 2); arguments as `log_prob`.

    Args:
      x, labels, condition: as in `log_prob`.

    Returns:
      float tensor [N], bits/dim (the paper's reported unit).

    Raises:
      ValueError: as `log_prob`.
    """
    return nats_to_bits_per_dim(self.log_prob(x, labels, condition),
                                self.num_dims)

  def log_importance_weight(self, images, noise, labels=None,
                            condition=None):
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
      condition: float (or int) [N] + condition_shape for a model with a
        condition, else None.

    Returns:
      float tensor [N], nats.

    Raises:
      ValueError: as `log_prob`, or noise of another shape than the images,
        not float, NaN or outside [0, 1) (`InvalidArgumentError` in a
        graph).
    """
    pixels, class_labels, condition = self._validated(images, labels,
                                                      condition)
    noise = validation.noise(noise, self.image_shape, self.dtype,
                             tf.shape(pixels)[0])
    return self._log_importance_weight(tf.floor(pixels), noise,
                                       self._features(class_labels, condition))

  def discrete_log_prob(self, images, labels=None, num_samples=1, seed=None,
                        condition=None):
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
      condition: float (or int) [N] + condition_shape for a model with a
        condition, else None.

    Returns:
      float tensor [N], nats; its expectation over the draws is <= log P(x).

    Raises:
      ValueError: as `log_prob`, num_samples not an int >= 1, or a seed that
        is not an int or None.
    """
    num_samples = validation.positive_int(num_samples, "num_samples")
    seed = validation.seed(seed)
    pixels, class_labels, condition = self._validated(images, labels,
                                                      condition)
    pixels = tf.floor(pixels)
    features = self._features(class_labels, condition)
    return discrete_log_prob_from_draws(
        lambda noise: self._log_importance_weight(pixels, noise, features),
        tf.shape(pixels), self.config.dequantization, num_samples, seed)

  def encode(self, x, labels=None, condition=None):
    """Maps images to latents (the flow's inverse; paper's f).

    Args:
      x, labels, condition: as in `log_prob`.

    Returns:
      latents [N, H, W, C] in the model's dtype (layout in the class docstring);
      log_prob(x) = log N(encode(x); 0, I) + log|det d encode / dx|.

    Raises:
      ValueError: as `log_prob`.
    """
    pixels, class_labels, condition = self._validated(x, labels, condition)
    return self.flow.inverse(pixels, **self._bijector_kwargs(
        self._features(class_labels, condition), False))

  def decode(self, z, labels=None, condition=None):
    """Maps latents to images, the exact inverse of `encode` (with the same labels and condition).

    Args:
      z: latents [N, H, W, C], float.
      labels, condition: as in `log_prob`.

    Returns:
      pixels [N, H, W, C]; within (-14.3, 270.3) for alpha = 0.05 (the logit
      transform's range, 256 alpha / (1 - 2 alpha) beyond each end), in
      [0, 256) for latents of real images.

    Raises:
      ValueError: wrong rank/shape/dtype, NaN, or bad labels or condition.
    """
    latents = validation.latents(z, self.image_shape, self.dtype)
    batch_size = tf.shape(latents)[0]
    class_labels = validation.labels(labels, self.num_classes, batch_size)
    condition = validation.condition(condition, self.condition_shape,
                                     self.dtype, batch_size)
    return self.flow.forward(latents, **self._bijector_kwargs(
        self._features(class_labels, condition), False))

  def sample(self, num_samples, labels=None, temperature=1.0, seed=None,
             condition=None):
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
      condition: for a model with a condition: one per sample
        [N] + condition_shape, or one condition (condition_shape or
        [1] + condition_shape) that all N samples share; else None.

    Returns:
      float pixels [N, H, W, C], clipped into [0, 256) (the logit transform
      can reach slightly beyond; floor them for uint8 images).

    Raises:
      ValueError: num_samples not an int >= 1 (2.7, "3", True), a
        temperature that is not a number, is <= 0 or is not broadcastable to
        [N], a seed that is not an int or None, or bad labels or condition.
    """
    num_samples = validation.positive_int(num_samples, "num_samples")
    temperature = validation.temperatures(temperature, self.dtype)
    if temperature.shape.rank == 1 and temperature.shape[0] != num_samples:
      raise ValueError(f"temperature must be a scalar or have shape "
                       f"[{num_samples}]; got {temperature.shape}.")
    temperature = tf.broadcast_to(temperature, [num_samples])
    return self.sample_at_temperatures(
        temperature, labels, seed,
        validation.repeated_condition(condition, self.condition_shape,
                                      num_samples))

  def sample_at_temperatures(self, temperature, labels=None, seed=None,
                             condition=None):
    """Draws one image per temperature; graph-friendly core of `sample`.

    Args:
      temperature: validated float tensor [N] of positive temperatures.
      labels: int [N] for a conditional model, else None.
      seed: int for reproducible samples, or None.
      condition: [N] + condition_shape for a model with a condition, else
        None.

    Returns:
      float pixels [N, H, W, C] in [0, 256).

    Raises:
      ValueError: a seed that is not an int (Python or numpy) or None, or
        bad labels or condition.
    """
    seed = validation.seed(seed)
    shape = tf.concat([tf.shape(temperature), self.image_shape], axis=0)
    latents = (standard_normal_latents(shape, seed, self.dtype)
               * temperature[:, None, None, None])
    return validation.clip_pixels(self.decode(latents, labels, condition))

  def distribution(self, labels=None, condition=None):
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
      condition: [N] + condition_shape for a model with a condition (batch
        shape [N]: one condition per batch member), else None.

    Returns:
      `tfd.TransformedDistribution` with event shape [H, W, C] and float
      pixels in the model's dtype; `sample(M)` gives [M, H, W, C] (a
      conditional one [M, N, H, W, C]); `log_prob(x)` takes x of shape
      [..., H, W, C] whose batch dimensions broadcast against its batch
      shape.

    Raises:
      ValueError: labels or a condition missing for a conditional model,
        given to an unconditional one, of the wrong dtype or shape, or
        labels outside [0, num_classes).
    """
    if (labels is None and self.num_classes is None and condition is None
        and self.condition_shape is None):
      return tfd.TransformedDistribution(self._prior,
                                         Conditioned(self.flow))
    given = [tf.convert_to_tensor(value) for value in (labels, condition)
             if value is not None]
    batch_size = tf.shape(given[0])[0] if given else None
    class_labels = validation.labels(labels, self.num_classes, batch_size)
    condition = validation.condition(condition, self.condition_shape,
                                     self.dtype, batch_size)
    return tfd.TransformedDistribution(
        self._standard_normal(batch_size[None]),
        Conditioned(self.flow, self._features(class_labels, condition)))

  # --- Keras integration. ---

  def call(self, inputs, training=False):
    """Per-example bits/dim [N]: of the continuous pixels of images, (images, labels or condition) or a dict (`DATA_KEYS`); of the discrete bound for the dict `train_step` and `test_step` pass (`_dequantize`)."""
    if isinstance(inputs, dict) and _PIXELS in inputs:  # From `_dequantize`.
      features = self._features(inputs.get(_LABELS), inputs.get(_CONDITION))
      log_density = self._log_importance_weight(
          inputs[_PIXELS], inputs[_NOISE], features, training)
    else:
      pixels, class_labels, condition = self._validated(
          *self._split_inputs(inputs))
      log_density = self._log_prob(
          pixels, self._features(class_labels, condition), training=training)
    return nats_to_bits_per_dim(log_density, self.num_dims)

  def _split_inputs(self, inputs):
    """(images, labels, condition) of images, a pair or a dict; labels a model without classes ignores."""
    if isinstance(inputs, dict):
      unknown = sorted(set(inputs) - set(DATA_KEYS))
      if unknown or "images" not in inputs:
        raise ValueError(f"A dict of inputs has the keys {DATA_KEYS} "
                         f"(\"images\" required); got {sorted(inputs)}.")
      pixels = inputs["images"]
      class_labels = inputs.get(_LABELS)
      condition = inputs.get(_CONDITION)
    elif isinstance(inputs, (tuple, list)):
      if len(inputs) != 2:
        raise ValueError("inputs must be images, (images, labels), (images, "
                         "condition) or a dict with keys "
                         f"{DATA_KEYS}; got a sequence of {len(inputs)} "
                         "elements.")
      pixels, second = inputs
      if self.num_classes is not None and self.condition_shape is not None:
        raise ValueError(
            "This model takes labels and a condition: pass dicts with keys "
            f"{DATA_KEYS}, not (images, x) pairs.")
      class_labels, condition = ((None, second) if self.condition_shape
                                 is not None else (second, None))
    else:
      pixels, class_labels, condition = inputs, None, None
    if self.num_classes is None:
      class_labels = None  # Labelled data sets train unconditional models too.
    return pixels, class_labels, condition

  def _dequantize(self, data):
    """Turns a batch of integer pixels (and labels, condition) into Keras inputs: validated pixels, floored, and the base noise to dequantize them with."""
    pixels, class_labels, condition = self._validated(*self._split_inputs(
        _model_inputs(data)))
    inputs = {_PIXELS: tf.floor(pixels),
              _NOISE: self._dequantization_noise(pixels)}
    if class_labels is not None:
      inputs[_LABELS] = class_labels
    if condition is not None:
      inputs[_CONDITION] = condition
    return (inputs,)

  def _dequantization_noise(self, pixels):
    """The base noise v ~ U[0, 1) shaped like `pixels`; each replica of a strategy draws its own."""
    seed = tf.cast(self.dequantization_seed.next(), tf.int32)
    context = tf.distribute.get_replica_context()
    replica = 0 if context is None else context.replica_id_in_sync_group
    seed += tf.stack([0, tf.cast(replica, tf.int32)])
    return uniform_noise(tf.shape(pixels), seed, self.dtype)

  def predict_step(self, data):
    """Per-example bits/dim [N] of a batch of images, (images, labels or condition) or a dict (`call`)."""
    return self(_model_inputs(data), training=False)

  def train_step(self, data):
    """One optimizer step on a batch of integer pixels (and labels, condition), dequantized here."""
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
      (list), `num_classes`, `condition_shape` (list or None),
      `condition_encoder` (serialized, only when there is one), and every
      `ModelConfig` field at the top level (the layout of earlier
      versions, whose files still load).
    """
    config = super().get_config()
    config.update(image_shape=list(self.image_shape),
                  num_classes=self.num_classes,
                  condition_shape=(None if self.condition_shape is None else
                                   list(self.condition_shape)),
                  **self.config.to_dict())
    encoder = getattr(self.conditioning_network, "encoder", None)
    if encoder is not None:
      config["condition_encoder"] = keras.saving.serialize_keras_object(
          encoder)
    return config


def _model_inputs(data):
  """A data set's element without sample weights: images, (images, labels or condition), or a dict."""
  images, second, _ = keras.utils.unpack_x_y_sample_weight(data)
  return images if second is None else (images, second)


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
