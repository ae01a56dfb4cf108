"""tfp_realnvp.rest.predict: TF Serving's row and columnar REST formats on a small SavedModel."""

import json

import numpy as np
import pytest
import tensorflow as tf

from tfp_realnvp.rest import predict
from tfp_realnvp.rest import request_body


class Toy(tf.Module):
  """Two signatures: one input and one output; two inputs and two outputs."""

  @tf.function(input_signature=[tf.TensorSpec([None], tf.float32, "x")])
  def half(self, x):
    return {"y": x / 2.0}

  @tf.function(input_signature=[tf.TensorSpec([None, 2], tf.float32, "images"),
                                tf.TensorSpec([None], tf.int64, "labels")])
  def score(self, images, labels):
    tf.debugging.assert_less(labels, tf.constant(10, tf.int64),
                             message="labels must be in [0, 10)")
    return {"total": tf.reduce_sum(images, axis=1),
            "shifted": images + tf.cast(labels, tf.float32)[:, None]}


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
  toy = Toy()
  path = str(tmp_path_factory.mktemp("toy"))
  tf.saved_model.save(toy, path, signatures={
      "serving_default": toy.half, "half": toy.half, "score": toy.score})
  return tf.saved_model.load(path)


def roundtrip(body):
  """The body as the server receives it: through JSON text."""
  return json.loads(json.dumps(body))


def test_row_format_with_named_inputs_answers_one_object_per_row(loaded):
  images = np.array([[1.0, 2.0], [3.0, 4.5]])
  body = roundtrip(request_body("score", images=images, labels=[1, 2]))
  assert body["instances"][1] == {"images": [3.0, 4.5], "labels": 2}
  response = predict(loaded, body)
  assert response == {"predictions": [
      {"total": 3.0, "shifted": [2.0, 3.0]},
      {"total": 7.5, "shifted": [5.0, 6.5]}]}
  json.dumps(response)  # Serializable as it is.


def test_single_input_and_output_use_bare_values(loaded):
  assert predict(loaded, {"instances": [1.0, 3.0]}) == {
      "predictions": [0.5, 1.5]}  # serving_default
  assert predict(loaded, roundtrip(request_body("half", x=[4.0]))) == {
      "predictions": [2.0]}
  assert predict(loaded, {"signature_name": "half", "inputs": [2.0, 5.0]}) == {
      "outputs": [1.0, 2.5]}
  assert predict(loaded, {"signature_name": "half",
                          "inputs": {"x": [2.0]}}) == {"outputs": [1.0]}


def test_columnar_format_answers_one_object_of_batches(loaded):
  response = predict(loaded, {"signature_name": "score", "inputs": {
      "images": [[1.0, 2.0], [3.0, 4.5]], "labels": [1, 2]}})
  assert response == {"outputs": {"total": [3.0, 7.5],
                                  "shifted": [[2.0, 3.0], [5.0, 6.5]]}}


@pytest.mark.parametrize("body, message", [
    ({"signature_name": "nope", "instances": [1.0]}, "'nope' not found"),
    ({"instances": [1.0], "inputs": [1.0]}, "exactly one of"),
    ({"signature_name": "half"}, "exactly one of"),
    ({"instances": []}, "non-empty list"),
    ({"signature_name": "score", "instances": [{"images": [1.0, 2.0]}]},
     r"lacks \['labels'\]"),
    ({"signature_name": "score", "inputs": {
        "images": [[1.0, 2.0]], "labels": [1], "extra": [0]}},
     r"unknown \['extra'\]"),
    ({"signature_name": "score", "inputs": [[1.0, 2.0]]}, "must be named"),
    ({"signature_name": "score", "instances": [
        {"images": [1.0, 2.0], "labels": 1}, {"images": [1.0, 2.0]}]},
     "same inputs"),
    ({"signature_name": "half", "instances": [{"x": 1.0}, 2.0]},
     "all be objects"),
    ({"signature_name": "score", "instances": [
        {"images": [1.0, 2.0], "labels": 1},
        {"images": [1.0, 2.0, 3.0], "labels": 1}]}, "'images' is not a float32"),
    ([1.0, 2.0], r"The body must be a JSON object.*; got a list\."),
    ("instances", r"The body must be a JSON object.*; got a str\."),
    ({"signature_name": 3, "instances": [1.0]},
     '"signature_name" must be a string, the name of a signature; got 3.'),
    ({"signature_name": ["half"], "instances": [1.0]},
     r'"signature_name" must be a string.*; got \[\'half\'\]'),
])
def test_malformed_bodies_are_refused_before_running(loaded, body, message):
  with pytest.raises(ValueError, match=message):
    predict(loaded, body)


def test_values_the_signature_refuses_raise_its_error(loaded):
  with pytest.raises(tf.errors.InvalidArgumentError, match=r"\[0, 10\)"):
    predict(loaded, request_body("score", images=[[1.0, 2.0]], labels=[12]))
