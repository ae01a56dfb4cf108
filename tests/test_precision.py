"""Mixed precision: the s/t networks compute in 16 bits, the flow's densities stay float32."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfp_realnvp
from tfp_realnvp.training import TrainConfig
from tfp_realnvp.training import dtype_policy

ARCHITECTURE = dict(image_shape=(8, 8, 2), num_scales=2, num_coupling_layers=2,
                    num_res_blocks=1, filters=8, num_classes=3)


def float32_reference():
  model = tfp_realnvp.RealNVP(**ARCHITECTURE)
  rng = np.random.default_rng(0)
  for weight in model.weights:
    if "seed" in weight.path:
      continue
    values = rng.normal(scale=0.2, size=weight.shape)
    if "moving_variance" in weight.path:
      values = np.exp(values)
    weight.assign(values.astype(weight.dtype))
  return model


# Tolerances in bits/dim from the 16-bit formats' precision: bfloat16 keeps
# 8 significant bits (relative 2^-9), float16 11 (2^-12); measured maximum
# differences on this model: 0.0023 and 0.00017.
@pytest.mark.parametrize("policy, compute_dtype, tolerance", [
    ("mixed_bfloat16", "bfloat16", 1e-2), ("mixed_float16", "float16", 1e-3)])
def test_mixed_precision_bits_per_dim_agree_with_float32(policy,
                                                         compute_dtype,
                                                         tolerance):
  reference = float32_reference()
  with dtype_policy(policy):
    model = tfp_realnvp.RealNVP(**ARCHITECTURE)
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


def test_dtype_policy_is_restored_and_bad_policies_are_named():
  before = keras.config.dtype_policy().name
  with dtype_policy("mixed_bfloat16"):
    assert keras.config.dtype_policy().name == "mixed_bfloat16"
  assert keras.config.dtype_policy().name == before
  with pytest.raises(ValueError, match="mixed_precision must be one of"):
    TrainConfig(mixed_precision="float8")
