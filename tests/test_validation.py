"""tfp_realnvp.validation: the same words eagerly (ValueError) and in a graph of unknown shapes (InvalidArgumentError)."""

import re

import numpy as np
import pytest
import tensorflow as tf

from tfp_realnvp import validation

IMAGE_SHAPE = (4, 4, 1)
NUM_CLASSES = 3
BATCH_SIZE = 2  # of the images that the labels go with

CHECKS = {
    "images": lambda x: validation.images(x, IMAGE_SHAPE, tf.float32),
    "latents": lambda x: validation.latents(x, IMAGE_SHAPE, tf.float32),
    "labels": lambda x: validation.labels(x, NUM_CLASSES, BATCH_SIZE),
    "temperature": lambda x: validation.temperatures(x, tf.float32,
                                                     per_image=True),
}


@pytest.mark.parametrize("check, value, message", [
    ("images", np.full((2, 4, 4), 128.0, np.float32),
     r"images must have rank 4 \[N, 4, 4, 1\]; got shape "),
    ("images", np.full((2, 4, 5, 1), 128.0, np.float32),
     r"images must have shape \[N, 4, 4, 1\] with N >= 1; got shape "),
    ("images", np.zeros((0, 4, 4, 1), np.float32),
     r"images must have shape \[N, 4, 4, 1\] with N >= 1; got shape "),
    ("images", np.full((2, 4, 4, 1), 0.5, np.float32),
     r"images are floats all in \[0, 1\].*\[0, 256\)"),
    ("latents", np.zeros((2, 16), np.float32),
     r"latents must have rank 4 \[N, 4, 4, 1\]; got shape "),
    ("labels", np.zeros((2, 1), np.int64),
     r"labels must have rank 1 \[N\]; got shape "),
    ("labels", np.zeros((3,), np.int64),
     r"labels must have shape \[N\] with N the number of images; got shape "),
    ("temperature", np.float32(1.0),
     r"temperature must have rank 1 \[N\]; got shape "),
    ("temperature", np.zeros([0], np.float32),
     r"temperature must have shape \[N\] with N >= 1; got shape "),
])
def test_eager_and_graph_name_the_problem_in_the_same_words(check, value,
                                                            message):
  with pytest.raises(ValueError, match=message):
    CHECKS[check](value)
  # As in a SavedModel signature: rank and sizes unknown while tracing.
  graph = tf.function(CHECKS[check],
                      input_signature=[tf.TensorSpec(None, value.dtype)])
  with pytest.raises(tf.errors.InvalidArgumentError, match=message):
    graph(value)


def test_graph_checks_show_the_shape_and_make_it_static():
  graph = tf.function(CHECKS["images"],
                      input_signature=[tf.TensorSpec(None, tf.float32)])
  with pytest.raises(tf.errors.InvalidArgumentError,
                     match=r"; got shape \[2 4 4\]\."):
    graph(np.full((2, 4, 4), 128.0, np.float32))
  traced = graph.get_concrete_function().structured_outputs
  assert traced.shape.as_list() == [None, *IMAGE_SHAPE]
  np.testing.assert_array_equal(graph(np.full((2,) + IMAGE_SHAPE, 128.0)),
                                np.full((2,) + IMAGE_SHAPE, 128.0))


# --- Checks of sampling arguments (issue 15). ---


@pytest.mark.parametrize("value", [1, 7, np.int64(2), np.int32(1)])
def test_positive_int_accepts_python_and_numpy_ints(value):
  checked = validation.positive_int(value, "num_samples")
  assert checked == value and type(checked) is int


@pytest.mark.parametrize("value", [0, -1, 2.7, 3.0, "3", True, None])
def test_positive_int_refuses_what_is_not_an_int_of_at_least_one(value):
  with pytest.raises(ValueError, match=re.escape(
      f"batch_size must be an int >= 1; got {value!r}.")):
    validation.positive_int(value, "batch_size")


def test_seed_is_an_int_or_none():
  assert validation.seed(None) is None
  assert validation.seed(np.int32(3)) == 3
  assert type(validation.seed(np.int32(3))) is int
  for value in (1.5, 2.0, True, "1"):
    with pytest.raises(ValueError, match=re.escape(
        f"seed must be an int (the same seed gives the same samples) or "
        f"None (fresh samples); got {value!r}.")):
      validation.seed(value)


def test_temperature_values_are_a_vector_of_finite_positive_floats():
  np.testing.assert_array_equal(validation.temperature_values(0.7), [0.7])
  values = validation.temperature_values([1, 0.5])
  assert values.dtype == np.float64
  np.testing.assert_array_equal(values, [1.0, 0.5])
  with pytest.raises(ValueError, match="one or more temperatures"):
    validation.temperature_values([])
  with pytest.raises(ValueError, match="one or more temperatures"):
    validation.temperature_values([[0.5, 1.0]])
  with pytest.raises(ValueError, match=r"temperature must be finite and > 0 "
                     r".*; got \[0.0, nan\]\."):
    validation.temperature_values([0.5, 0.0, np.nan])


NOT_NUMBERS = ["hot", [0.5, "hot"], True, [0.5, [1.0, 2.0]]]


@pytest.mark.parametrize("values", NOT_NUMBERS)
def test_both_temperature_checks_refuse_non_numbers_in_the_same_words(values):
  message = re.escape(
      f"temperature must be a float > 0 or a sequence of floats > 0 (the "
      f"latents' standard deviation); got {values!r}.")
  with pytest.raises(ValueError, match=message):
    validation.temperature_values(values)
  with pytest.raises(ValueError, match=message):
    validation.temperatures(values, tf.float32)


def test_temperatures_refuse_a_string_tensor_while_tracing():
  graph = tf.function(CHECKS["temperature"],
                      input_signature=[tf.TensorSpec([None], tf.string)])
  with pytest.raises(ValueError, match="temperature must be a float > 0"):
    graph.get_concrete_function()
