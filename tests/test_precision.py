"""Mixed precision: the s/t networks compute in 16 bits, the flow's densities stay float32."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfp_realnvp
from test_model import perturbed_model  # 8x8x2 images, 3 classes.
from tfp_realnvp import data
from tfp_realnvp.export import export_saved_model
from tfp_realnvp.loading import from_keras
from tfp_realnvp.training import TrainConfig
from tfp_realnvp.precision import dtype_policy


# Tolerances in bits/dim from the 16-bit formats' precision: bfloat16 keeps
# 8 significant bits (relative 2^-9), float16 11 (2^-12); measured maximum
# differences on this model: 0.0023 and 0.00017.
@pytest.mark.parametrize("policy, compute_dtype, tolerance", [
    ("mixed_bfloat16", "bfloat16", 1e-2), ("mixed_float16", "float16", 1e-3)])
def test_mixed_precision_bits_per_dim_agree_with_float32(policy,
                                                         compute_dtype,
                                                         tolerance):
  reference = perturbed_model()  # float32, every weight non-trivial.
  with dtype_policy(policy):
    model = perturbed_model()
  model.set_weights(reference.get_weights())
  rng = np.random.default_rng(1)
  pixels = rng.uniform(0, 256, (16, 8, 8, 2)).astype(np.float32)
  labels = rng.integers(0, 3, 16)

  network = model.coupling_networks[0]
  assert network.compute_dtype == compute_dtype
  log_scale, _ = network(tf.zeros((1, 8, 8, 3)),
                         conditional_input=tf.zeros((1, 3)))
  assert log_scale.dtype == compute_dtype  # The networks run in 16 bits...
  bits = model.bits_per_dim(pixels, labels)
  assert bits.dtype == tf.float32  # ...the densities in float32.
  expected = reference.bits_per_dim(pixels, labels).numpy()
  np.testing.assert_allclose(bits.numpy(), expected, atol=tolerance)
  assert not np.allclose(bits.numpy(), expected, atol=1e-7)  # Really 16-bit.

  # Pixels near 256 are not rounded up by autocasting, so training works.
  model.compile()
  if policy == "mixed_float16":
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
  batch = (np.full((16, 8, 8, 2), 255, np.uint8), labels)
  history = model.fit(tf.data.Dataset.from_tensors(batch).repeat(2),
                      epochs=1, verbose=0)
  assert np.isfinite(history.history["loss"]).all()


def test_components_beyond_the_paper_keep_float32_densities_under_bfloat16():
  """Additive couplings' t networks and q's networks run in bfloat16; the 1x1 convolutions' LU weights, actnorm's weights, the densities and the bound stay float32."""
  options = dict(coupling="additive", invertible_1x1_conv=True,
                 normalization="actnorm", dequantization="variational",
                 dequantization_coupling_layers=2, dequantization_filters=4)
  keras.utils.set_random_seed(0)  # The 1x1 convolutions' initial rotations.
  reference = perturbed_model(**options)
  with dtype_policy("mixed_bfloat16"):
    model = perturbed_model(**options)
  model.set_weights(reference.get_weights())
  assert {w.lower_upper.dtype for w in model.lu_weights} == {"float32"}
  _, shift = model.coupling_networks[0](tf.zeros((1, 8, 8, 3)),
                                        conditional_input=tf.zeros((1, 3)))
  assert shift.dtype == "bfloat16"
  pixels = np.random.default_rng(1).uniform(0, 256, (16, 8, 8, 2))
  labels = np.arange(16) % 3
  bits = model.bits_per_dim(pixels.astype(np.float32), labels)
  assert bits.dtype == tf.float32
  expected = reference.bits_per_dim(pixels.astype(np.float32), labels).numpy()
  # 1x1 convolutions with perturbed factors enlarge the latents, and with
  # them the effect of bfloat16's relative 2^-9 in the shifts: measured up
  # to 0.017 over initial rotations (the affine model above: 0.0023).
  np.testing.assert_allclose(bits.numpy(), expected, atol=2e-2)
  assert not np.allclose(bits.numpy(), expected, atol=1e-7)
  assert {w.log_scale.dtype for w in model.actnorm_weights} == {"float32"}
  assert {n.compute_dtype for n in model.dequantization_networks} == {
      "bfloat16"}
  noise = np.random.default_rng(2).uniform(0, 1, pixels.shape).astype(
      np.float32)
  bound = model.log_importance_weight(pixels, noise, labels)
  assert bound.dtype == tf.float32
  expected_bound = reference.log_importance_weight(pixels, noise,
                                                   labels).numpy()
  assert not np.allclose(bound.numpy(), expected_bound, atol=1e-5)
  np.testing.assert_allclose(bound.numpy() / (128 * np.log(2)),
                             expected_bound / (128 * np.log(2)), atol=2e-2)


def test_dtype_policy_is_restored_and_bad_policies_are_named():
  before = keras.config.dtype_policy().name
  with dtype_policy("mixed_bfloat16"):
    assert keras.config.dtype_policy().name == "mixed_bfloat16"
  assert keras.config.dtype_policy().name == before
  with pytest.raises(ValueError, match="mixed_precision must be one of"):
    TrainConfig(mixed_precision="float8")


# --- Training under a 16-bit policy: held-out figures with running averages. ---

TRAINED = dict(num_scales=2, num_coupling_layers=2, num_res_blocks=1,
               filters=8)


def trained_on_bundled_mnist(policy):
  """(model, history) after 3 epochs of 25 steps (batch 32, seed 0) under `policy`."""
  keras.utils.set_random_seed(0)
  train = data.pipeline("mnist_bundled", "train", 32, training=True).repeat()
  with dtype_policy(policy):
    model = tfp_realnvp.RealNVP((28, 28, 1), **TRAINED)
    model.compile()
  history = model.fit(train, validation_data=held_out(), epochs=3,
                      steps_per_epoch=25, validation_freq=3, verbose=0)
  return model, history.history


def held_out():
  return data.pipeline("mnist_bundled", "test", 250, training=False)


def refresh_running_averages(model, batches=20):
  """Moves batch norm's running averages to the final weights' statistics (no weight changes)."""
  train = iter(data.pipeline("mnist_bundled", "train", 32, training=True))
  for _ in range(batches):
    images, _ = next(train)
    model(tf.cast(images, tf.float32) + tf.random.uniform(images.shape),
          training=True)


def test_a_bfloat16_model_evaluates_with_its_running_averages_as_float32(
    tmp_path):
  """Before the running averages were kept in float32 (Keras autocast them to
  bfloat16 inside the model's call, where a momentum-0.9 average cannot move
  by less than ~4%), this run measured 2.995 bits/dim in training and 3.211
  held out (with 16 filters and 3 couplings: 2.433 and 8.92); float32
  measures 2.982 and 2.920."""
  results = {}
  for policy in ("float32", "mixed_bfloat16"):
    model, history = trained_on_bundled_mnist(policy)
    training_figure = history["bits_per_dim"][-1]
    # The epoch's last val_bits_per_dim uses averages that lag the weights
    # (EMAs of batches before the last optimizer steps) and the training
    # figure averages the epoch's steps; measured -0.062 (float32) and
    # -0.055 (bfloat16) here, and up to +0.09 with 16 filters.
    assert abs(history["val_bits_per_dim"][-1] - training_figure) < 0.15
    refresh_running_averages(model)
    results[policy] = model.evaluate(held_out(), verbose=0,
                                     return_dict=True)["bits_per_dim"]
  # With averages of the final weights: measured 2.806 and 2.819.
  assert abs(results["mixed_bfloat16"] - results["float32"]) < 0.05

  # Its SavedModel answers as the Keras model it was exported from, run as
  # a graph as `evaluate` and `tfp_realnvp.loading` run it (eager bfloat16
  # ops round differently from the fused graph ones: measured 0.013
  # bits/dim apart).
  images = next(iter(held_out()))[0][:8].numpy().astype(np.float32) + 0.5
  path = export_saved_model(model, str(tmp_path), "bf16")
  served = tf.saved_model.load(path).signatures["log_prob"](
      images=tf.constant(images))["bits_per_dim"]
  np.testing.assert_allclose(served.numpy(),
                             from_keras(model).bits_per_dim(images).numpy(),
                             atol=1e-4)
