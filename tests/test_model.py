"""The RealNVP model: change of variables, invertibility, sampling, input errors, saving."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfp_realnvp

SMALL_SHAPE = (8, 8, 2)
NUM_CLASSES = 3


def perturbed_model(num_classes=NUM_CLASSES, seed=0, **kwargs):
  """A small model whose every weight (s/t networks and batch-norm statistics) is non-trivial."""
  options = dict(image_shape=SMALL_SHAPE, num_scales=2, num_coupling_layers=2,
                 num_res_blocks=1, filters=8, num_classes=num_classes)
  options.update(kwargs)
  model = tfp_realnvp.RealNVP(**options)
  rng = np.random.default_rng(seed)
  for weight in model.weights:
    # The seed, and the invertible 1x1 convolutions' signs and permutations
    # (their log|s| and L, U entries are perturbed).
    if any(name in weight.path for name in ("seed", "sign", "permutation")):
      continue
    values = rng.normal(scale=0.2, size=weight.shape)
    if "moving_variance" in weight.path:
      values = np.exp(values)
    weight.assign(values.astype(weight.dtype) if hasattr(weight, "dtype")
                  else values)
  return model


def random_pixels(count, seed=1, shape=SMALL_SHAPE):
  return np.random.default_rng(seed).uniform(0, 256, (count,) + shape)


def encode_log_det(model, pixels, labels):
  """log|det d encode / dx| from the tf.GradientTape Jacobian, per example."""
  x = tf.constant(pixels)
  with tf.GradientTape() as tape:
    tape.watch(x)
    z = model.encode(x, labels)
  jacobian = tape.batch_jacobian(z, x)
  dims = math.prod(pixels.shape[1:])
  return tf.linalg.slogdet(tf.reshape(jacobian, (-1, dims, dims)))[1].numpy()


@pytest.mark.parametrize("num_classes", [None, NUM_CLASSES])
def test_log_prob_is_prior_of_latents_plus_jacobian(float64_policy,
                                                    num_classes):
  model = perturbed_model(num_classes)
  pixels = random_pixels(3)
  labels = None if num_classes is None else np.array([0, 1, 2])
  latents = model.encode(tf.constant(pixels), labels).numpy()
  prior = -0.5 * np.sum(latents**2 + np.log(2 * np.pi), axis=(1, 2, 3))
  expected = prior + encode_log_det(model, pixels, labels)
  actual = model.log_prob(tf.constant(pixels), labels).numpy()
  np.testing.assert_allclose(actual, expected, rtol=1e-9, atol=1e-8)
  # The flow is not the identity (that would make the check trivial).
  assert np.abs(encode_log_det(model, pixels, labels)).min() > 1.0


@pytest.mark.parametrize("num_classes", [None, NUM_CLASSES])
def test_decode_inverts_encode(float64_policy, num_classes):
  model = perturbed_model(num_classes)
  pixels = random_pixels(4)
  labels = None if num_classes is None else np.array([0, 1, 2, 1])
  latents = model.encode(tf.constant(pixels), labels)
  decoded = model.decode(tf.constant(latents.numpy()), labels)
  np.testing.assert_allclose(decoded.numpy(), pixels, rtol=0, atol=1e-9)
  assert np.abs(latents.numpy()).max() < 1e3


# Every combination of the flow's options (issue 17: normalization, 1x1
# convolutions, coupling law), each with the rest of the paper's model.
BEYOND_THE_PAPER = {
    f"{normalization}-{'1x1' if conv else 'no_1x1'}-{coupling}": dict(
        normalization=normalization, invertible_1x1_conv=conv,
        coupling=coupling)
    for normalization in ("batch_norm", "actnorm", "none")
    for conv in (False, True) for coupling in ("affine", "additive")}


@pytest.mark.parametrize("options", BEYOND_THE_PAPER.values(),
                         ids=BEYOND_THE_PAPER.keys())
def test_every_component_keeps_the_change_of_variables(float64_policy,
                                                       options):
  model = perturbed_model(**options)
  pixels, labels = random_pixels(2), np.array([0, 2])
  latents = model.encode(tf.constant(pixels), labels).numpy()
  prior = -0.5 * np.sum(latents**2 + np.log(2 * np.pi), axis=(1, 2, 3))
  log_det = encode_log_det(model, pixels, labels)
  np.testing.assert_allclose(model.log_prob(tf.constant(pixels), labels),
                             prior + log_det, rtol=1e-9, atol=1e-8)
  decoded = model.decode(tf.constant(latents), labels).numpy()
  np.testing.assert_allclose(decoded, pixels, rtol=0, atol=1e-9)
  couplings = len(model.coupling_networks)
  assert len(model.lu_weights) == couplings * options["invertible_1x1_conv"]
  assert all(network.shift_only == (options["coupling"] == "additive")
             for network in model.coupling_networks)
  assert len(model.batch_norm_moments) == couplings * (
      options["normalization"] == "batch_norm")
  assert len(model.actnorm_weights) == couplings * (
      options["normalization"] == "actnorm")


def test_a_non_square_rgb_model_keeps_the_change_of_variables(float64_policy):
  """Your own images need not be square (issue 18): 4x6 RGB, two scales (2x3 at the second)."""
  shape = (4, 6, 3)
  model = perturbed_model(image_shape=shape)
  pixels, labels = random_pixels(2, shape=shape), np.array([1, 2])
  latents = model.encode(tf.constant(pixels), labels).numpy()
  assert latents.shape == (2,) + shape
  prior = -0.5 * np.sum(latents**2 + np.log(2 * np.pi), axis=(1, 2, 3))
  log_det = encode_log_det(model, pixels, labels)
  assert np.abs(log_det).min() > 1.0
  np.testing.assert_allclose(model.log_prob(tf.constant(pixels), labels),
                             prior + log_det, rtol=1e-9, atol=1e-8)
  decoded = model.decode(tf.constant(latents), labels).numpy()
  np.testing.assert_allclose(decoded, pixels, rtol=0, atol=1e-9)


def test_additive_couplings_preserve_volume(float64_policy):
  """Without batch norm and 1x1 convolutions, only the logit transform changes volume."""
  model = perturbed_model(coupling="additive", normalization="none")
  pixels, labels = random_pixels(2), np.array([0, 2])
  alpha = model.config.alpha
  p = alpha + (1 - 2 * alpha) * pixels / 256.0
  logit_log_det = np.sum(np.log((1 - 2 * alpha) / 256.0) - np.log(p)
                         - np.log1p(-p), axis=(1, 2, 3))
  np.testing.assert_allclose(encode_log_det(model, pixels, labels),
                             logit_log_det, rtol=1e-9)
  latents = model.encode(tf.constant(pixels), labels).numpy()
  logits = np.log(p) - np.log1p(-p)
  assert np.abs(latents - tf.nn.depth_to_space(tf.nn.space_to_depth(
      logits, 2), 2).numpy()).max() > 0.1  # The couplings moved the logits.


def test_labels_change_the_density(float64_policy):
  model = perturbed_model()
  pixels = random_pixels(2)
  first = model.log_prob(pixels, np.array([0, 0])).numpy()
  second = model.log_prob(pixels, np.array([2, 2])).numpy()
  assert np.all(np.abs(first - second) > 1e-3)


def test_bits_per_dim_is_scaled_negative_log_prob():
  model = perturbed_model()
  pixels, labels = random_pixels(2).astype(np.float32), np.array([0, 1])
  log_prob = model.log_prob(pixels, labels).numpy()
  bits = model.bits_per_dim(pixels, labels).numpy()
  np.testing.assert_allclose(
      bits, -log_prob / (math.prod(SMALL_SHAPE) * math.log(2)), rtol=1e-6)


def test_new_weights_are_never_served_from_the_bijector_cache():
  model = perturbed_model()
  pixels, labels = tf.constant(random_pixels(2).astype(np.float32)), [0, 1]
  before = model.encode(pixels, labels).numpy()
  for network in model.coupling_networks:
    network.scale.assign(network.scale * 2.0)
  after = model.encode(pixels, labels).numpy()
  assert np.abs(after - before).max() > 1e-3


def test_fresh_model_is_the_logit_transform_then_batch_norm_identity():
  model = tfp_realnvp.RealNVP(SMALL_SHAPE, num_scales=2, num_coupling_layers=1,
                              num_res_blocks=1, filters=4, normalization="none")
  pixels = random_pixels(2).astype(np.float32)
  alpha = 0.05
  p = alpha + (1 - 2 * alpha) * pixels / 256.0
  logits = np.log(p) - np.log1p(-p)
  log_det = np.sum(np.log((1 - 2 * alpha) / 256.0) - np.log(p)
                   - np.log1p(-p), axis=(1, 2, 3))
  squeezed = tf.nn.space_to_depth(logits, 2).numpy()
  # Untrained couplings are identities; only the squeeze layout remains.
  latents = tf.nn.depth_to_space(squeezed, 2).numpy()
  prior = -0.5 * np.sum(latents**2 + np.log(2 * np.pi), axis=(1, 2, 3))
  np.testing.assert_allclose(model.log_prob(pixels).numpy(), prior + log_det,
                             rtol=1e-5)


def test_samples_have_image_shape_and_pixel_range():
  model = perturbed_model()
  labels = np.array([0, 1, 2, 2, 1])
  samples = model.sample(5, labels=labels, temperature=0.7, seed=3).numpy()
  assert samples.shape == (5,) + SMALL_SHAPE
  assert samples.min() >= 0.0 and samples.max() < 256.0
  again = model.sample(5, labels=labels, temperature=0.7, seed=3).numpy()
  np.testing.assert_array_equal(samples, again)
  hotter = model.sample(5, labels=labels, temperature=1.5, seed=3).numpy()
  assert np.abs(hotter - samples).max() > 1.0
  per_row = model.sample(5, labels=labels, temperature=[0.7] * 4 + [1.5],
                         seed=3).numpy()
  np.testing.assert_allclose(per_row[:4], samples[:4], rtol=1e-6)
  np.testing.assert_allclose(per_row[4], hotter[4], rtol=1e-6)


def test_extreme_pixels_have_finite_log_prob():
  model = perturbed_model()
  pixels = np.zeros((2,) + SMALL_SHAPE, np.float32)
  pixels[1] = 255.999
  log_prob = model.log_prob(pixels, np.array([0, 2])).numpy()
  assert np.all(np.isfinite(log_prob))
  uint8_pixels = np.full((1,) + SMALL_SHAPE, 255, np.uint8)
  assert np.isfinite(model.log_prob(uint8_pixels, np.array([1])).numpy()).all()
  int8_pixels = np.full((1,) + SMALL_SHAPE, 127, np.int8)
  assert np.isfinite(model.log_prob(int8_pixels, np.array([1])).numpy()).all()


@pytest.mark.parametrize("pixels, labels, message", [
    (np.zeros((8, 8, 2), np.float32), [0], "rank 4"),
    (np.zeros((1, 8, 8, 3), np.float32), [0], r"shape \[N, 8, 8, 2\]"),
    (np.zeros((1, 8, 8, 2), bool), [0], "integer .* or float dtype"),
    (np.full((1, 8, 8, 2), np.nan, np.float32), [0], "NaN"),
    (np.full((1, 8, 8, 2), 256.0, np.float32), [0], r"outside \[0, 256\)"),
    (np.full((1, 8, 8, 2), -0.5, np.float32), [0], r"outside \[0, 256\)"),
    # Compared in the pixels' own dtype: signed, wide and 16-bit types too.
    (np.full((1, 8, 8, 2), -1, np.int8), [0], r"outside \[0, 256\)"),
    (np.full((1, 8, 8, 2), 256, np.int32), [0], r"outside \[0, 256\)"),
    (np.full((1, 8, 8, 2), 256, np.float16), [0], r"outside \[0, 256\)"),
    (np.full((1, 8, 8, 2), 128.0, np.float32), [3], r"\[0, 3\)"),
    (np.full((1, 8, 8, 2), 128.0, np.float32), [-1], r"\[0, 3\)"),
    (np.full((1, 8, 8, 2), 128.0, np.float32), None, "labels are required"),
    (np.full((1, 8, 8, 2), 128.0, np.float32), [0.5], "integer dtype"),
    (np.full((2, 8, 8, 2), 128.0, np.float32), [0], "N the number of images"),
    (np.full((1, 8, 8, 2), 128.0, np.float32), np.array([2**32 + 1]),
     r"\[0, 3\)"),
    (np.full((1, 8, 8, 2), 128.0, np.float32), [[0]],
     r"labels must have rank 1 \[N\]; got shape \(1, 1\)"),
    # The convolutions cannot run on an empty batch: it is named at once.
    (np.zeros((0, 8, 8, 2), np.float32), np.zeros([0], np.int64),
     r"images must have shape \[N, 8, 8, 2\] with N >= 1; got shape "
     r"\(0, 8, 8, 2\)"),
])
def test_bad_input_raises_a_clear_value_error(pixels, labels, message):
  model = perturbed_model()
  with pytest.raises(ValueError, match=message):
    model.log_prob(pixels, None if labels is None else np.array(labels))


UNIT_SCALE_ERROR = (r"images are floats all in \[0, 1\].*expected pixel values "
                    r"in \[0, 256\): multiply them by 255 \(e\.g\. "
                    r"`images \* 255`\) or pass uint8.*black dequantized")


def test_images_scaled_to_unit_range_are_refused_integer_black_ones_not():
  model = perturbed_model()
  pixels, labels = random_pixels(2).astype(np.float32), np.array([0, 1])
  for method in (model.log_prob, model.bits_per_dim, model.encode, model):
    inputs = (np.floor(pixels) / 255.0, labels)  # uint8 images / 255
    with pytest.raises(ValueError, match=UNIT_SCALE_ERROR):
      method(inputs) if method is model else method(*inputs)
  black = np.zeros((2,) + SMALL_SHAPE, np.uint8)
  assert np.isfinite(model.log_prob(black, labels).numpy()).all()
  # Black dequantized images score together with other images.
  pixels[0] = 0.5
  assert np.isfinite(model.log_prob(pixels, labels).numpy()).all()


def test_fit_and_evaluate_refuse_images_scaled_to_unit_range():
  model = tfp_realnvp.RealNVP(SMALL_SHAPE, num_scales=1, num_coupling_layers=1,
                              num_res_blocks=1, filters=4)
  model.compile()
  scaled = (np.floor(random_pixels(4)) / 255.0).astype(np.float32)
  with pytest.raises(tf.errors.InvalidArgumentError, match=UNIT_SCALE_ERROR):
    model.fit(scaled, batch_size=4, epochs=1, verbose=0)
  with pytest.raises(tf.errors.InvalidArgumentError, match=UNIT_SCALE_ERROR):
    model.evaluate(scaled, batch_size=4, verbose=0)
  # Batches of only black images (uint8, or float 0.0) train and evaluate:
  # after dequantization they lie in [0, 1) too.
  for black in (np.zeros((4,) + SMALL_SHAPE, np.uint8),
                np.zeros((4,) + SMALL_SHAPE, np.float32)):
    history = model.fit(black, batch_size=4, epochs=1, verbose=0)
    assert np.isfinite(history.history["bits_per_dim"]).all()
    assert np.isfinite(model.evaluate(black, batch_size=4, verbose=0,
                                      return_dict=True)["bits_per_dim"])
  assert np.isfinite(model.log_prob(np.zeros((1,) + SMALL_SHAPE,
                                             np.float32)).numpy()).all()


def test_unconditional_model_rejects_labels_and_bad_latents():
  model = perturbed_model(num_classes=None)
  with pytest.raises(ValueError, match="unconditional"):
    model.log_prob(np.full((1,) + SMALL_SHAPE, 128.0, np.float32),
                   np.array([0]))
  with pytest.raises(ValueError, match="NaN"):
    model.decode(np.full((1,) + SMALL_SHAPE, np.nan, np.float32))
  with pytest.raises(ValueError, match="temperature"):
    model.sample(2, temperature=0.0)
  with pytest.raises(ValueError, match=r"temperature must be a scalar or have shape \[2\]"):
    model.sample(2, temperature=[0.5, 0.7, 0.9])


def test_compile_rejects_a_loss_of_its_own():
  with pytest.raises(ValueError, match="own loss"):
    perturbed_model().compile(loss="mse")


@pytest.mark.parametrize("kwargs, message", [
    (dict(image_shape=(7, 8, 1), num_scales=2), "num_scales must be in"),
    (dict(image_shape=(8, 8), num_scales=1), r"\(H, W, C\)"),
    (dict(image_shape=(8, 8, 1), num_classes=1), "num_classes"),
])
def test_invalid_configuration_raises(kwargs, message):
  with pytest.raises(ValueError, match=message):
    tfp_realnvp.RealNVP(**kwargs)


def test_keras_file_round_trip_keeps_log_prob(tmp_path):
  model = perturbed_model()
  model.compile()
  path = str(tmp_path / "model.keras")
  model.save(path)
  restored = keras.models.load_model(path)
  assert restored.get_config() == model.get_config()
  pixels, labels = random_pixels(2).astype(np.float32), np.array([1, 2])
  np.testing.assert_array_equal(restored.log_prob(pixels, labels).numpy(),
                                model.log_prob(pixels, labels).numpy())


def test_from_config_rebuilds_the_architecture():
  model = perturbed_model()
  clone = tfp_realnvp.RealNVP.from_config(model.get_config())
  assert clone.count_params() == model.count_params()
  assert [w.shape for w in clone.weights] == [w.shape for w in model.weights]


def test_fit_logs_bits_per_dim_and_updates_batch_norm_statistics():
  model = tfp_realnvp.RealNVP(SMALL_SHAPE, num_scales=2, num_coupling_layers=1,
                              num_res_blocks=1, filters=4,
                              num_classes=NUM_CLASSES)
  # A zero learning rate keeps the couplings at the identity, so the first
  # batch normalization sees the logits of the dequantized pixels.
  model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0))
  rng = np.random.default_rng(0)
  images = rng.integers(0, 256, (32,) + SMALL_SHAPE).astype(np.uint8)
  labels = rng.integers(0, NUM_CLASSES, 32)
  dataset = tf.data.Dataset.from_tensor_slices((images, labels)).batch(16)
  history = model.fit(dataset, validation_data=dataset, epochs=2, verbose=0)
  for key in ("loss", "bits_per_dim", "val_loss", "val_bits_per_dim"):
    assert len(history.history[key]) == 2
    assert np.isfinite(history.history[key]).all()
  np.testing.assert_allclose(history.history["loss"],
                             history.history["bits_per_dim"], rtol=1e-6)
  alpha = 0.05
  p = alpha + (1 - 2 * alpha) * (images + 0.5) / 256.0
  logit_variance = np.var(np.log(p) - np.log1p(-p), axis=(0, 1, 2))
  # Four training steps (validation must not update): m = 1 + (1 - 0.9^4)(v - 1).
  expected = 1.0 + (1.0 - 0.9**4) * (logit_variance - 1.0)
  np.testing.assert_allclose(
      model.batch_norm_moments[0].moving_variance.numpy(), expected,
      atol=0.03)
  assert np.all(np.abs(expected - 1.0) > 0.2)


def test_dequantized_evaluation_matches_log_prob_of_noisy_pixels():
  model = perturbed_model(num_classes=None)
  images = np.random.default_rng(0).integers(0, 256, (64,) + SMALL_SHAPE)
  model.compile()
  evaluated = model.evaluate(images.astype(np.uint8), batch_size=64,
                             verbose=0, return_dict=True)["bits_per_dim"]
  # Bits/dim of the bin corners and of bin corners + 1 bracket the dequantized figure.
  corners = model.bits_per_dim(images.astype(np.float32)).numpy().mean()
  upper = model.bits_per_dim(images.astype(np.float32) + 0.999).numpy().mean()
  assert min(corners, upper) - 0.05 < evaluated < max(corners, upper) + 0.05


def test_log_prob_runs_each_coupling_network_once(monkeypatch):
  calls = []
  original = tfp_realnvp.layers.ShiftAndLogScaleResNet.call

  def counting_call(self, *args, **kwargs):
    calls.append(self.name)
    return original(self, *args, **kwargs)

  monkeypatch.setattr(tfp_realnvp.layers.ShiftAndLogScaleResNet, "call",
                      counting_call)
  model = perturbed_model(num_scales=2)
  model.log_prob(random_pixels(2).astype(np.float32), np.array([0, 1]))
  # Transform and log-determinant share one network pass per coupling.
  assert sorted(calls) == sorted(n.name for n in model.coupling_networks)


def _count_traces(model, method_name):
  """Wraps model.<method_name> so that every Python execution (= every tf.function trace) is counted."""
  traces = []
  original = getattr(model, method_name)

  def counting(*args, **kwargs):
    traces.append(1)
    return original(*args, **kwargs)

  setattr(model, method_name, counting)
  return traces


class _TraceCounter(keras.callbacks.Callback):
  """Records the trace counts at the end of every epoch."""

  def __init__(self, train_traces, test_traces):
    super().__init__()
    self.train_traces, self.test_traces = train_traces, test_traces
    self.per_epoch = []

  def on_epoch_end(self, epoch, logs=None):
    self.per_epoch.append((len(self.train_traces), len(self.test_traces)))


def test_fit_traces_each_step_function_once_not_per_batch():
  model = tfp_realnvp.RealNVP(SMALL_SHAPE, num_scales=1, num_coupling_layers=1,
                              num_res_blocks=1, filters=4)
  model.compile()
  train_traces = _count_traces(model, "train_step")
  test_traces = _count_traces(model, "test_step")
  images = np.random.default_rng(0).integers(
      0, 256, (40,) + SMALL_SHAPE).astype(np.uint8)
  dataset = tf.data.Dataset.from_tensor_slices(images)
  # Training batches as data.pipeline makes them (drop_remainder); the
  # held-out batches end with a ragged one (16, 16, 8).
  counter = _TraceCounter(train_traces, test_traces)
  model.fit(dataset.batch(16, drop_remainder=True),
            validation_data=dataset.batch(16), epochs=3, verbose=0,
            callbacks=[counter])
  # The ragged batch may cost one relaxed retrace (Keras traces with
  # reduce_retracing); later epochs and batches reuse the graphs.
  assert counter.per_epoch[0][0] == 1
  assert counter.per_epoch[0][1] <= 2
  assert counter.per_epoch[1:] == [counter.per_epoch[0]] * 2


# --- The model as a TFP distribution. ---


@pytest.mark.parametrize("num_classes", [None, NUM_CLASSES])
def test_distribution_log_prob_and_sample_are_the_models(num_classes):
  model = perturbed_model(num_classes=num_classes)
  labels = None if num_classes is None else np.array([0, 2, 1, 2])
  distribution = model.distribution(labels)
  assert isinstance(distribution, tfp_realnvp.model.tfd.Distribution)
  assert distribution.event_shape == SMALL_SHAPE
  pixels = random_pixels(4).astype(np.float32)
  np.testing.assert_allclose(distribution.log_prob(pixels).numpy(),
                             model.log_prob(pixels, labels).numpy(),
                             rtol=1e-6)
  # Its bijector is the model's decode (forward) and encode (inverse) ...
  latents = np.random.default_rng(3).normal(size=(4,) + SMALL_SHAPE)
  np.testing.assert_allclose(
      distribution.bijector.forward(latents.astype(np.float32)).numpy(),
      model.decode(latents.astype(np.float32), labels).numpy(), rtol=1e-5,
      atol=1e-3)
  np.testing.assert_allclose(distribution.bijector.inverse(pixels).numpy(),
                             model.encode(pixels, labels).numpy(), rtol=1e-5,
                             atol=1e-5)
  # ... and its samples are decoded prior draws: their latents are N(0, I).
  samples = distribution.sample(() if labels is not None else 4, seed=7)
  assert samples.shape == (4,) + SMALL_SHAPE
  sampled_latents = distribution.bijector.inverse(samples).numpy()  # 512 values
  assert abs(sampled_latents.mean()) < 0.15
  assert 0.85 < sampled_latents.std() < 1.15


def test_conditional_distribution_has_one_class_per_batch_member():
  model = perturbed_model()
  labels = np.array([0, 1, 2])
  distribution = model.distribution(labels)
  assert distribution.batch_shape == (3,)
  samples = distribution.sample(2, seed=3)  # [2, 3, H, W, C]
  assert samples.shape == (2, 3) + SMALL_SHAPE
  assert np.isfinite(samples.numpy()).all()
  pixels = random_pixels(6).astype(np.float32).reshape((2, 3) + SMALL_SHAPE)
  log_prob = distribution.log_prob(pixels).numpy()
  assert log_prob.shape == (2, 3)
  for draw in range(2):  # Row `draw` of every class, scored by the model.
    np.testing.assert_allclose(
        log_prob[draw], model.log_prob(pixels[draw], labels).numpy(),
        rtol=1e-5)
  # The label matters: the same images under other classes score otherwise.
  other = model.distribution(np.array([2, 0, 1])).log_prob(pixels[0])
  assert not np.allclose(other.numpy(), log_prob[0])


def test_distribution_rejects_wrong_labels():
  with pytest.raises(ValueError, match="labels are required"):
    perturbed_model().distribution()
  with pytest.raises(ValueError, match="labels must be None"):
    perturbed_model(num_classes=None).distribution([0, 1])
  with pytest.raises(ValueError, match="integer dtype"):
    perturbed_model().distribution(np.array([0.5]))


def test_distribution_works_in_tfp_mixtures():
  model = perturbed_model(num_classes=None)
  tfd = tfp_realnvp.model.tfd
  pixels = random_pixels(3).astype(np.float32)
  mixture = tfd.Mixture(tfd.Categorical(probs=[0.5, 0.5]),
                        [model.distribution(), model.distribution()])
  np.testing.assert_allclose(mixture.log_prob(pixels).numpy(),
                             model.log_prob(pixels).numpy(), rtol=1e-5)


# --- L2 on the scale parameters (paper sec. 4.1). ---


def scale_parameters(model):
  """The weight-normalization gains and the tanh scales of every s/t network."""
  return [w for w in model.trainable_weights
          if w.path.endswith(("/gain", "/scale"))]


def test_l2_penalty_is_the_official_nats_coefficient_in_bits_per_dim():
  coefficient = 0.3
  model = tfp_realnvp.RealNVP((8, 8, 1), num_scales=2, num_coupling_layers=1,
                              num_res_blocks=1, filters=4,
                              l2_regularization=coefficient)
  rng = np.random.default_rng(0)
  parameters = scale_parameters(model)
  # Per coupling: input conv + 2 block convs (gains) and the tanh scale.
  assert len(parameters) == 4 * len(model.coupling_networks)
  for weight in parameters:
    weight.assign(rng.normal(size=weight.shape).astype("float32"))
  squares = sum(float(np.sum(np.square(w.numpy()))) for w in parameters)
  expected = coefficient * squares / (64 * math.log(2.0))
  assert float(tf.add_n(model.losses)) == pytest.approx(expected, rel=1e-5)

  per_example = tf.constant([2.0, 3.0])
  assert float(model.compute_loss(y_pred=per_example)) == pytest.approx(
      2.5 + expected, rel=1e-5)
  # Only the scale parameters are penalized: their gradient is 2 c' g.
  with tf.GradientTape() as tape:
    loss = model.compute_loss(y_pred=per_example)
  gradients = tape.gradient(loss, parameters)
  for weight, gradient in zip(parameters, gradients):
    np.testing.assert_allclose(
        gradient, 2 * coefficient / (64 * math.log(2.0)) * weight.numpy(),
        rtol=1e-5)
  assert tfp_realnvp.RealNVP.from_config(
      model.get_config()).config.l2_regularization == coefficient


def test_without_l2_there_is_no_penalty():
  model = tfp_realnvp.RealNVP((8, 8, 1), num_scales=2, num_coupling_layers=1,
                              num_res_blocks=1, filters=4)
  assert not model.losses
  with pytest.raises(ValueError,
                     match=r"l2_regularization must be in \[0, inf\); got -1.0"):
    tfp_realnvp.RealNVP((8, 8, 1), l2_regularization=-1.0)


def tiny_images(count, seed, shape=(4, 6, 3)):
  return np.random.default_rng(seed).integers(0, 256, (count,) + shape).astype(
      np.uint8)


def test_every_combination_of_options_trains_and_reloads(tmp_path):
  """dequantization x normalization x 1x1 convolutions x coupling: one training step each (eagerly, to keep it quick), then a .keras round trip."""
  images, labels = tiny_images(4, 0), np.array([0, 1, 2, 0])
  for index, options in enumerate(
      dict(dequantization=dequantization, **flow_options)
      for dequantization in ("uniform", "variational")
      for flow_options in BEYOND_THE_PAPER.values()):
    model = tfp_realnvp.RealNVP(
        (4, 6, 3), num_classes=NUM_CLASSES, num_scales=1,
        num_coupling_layers=1, num_res_blocks=1, filters=4,
        dequantization_coupling_layers=1, dequantization_filters=4,
        **options)
    model.compile(optimizer=keras.optimizers.Adam(1e-2), run_eagerly=True)
    logs = model.train_on_batch(images, labels, return_dict=True)
    assert np.isfinite(logs["bits_per_dim"]), options
    # The first step moves every network's zero-initialized last layer.
    for network in model.coupling_networks + model.dequantization_networks:
      assert np.abs(network.output_conv.kernel.numpy()).max() > 0, options
    assert all(w.initialized.numpy() == 1 for w in model.actnorm_weights)
    path = str(tmp_path / f"{index}.keras")
    model.save(path)
    restored = keras.models.load_model(path)
    assert restored.config == model.config
    np.testing.assert_array_equal(
        restored.discrete_log_prob(images, labels, seed=1).numpy(),
        model.discrete_log_prob(images, labels, seed=1).numpy())


@pytest.mark.parametrize("reload", ["keras_file", "checkpoint"])
def test_actnorm_is_initialized_by_the_first_batch_and_never_again(tmp_path,
                                                                 reload):
  model = tfp_realnvp.RealNVP((4, 6, 3), num_scales=2, num_coupling_layers=1,
                              num_res_blocks=1, filters=4,
                              normalization="actnorm")
  assert len(model.actnorm_weights) == 4
  assert all(w.initialized.numpy() == 0 for w in model.actnorm_weights)
  # A zero learning rate: only the initialization changes weights.
  model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0))
  model.fit(tiny_images(8, 1), batch_size=8, epochs=1, verbose=0)
  initialized = [w.numpy().copy() for w in model.weights]
  first = model.actnorm_weights[0]
  assert first.initialized.numpy() == 1.0
  assert np.abs(first.log_scale.numpy()).min() > 0.1  # Logits' std != 1.
  if reload == "keras_file":
    model.save(tmp_path / "model.keras")
    model = keras.models.load_model(tmp_path / "model.keras")
  else:
    model.save_weights(tmp_path / "best.weights.h5")
    model = tfp_realnvp.RealNVP.from_config(model.get_config())
    model.load_weights(tmp_path / "best.weights.h5")
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0))
  # Another batch, of other statistics, changes nothing.
  model.fit(tiny_images(8, 2) // 2, batch_size=8, epochs=1, verbose=0)
  for before, after in zip(initialized, model.weights):
    np.testing.assert_array_equal(after.numpy(), before, err_msg=after.path)
