"""Conditions of any kind (issue 19): the conditioning network, model methods with condition=, the tasks, training, export."""

import json
import math
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import ops

import tfp_realnvp
from test_model import encode_log_det
from test_model import perturbed_model
from test_model import random_pixels
from tfp_realnvp import conditions
from tfp_realnvp import data
from tfp_realnvp import loading
from tfp_realnvp.cli import main
from tfp_realnvp.data import make_pipeline
from tfp_realnvp.export import export_saved_model
from tfp_realnvp.layers import ConditioningNetwork
from tfp_realnvp.rest import predict
from tfp_realnvp.rest import request_body

RGB_SHAPE = (4, 6, 3)  # Non-square RGB, two scales (2x3 at the second).
# A vector condition, an image condition at half the resolution, and an image
# condition at full resolution with a class label too.
CONDITIONS = {
    "vector": dict(condition_shape=(5,), num_classes=None),
    "image": dict(condition_shape=(2, 3, 2), num_classes=None),
    "image_and_labels": dict(condition_shape=(4, 6, 1), num_classes=3),
}


def random_condition(shape, count, seed=2):
  return np.random.default_rng(seed).normal(size=(count,) + tuple(shape))


def conditioned_model(kind, **kwargs):
  options = dict(CONDITIONS[kind], image_shape=RGB_SHAPE, condition_filters=4)
  options.update(kwargs)
  return perturbed_model(**options)


def labels_for(model, count):
  return None if model.num_classes is None else np.arange(count) % 3


@pytest.mark.parametrize("kind", CONDITIONS)
def test_log_prob_with_a_condition_keeps_the_change_of_variables(
    float64_policy, kind):
  model = conditioned_model(kind)
  pixels = random_pixels(2, shape=RGB_SHAPE)
  condition = random_condition(model.condition_shape, 2)
  labels = labels_for(model, 2)
  latents = model.encode(tf.constant(pixels), labels, condition).numpy()
  prior = -0.5 * np.sum(latents**2 + np.log(2 * np.pi), axis=(1, 2, 3))
  x = tf.constant(pixels)
  with tf.GradientTape() as tape:
    tape.watch(x)
    z = model.encode(x, labels, condition)
  jacobian = tf.reshape(tape.batch_jacobian(z, x), (2, 72, 72))
  log_det = tf.linalg.slogdet(jacobian)[1].numpy()
  assert np.abs(log_det).min() > 1.0
  np.testing.assert_allclose(model.log_prob(pixels, labels, condition),
                             prior + log_det, rtol=1e-9, atol=1e-8)
  decoded = model.decode(tf.constant(latents), labels, condition).numpy()
  np.testing.assert_allclose(decoded, pixels, rtol=0, atol=1e-9)


@pytest.mark.parametrize("kind", CONDITIONS)
def test_the_condition_changes_the_density_and_the_samples(float64_policy,
                                                           kind):
  model = conditioned_model(kind)
  pixels = random_pixels(2, shape=RGB_SHAPE)
  labels = labels_for(model, 2)
  first = random_condition(model.condition_shape, 2, seed=3)
  second = random_condition(model.condition_shape, 2, seed=4)
  assert np.all(np.abs(model.log_prob(pixels, labels, first).numpy()
                       - model.log_prob(pixels, labels, second).numpy())
                > 1e-3)
  latents = np.zeros((2,) + RGB_SHAPE)
  assert np.abs(model.decode(latents, labels, first).numpy()
                - model.decode(latents, labels, second).numpy()).max() > 1e-3


def test_the_conditioning_network_gives_each_resolution_its_pooled_condition(
    float64_policy):
  """With depth 0 the features are the condition upsampled by repetition and average-pooled: exactly its block means."""
  network = ConditioningNetwork((2, 3, 1), (8, 12, 1), num_scales=3, depth=0,
                                num_classes=2)
  network.build()
  condition = random_condition((2, 3, 1), 2)
  one_hot = np.eye(2)[[1, 0]]
  features = network(tf.constant(condition), tf.constant(one_hot))
  assert sorted(features) == [(2, 3), (4, 6), (8, 12)]
  for (height, width), values in features.items():
    factor = height // 2
    expected = np.repeat(np.repeat(condition, factor, 1), factor, 2)
    np.testing.assert_allclose(values[..., :1], expected, rtol=1e-12)
    np.testing.assert_allclose(values[..., 1:],
                               np.broadcast_to(one_hot[:, None, None],
                                               (2, height, width, 2)))
  pooled = ConditioningNetwork((8, 12, 1), (8, 12, 1), num_scales=2, depth=0)
  pooled.build()
  fine = random_condition((8, 12, 1), 1)
  coarse = pooled(tf.constant(fine))[(4, 6)].numpy()
  np.testing.assert_allclose(coarse[0, 1, 2, 0], fine[0, 2:4, 4:6].mean(),
                             rtol=1e-12)


def test_one_condition_gives_any_number_of_samples():
  model = conditioned_model("image", dtype="float32")
  condition = random_condition(model.condition_shape, 1).astype(np.float32)
  shared = model.sample(3, condition=condition[0], seed=5).numpy()
  batched = model.sample(3, condition=np.repeat(condition, 3, 0),
                         seed=5).numpy()
  np.testing.assert_allclose(shared, batched)
  assert len({float(np.abs(s - shared[0]).sum()) for s in shared}) == 3
  with pytest.raises(ValueError, match=r"condition must have shape "
                     r"\[N, 2, 3, 2\] with N the number of images; got shape"):
    model.sample(3, condition=np.repeat(condition, 2, 0))


@pytest.mark.parametrize("kind", CONDITIONS)
def test_the_distribution_with_a_condition_is_the_model(float64_policy, kind):
  model = conditioned_model(kind)
  condition = random_condition(model.condition_shape, 2)
  labels = labels_for(model, 2)
  pixels = random_pixels(2, shape=RGB_SHAPE)
  distribution = model.distribution(labels, condition)
  assert distribution.batch_shape == [2]
  np.testing.assert_allclose(distribution.log_prob(pixels),
                             model.log_prob(pixels, labels, condition),
                             rtol=1e-12)
  assert distribution.sample(4, seed=1).shape == (4, 2) + RGB_SHAPE
  # Images [4, 2, ...]: each of the 4 rows scored with each member's condition.
  images = random_pixels(8, seed=5, shape=RGB_SHAPE).reshape(
      (4, 2) + RGB_SHAPE)
  np.testing.assert_allclose(
      distribution.log_prob(images)[:, 1],
      model.log_prob(images[:, 1], None if labels is None else
                     np.repeat(labels[1:], 4), np.repeat(condition[1:], 4, 0)),
      rtol=1e-9)


def test_the_loader_keeps_a_float64_model_s_precision(float64_policy):
  model = conditioned_model("image")
  pixels = random_pixels(2, shape=RGB_SHAPE)
  condition = random_condition(model.condition_shape, 2) * (1 + 1e-12)
  np.testing.assert_allclose(
      loading.from_keras(model).log_prob(pixels, condition=condition),
      model.log_prob(pixels, condition=condition), rtol=1e-13)


BAD_CONDITIONS = {
    "missing": (None, "is conditioned on a condition of shape "
                r"\[N, 2, 3, 2\]: condition is required"),
    "wrong shape": (np.zeros((2, 3, 2, 2)), r"condition must have shape "
                    r"\[N, 2, 3, 2\] with N >= 1; got shape \(2, 3, 2, 2\)"),
    "wrong rank": (np.zeros((2, 6)), r"condition must have rank 4 "
                   r"\[N, 2, 3, 2\]; got shape \(2, 6\)"),
    "wrong count": (np.zeros((3, 2, 3, 2)), "with N the number of images"),
    "strings": (np.full((2, 2, 3, 2), "a"), "condition must have an integer "
                "or float dtype; got <dtype: 'string'>"),
    "NaN": (np.full((2, 2, 3, 2), np.nan), "condition contains NaN"),
}


@pytest.mark.parametrize("condition, message", BAD_CONDITIONS.values(),
                         ids=BAD_CONDITIONS.keys())
def test_bad_conditions_raise_a_clear_value_error(condition, message):
  model = conditioned_model("image", dtype="float32")
  pixels = random_pixels(2, shape=RGB_SHAPE)
  for method in (model.log_prob, model.encode):
    with pytest.raises(ValueError, match=message):
      method(pixels, condition=condition)


def test_a_condition_for_an_unconditional_model_is_refused():
  model = perturbed_model(num_classes=None)
  with pytest.raises(ValueError, match="takes no condition"):
    model.log_prob(random_pixels(2), condition=np.zeros((2, 3)))
  with pytest.raises(ValueError, match="condition_shape must be"):
    tfp_realnvp.RealNVP((8, 8, 1), condition_shape=(2, 2))
  with pytest.raises(ValueError, match=r"height must divide the image height "
                     r"8 \(one of \[1, 2, 4, 8\]\)"):
    tfp_realnvp.RealNVP((8, 8, 1), condition_shape=(3, 4, 1))


# --- Tasks. ---


def test_downsampled_is_the_block_mean_in_units_of_256():
  images = np.random.default_rng(0).integers(0, 256, (2, 8, 12, 3)).astype(
      np.uint8)
  task = conditions.parse("downsampled:4")
  assert task.condition_shape((8, 12, 3)) == (2, 3, 3)
  condition = task(images).numpy()
  np.testing.assert_allclose(condition[1, 1, 2],
                             images[1, 4:8, 8:12].mean(axis=(0, 1)) / 256,
                             rtol=1e-6)
  shown = task.show(condition, (8, 12, 3))
  assert shown.shape == images.shape
  np.testing.assert_allclose(shown[1, 5, 9], images[1, 4:8, 8:12].mean((0, 1)),
                             rtol=1e-5)


def test_masked_hides_its_region_and_gives_the_mask():
  images = np.full((1, 8, 8, 1), 200, np.uint8)
  task = conditions.parse("masked:center")
  condition = task(images).numpy()
  assert condition.shape == (1, 8, 8, 2)
  hidden = np.zeros((8, 8), bool)
  hidden[2:6, 2:6] = True
  np.testing.assert_array_equal(condition[0, ..., 1], hidden.astype(float))
  np.testing.assert_allclose(condition[0, ..., 0], np.where(hidden, 0,
                                                            200 / 256))
  box = conditions.parse("masked:1,2,3,4").mask((8, 8, 1))[..., 0]
  assert box.sum() == 12 and box[1:4, 2:6].all()
  assert conditions.parse("masked:bottom").mask((8, 8, 1))[4:].all()


def test_grayscale_is_the_luminance():
  rgb = np.array([[[[255, 0, 0], [0, 255, 0], [0, 0, 255]]]], np.uint8)
  condition = conditions.parse("grayscale")(rgb).numpy()[0, 0, :, 0] * 256
  np.testing.assert_allclose(condition, [0.2989 * 255, 0.587 * 255,
                                         0.114 * 255], rtol=1e-3)


@pytest.mark.parametrize("spec, shape, message", [
    ("downsampled:5", (28, 28, 1), r"downsampled:5 needs a factor that "
     r"divides the image size 28x28; factors that do: \[2, 4, 7, 14, 28\]"),
    ("downsampled:x", None, "downsampled:F needs an int factor F >= 2"),
    ("masked:middle", None, "masked:SPEC needs a region"),
    ("masked:6,6,4,4", (8, 8, 1), "must be a non-empty region inside the "
     "8x8 image"),
    ("grayscale", (8, 8, 1), "grayscale .colorization. needs RGB images; "
     "got 1 channel"),
    ("sharpened", None, "condition must be one of downsampled:F"),
])
def test_bad_tasks_are_named(spec, shape, message):
  with pytest.raises(conditions.ConditionError, match=message):
    conditions.parse(spec).condition_shape(shape)


# --- Training on the bundled MNIST. ---

TRAINING_STEPS = 300


def _trained(task):
  """(model, held-out batches) after `TRAINING_STEPS` steps with (or, task None, without) the condition."""
  keras.utils.set_random_seed(0)
  train = make_pipeline(data.load("mnist_bundled", "train"), 64,
                        training=True).repeat()
  test = make_pipeline(data.load("mnist_bundled", "test"), 250,
                       training=False)
  if task is not None:
    train = conditions.with_condition(train, task)
    test = conditions.with_condition(test, task)
  model = tfp_realnvp.RealNVP(
      (28, 28, 1), num_scales=2, num_coupling_layers=2, num_res_blocks=1,
      filters=16, condition_shape=(None if task is None else
                                   task.condition_shape((28, 28, 1))))
  model.compile()
  model.fit(train, steps_per_epoch=TRAINING_STEPS, epochs=1, verbose=0)
  return model, test


def _bits_per_dim(model, batches):
  return model.evaluate(batches, verbose=0, return_dict=True)["bits_per_dim"]


def test_super_resolution_learns_what_its_condition_says():
  task = conditions.parse("downsampled:4")
  model, test = _trained(task)
  unconditional = _bits_per_dim(*_trained(None))
  conditional = _bits_per_dim(model, test)
  images, condition = (np.concatenate([batch[key].numpy() for batch in test])
                       for key in ("images", "condition"))
  others = _bits_per_dim(model, tf.data.Dataset.from_tensor_slices(
      (images, condition[::-1])).batch(250))
  # Measured after 300 steps: 1.97 against 2.09 unconditional, and 3.27 with
  # other digits' conditions. The 49 block means hold about 0.1-0.2
  # bits/dim of the digit (their entropy over D = 784), which an
  # unconditional model must pay for; a model that ignores its condition
  # scores the same with anyone's.
  assert unconditional - conditional > 0.06
  assert others - conditional > 0.5
  samples = model.sample(len(images[::50]), condition=condition[::50], seed=0)
  error = np.abs(task(samples).numpy() - condition[::50]).mean() * 256
  shuffled = np.abs(condition[::-1] - condition).mean() * 256
  # Measured 10.5 pixel levels, against 29 between other digits' conditions.
  assert error < 15 < shuffled


# --- The train job, evaluate and the SavedModel. ---


def test_train_with_a_condition_writes_its_grids_and_serves_it(tmp_path,
                                                               capsys):
  run, export_dir = tmp_path / "run", tmp_path / "saved_models"
  assert main(["train", "--dataset", "mnist_bundled", "--condition",
               "masked:bottom", "--conditional", "--epochs", "1",
               "--steps-per-epoch", "2", "--batch-size", "16",
               "--num-scales", "2", "--num-coupling-layers", "1",
               "--num-res-blocks", "1", "--filters", "4",
               "--condition-filters", "4", "--output-dir", str(run),
               "--export-dir", str(export_dir), "--no-tensorboard",
               "--verbose", "0"]) == 0
  metrics = json.loads(capsys.readouterr().out)
  version = metrics["saved_model"]
  assert version.endswith("real_nvp_mnist_bundled_conditional_masked_bottom/1")
  columns = conditions.SAMPLES_PER_CONDITION
  rows = conditions.CONDITION_GRID_ROWS
  with tf.io.gfile.GFile(str(run / "conditions.png"), "rb") as file:
    grid = tf.io.decode_png(file.read()).numpy()
  assert grid.shape == (2 * (rows * 29 + 1), 2 * ((columns + 2) * 29 + 1), 1)
  with tf.io.gfile.GFile(str(run / "samples.png"), "rb") as file:
    assert tf.io.decode_png(file.read()).shape[1] == 2 * (columns * 29 + 1)
  info = loading.read_model_info(version)
  assert info["condition_shape"] == [28, 28, 2]
  assert info["provenance"]["condition"] == "masked:bottom"
  # evaluate takes the task from the SavedModel's provenance; a .keras file
  # needs it named.
  assert main(["evaluate", version, "--dataset", "mnist_bundled",
               "--verbose", "0"]) == 0
  assert json.loads(capsys.readouterr().out)["num_images"] == 500
  assert main(["evaluate", str(run / "model.keras"), "--dataset",
               "mnist_bundled", "--verbose", "0"]) == 2
  assert "pass the --condition it was trained with" in capsys.readouterr().err
  # Another task of the same shape is not the recorded one.
  assert main(["evaluate", version, "--dataset", "mnist_bundled",
               "--condition", "masked:top", "--verbose", "0"]) == 2
  assert ("trained with --condition masked:bottom; got --condition "
          "masked:top" in capsys.readouterr().err)
  # A sample grid needs conditions: the command says where they are.
  assert main(["sample", version, "--output", str(tmp_path / "grid.png")]) == 2
  assert "train writes their grid (conditions.png)" in capsys.readouterr().err


def test_a_task_that_does_not_fit_is_refused_before_anything_is_written(
    tmp_path, capsys):
  run = tmp_path / "run"
  assert main(["train", "--dataset", "mnist_bundled", "--condition",
               "downsampled:3", "--output-dir", str(run)]) == 2
  assert "factors that do: [2, 4, 7, 14, 28]" in capsys.readouterr().err
  assert not run.exists()


FRESH_PROCESS_SCRIPT = """
import sys
import numpy as np
import tensorflow as tf
from keras import ops
loaded = tf.saved_model.load(sys.argv[1])
inputs = dict(np.load(sys.argv[2]))
c = {"condition": tf.constant(inputs["condition"])}
results = {}
results["log_prob"] = loaded.signatures["log_prob"](images=tf.constant(inputs["images"]), **c)["log_prob"]
results["discrete_log_prob"] = loaded.signatures["discrete_log_prob"](images=tf.constant(inputs["images"]), noise=tf.constant(inputs["noise"]), **c)["discrete_log_prob"]
results["latents"] = loaded.signatures["encode"](images=tf.constant(inputs["images"]), **c)["latents"]
results["decoded"] = loaded.signatures["decode"](latents=tf.constant(inputs["latents"]), **c)["images"]
results["cold_samples"] = loaded.signatures["sample"](temperature=tf.constant(inputs["cold"]), **c)["images"]
assert "tfp_realnvp" not in sys.modules, "tfp_realnvp was imported"
np.savez(sys.argv[3], **{k: v.numpy() for k, v in results.items()})
"""


def test_every_signature_with_a_condition_equals_keras_in_a_fresh_process(
    tmp_path):
  model = conditioned_model("image", dtype="float32",
                            dequantization="variational",
                            dequantization_filters=4)
  path = export_saved_model(model, str(tmp_path), "super_resolution")
  rng = np.random.default_rng(0)
  inputs = {
      "images": random_pixels(3, shape=RGB_SHAPE).astype(np.float32),
      "condition": random_condition((2, 3, 2), 3).astype(np.float32),
      "latents": rng.normal(size=(3,) + RGB_SHAPE).astype(np.float32),
      "noise": rng.uniform(0, 1, (3,) + RGB_SHAPE).astype(np.float32),
      "cold": np.full(3, 1e-7, np.float32)}
  np.savez(tmp_path / "inputs.npz", **inputs)
  result = subprocess.run(
      [sys.executable, "-c", FRESH_PROCESS_SCRIPT, path,
       str(tmp_path / "inputs.npz"), str(tmp_path / "outputs.npz")],
      capture_output=True, text=True, timeout=300, check=False)
  assert result.returncode == 0, result.stderr[-3000:]
  served = np.load(tmp_path / "outputs.npz")
  images, condition = inputs["images"], inputs["condition"]
  np.testing.assert_allclose(served["log_prob"],
                             model.log_prob(images, condition=condition),
                             rtol=1e-6)
  np.testing.assert_allclose(
      served["discrete_log_prob"],
      model.log_importance_weight(images, inputs["noise"],
                                  condition=condition), rtol=1e-6)
  np.testing.assert_allclose(served["latents"],
                             model.encode(images, condition=condition),
                             rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(
      served["decoded"], model.decode(inputs["latents"], condition=condition),
      rtol=1e-5, atol=1e-4)
  np.testing.assert_allclose(
      served["cold_samples"],
      model.decode(np.zeros_like(inputs["latents"]), condition=condition),
      atol=1e-3)
  # Through the loader (as `evaluate` and `sample` use it) and a REST body.
  loaded = loading.load(path)
  assert loaded.condition_shape == (2, 3, 2)
  np.testing.assert_allclose(
      loaded.sample([1.0, 0.5], condition=condition[0], seed=3),
      loading.from_keras(model).sample([1.0, 0.5], condition=condition[0],
                                       seed=3), atol=1e-3)
  body = json.loads(json.dumps(request_body("log_prob", images=images,
                                            condition=condition)))
  answer = predict(tf.saved_model.load(path), body)["predictions"]
  np.testing.assert_allclose([row["log_prob"] for row in answer],
                             model.log_prob(images, condition=condition),
                             rtol=1e-6)
  with pytest.raises(tf.errors.InvalidArgumentError,
                     match=r"condition must have shape \[N, 2, 3, 2\]"):
    loaded.log_prob(images, condition=condition[:, :1])


def test_fit_reads_pairs_and_dicts_and_the_keras_file_keeps_the_condition(
    tmp_path):
  model = tfp_realnvp.RealNVP((8, 8, 1), num_classes=3, condition_shape=(4,),
                              num_scales=1, num_coupling_layers=1,
                              num_res_blocks=0, filters=4)
  model.compile()
  rng = np.random.default_rng(0)
  images = rng.integers(0, 256, (8, 8, 8, 1)).astype(np.uint8)
  examples = {"images": images, "labels": np.arange(8) % 3,
              "condition": rng.normal(size=(8, 4)).astype(np.float32)}
  model.fit(tf.data.Dataset.from_tensor_slices(examples).batch(4), epochs=1,
            verbose=0)
  with pytest.raises(ValueError, match="takes labels and a condition: pass "
                     "dicts"):
    model.fit(tf.data.Dataset.from_tensor_slices(
        (images, examples["condition"])).batch(4), epochs=1, verbose=0)
  model.save(tmp_path / "model.keras")
  reloaded = keras.models.load_model(tmp_path / "model.keras")
  assert reloaded.condition_shape == (4,)
  arguments = (images.astype(np.float32), examples["labels"],
               examples["condition"])
  np.testing.assert_allclose(reloaded.log_prob(*arguments),
                             model.log_prob(*arguments), rtol=1e-6)
  pairs_model = tfp_realnvp.RealNVP((8, 8, 1), condition_shape=(4,),
                                    num_scales=1, num_coupling_layers=1,
                                    num_res_blocks=0, filters=4)
  pairs_model.compile()
  pairs = tf.data.Dataset.from_tensor_slices(
      (images, examples["condition"])).batch(4)
  history = pairs_model.fit(pairs, epochs=1, verbose=0)
  assert math.isfinite(history.history["bits_per_dim"][0])
  # predict reads the pairs too: bits/dim of each image given its condition.
  np.testing.assert_allclose(
      pairs_model.predict(pairs, verbose=0),
      pairs_model.bits_per_dim(images, condition=examples["condition"]),
      rtol=1e-5)


def test_a_model_with_an_image_condition_reloads_from_a_keras_file(tmp_path):
  """The conditioning network's convolutions per resolution (nested lists of layers) are saved and restored."""
  model = conditioned_model("image", dtype="float32")
  model.save(tmp_path / "model.keras")
  reloaded = keras.models.load_model(tmp_path / "model.keras")
  pixels = random_pixels(2, shape=RGB_SHAPE).astype(np.float32)
  condition = random_condition((2, 3, 2), 2).astype(np.float32)
  np.testing.assert_allclose(reloaded.log_prob(pixels, condition=condition),
                             model.log_prob(pixels, condition=condition),
                             rtol=1e-6)
  assert len(reloaded.conditioning_network.weights) == 8


@keras.saving.register_keras_serializable(package="tests")
class ClassEmbedding(keras.layers.Layer):
  """A user's condition encoder: an int class [N, 1] to an embedding [N, 3]."""

  def build(self, input_shape):
    self.table = self.add_weight(shape=(4, 3), name="table")

  def call(self, condition):
    return ops.take(self.table, ops.cast(condition[:, 0], "int32"), axis=0)

  def compute_output_shape(self, input_shape):
    return (input_shape[0], 3)


def test_a_condition_encoder_of_your_own_trains_saves_and_reloads(tmp_path):
  model = tfp_realnvp.RealNVP((8, 8, 1), condition_shape=(1,),
                              condition_encoder=ClassEmbedding(),
                              num_scales=2, num_coupling_layers=1,
                              num_res_blocks=0, filters=4, condition_depth=0)
  assert model.conditioning_network.output_channels == 3
  encoder = model.conditioning_network.encoder
  assert any(weight is encoder.table for weight in model.trainable_weights)
  model.compile()
  rng = np.random.default_rng(0)
  images = rng.integers(0, 256, (8, 8, 8, 1)).astype(np.uint8)
  condition = (np.arange(8) % 4)[:, None].astype(np.float32)
  before = encoder.table.numpy().copy()
  model.fit(tf.data.Dataset.from_tensor_slices((images, condition)).batch(4),
            epochs=1, verbose=0)
  assert np.abs(encoder.table.numpy() - before).max() > 0  # It trained.
  model.save(tmp_path / "model.keras")
  reloaded = keras.models.load_model(tmp_path / "model.keras")
  pixels = images.astype(np.float32)
  np.testing.assert_allclose(reloaded.log_prob(pixels, condition=condition),
                             model.log_prob(pixels, condition=condition),
                             rtol=1e-6)
  assert isinstance(reloaded.conditioning_network.encoder, ClassEmbedding)
