"""Shared pytest fixtures.

Two logical CPU devices are configured before TensorFlow initializes, so that
distribution-strategy tests can run MirroredStrategy on this CPU-only machine.
Everything else runs on the first device, as before.
"""

import tensorflow as tf

_CPU = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    _CPU, [tf.config.LogicalDeviceConfiguration()] * 2)

import keras  # pylint: disable=wrong-import-position
import pytest  # pylint: disable=wrong-import-position


@pytest.fixture
def float64_policy():
  """Builds Keras layers in float64 for tight numerical checks; restores the policy after."""
  previous = keras.config.dtype_policy().name
  keras.config.set_dtype_policy("float64")
  try:
    yield
  finally:
    keras.config.set_dtype_policy(previous)
