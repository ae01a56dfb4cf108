"""Mixed precision: the s/t networks compute in 16 bits, the flow's densities stay float32."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from test_model import perturbed_model  # 8x8x2 images, 3 classes.
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


def test_dtype_policy_is_restored_and_bad_policies_are_named():
  before = keras.config.dtype_policy().name
  with dtype_policy("mixed_bfloat16"):
    assert keras.config.dtype_policy().name == "mixed_bfloat16"
  assert keras.config.dtype_policy().name == before
  with pytest.raises(ValueError, match="mixed_precision must be one of"):
    TrainConfig(mixed_precision="float8")
