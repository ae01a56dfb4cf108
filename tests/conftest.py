"""Shared pytest fixtures."""

import keras
import pytest


@pytest.fixture
def float64_policy():
  """Builds Keras layers in float64 for tight numerical checks; restores the policy after."""
  previous = keras.config.dtype_policy().name
  keras.config.set_dtype_policy("float64")
  try:
    yield
  finally:
    keras.config.set_dtype_policy(previous)
