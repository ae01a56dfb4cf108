"""SavedModel export: signatures, fresh-process loading, REST bodies, warm-up, bad requests."""

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from tensorflow_serving.apis import prediction_log_pb2

import tfp_realnvp
from tfp_realnvp import cli
from tfp_realnvp import export
from tfp_realnvp.export import STAGING_PREFIX
from tfp_realnvp.export import WARMUP_FILE
from tfp_realnvp.export import export_saved_model
from tfp_realnvp.export import next_version
from tfp_realnvp.rest import request_body

import serving_emulation

IMAGE_SHAPE = (8, 8, 1)
NUM_CLASSES = 10  # as MNIST, so that the README's examples apply
SIGNATURES = ("log_prob", "discrete_log_prob", "sample", "encode", "decode")
README = Path(__file__).resolve().parent.parent / "README.md"

FRESH_PROCESS_SCRIPT = """
import sys
import numpy as np
import tensorflow as tf
loaded = tf.saved_model.load(sys.argv[1])
inputs = dict(np.load(sys.argv[2]))
labels = tf.constant(inputs["labels"])
results = {}
out = loaded.signatures["log_prob"](images=tf.constant(inputs["images"]), labels=labels)
results["log_prob"], results["bits_per_dim"] = out["log_prob"], out["bits_per_dim"]
default = loaded.signatures["serving_default"](images=tf.constant(inputs["images"]), labels=labels)
results["default_log_prob"] = default["log_prob"]
results["latents"] = loaded.signatures["encode"](images=tf.constant(inputs["images"]), labels=labels)["latents"]
results["decoded"] = loaded.signatures["decode"](latents=tf.constant(inputs["latents"]), labels=labels)["images"]
results["cold_samples"] = loaded.signatures["sample"](temperature=tf.constant(inputs["cold"]), labels=labels)["images"]
out = loaded.signatures["discrete_log_prob"](images=tf.constant(inputs["images"]), noise=tf.constant(inputs["noise"]), labels=labels)
results["discrete_log_prob"], results["discrete_bits_per_dim"] = out["discrete_log_prob"], out["bits_per_dim"]
assert "tensorflow_probability" not in sys.modules, "TFP was imported"
assert "tfp_realnvp" not in sys.modules, "tfp_realnvp was imported"
np.savez(sys.argv[3], **{k: v.numpy() for k, v in results.items()})
"""


def perturb(model, seed=0):
  """Gives every weight of `model` (s/t networks, batch-norm statistics) a value drawn from `seed`."""
  rng = np.random.default_rng(seed)
  for weight in model.weights:
    if "seed" not in weight.path:
      weight.assign(rng.normal(scale=0.1, size=weight.shape))
  for moments in model.batch_norm_moments:
    moments.moving_variance.assign(np.full(moments.moving_variance.shape, 1.5))
  return model


def perturbed_model():
  """A conditional model whose dequantization is variational (a non-uniform q after `perturb`)."""
  return perturb(tfp_realnvp.RealNVP(
      IMAGE_SHAPE, num_scales=2, num_coupling_layers=1, num_res_blocks=1,
      filters=4, num_classes=NUM_CLASSES, dequantization="variational",
      dequantization_coupling_layers=2, dequantization_filters=4))


def tiny_model(seed):
  """An unconditional model of one scale: three times quicker to export than `perturbed_model`."""
  return perturb(tfp_realnvp.RealNVP(
      IMAGE_SHAPE, num_scales=1, num_coupling_layers=1, num_res_blocks=1,
      filters=4), seed)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
  """(model, loaded SavedModel, version path) for a small conditional model."""
  model = perturbed_model()
  base = tmp_path_factory.mktemp("serving")
  path = export_saved_model(model, str(base), "digits")
  return model, tf.saved_model.load(path), Path(path)


def request_inputs(count=3, seed=0):
  rng = np.random.default_rng(seed)
  return {"images": rng.uniform(0, 256, (count,) + IMAGE_SHAPE).astype(np.float32),
          "labels": rng.integers(0, NUM_CLASSES, count).astype(np.int64)}


def test_export_writes_the_tf_serving_layout(exported):
  _, _, path = exported
  assert path.name == "1" and path.parent.name == "digits"
  assert (path / "saved_model.pb").exists()
  assert (path / "variables").is_dir()
  assert (path / "assets.extra" / WARMUP_FILE).exists()


def test_every_signature_matches_keras_in_a_process_without_tfp(exported,
                                                                tmp_path):
  model, _, path = exported
  inputs = request_inputs()
  latents = model.encode(inputs["images"], inputs["labels"]).numpy()
  inputs["latents"] = np.random.default_rng(1).normal(
      size=latents.shape).astype(np.float32)
  inputs["cold"] = np.full(3, 1e-7, np.float32)
  inputs["noise"] = np.random.default_rng(2).uniform(
      0, 1, latents.shape).astype(np.float32)
  np.savez(tmp_path / "inputs.npz", **inputs)
  result = subprocess.run(
      [sys.executable, "-c", FRESH_PROCESS_SCRIPT, str(path),
       str(tmp_path / "inputs.npz"), str(tmp_path / "outputs.npz")],
      capture_output=True, text=True, timeout=300, check=False)
  assert result.returncode == 0, result.stderr[-3000:]
  served = np.load(tmp_path / "outputs.npz")
  images, labels = inputs["images"], inputs["labels"]
  log_prob = model.log_prob(images, labels).numpy()
  np.testing.assert_allclose(served["log_prob"], log_prob, rtol=1e-6)
  np.testing.assert_allclose(served["default_log_prob"], log_prob, rtol=1e-6)
  np.testing.assert_allclose(served["bits_per_dim"],
                             model.bits_per_dim(images, labels).numpy(),
                             rtol=1e-6)
  np.testing.assert_allclose(served["latents"], latents, rtol=1e-5,
                             atol=1e-5)
  np.testing.assert_allclose(
      served["decoded"], model.decode(inputs["latents"], labels).numpy(),
      rtol=1e-5, atol=1e-4)
  bound = model.log_importance_weight(images, inputs["noise"], labels).numpy()
  np.testing.assert_allclose(served["discrete_log_prob"], bound, rtol=1e-6)
  np.testing.assert_allclose(served["discrete_bits_per_dim"],
                             -bound / (math.prod(IMAGE_SHAPE) * math.log(2)),
                             rtol=1e-6)
  # The noise matters (q is not uniform, and it is a density on [0, 1)).
  assert np.abs(bound - model.log_prob(np.floor(images) + inputs["noise"],
                                       labels).numpy()).min() > 1e-3
  # At temperature ~0 a sample is the decoded zero latent, a fixed image.
  zero = np.zeros_like(inputs["latents"])
  np.testing.assert_allclose(served["cold_samples"],
                             model.decode(zero, labels).numpy(), atol=1e-3)


def test_samples_follow_the_keras_model_distribution(exported):
  model, loaded, _ = exported
  count = 256
  labels = np.arange(count) % NUM_CLASSES
  served = loaded.signatures["sample"](
      temperature=tf.fill([count], 0.9),
      labels=tf.constant(labels, tf.int64))["images"].numpy()
  assert served.shape == (count,) + IMAGE_SHAPE
  assert 0.0 <= served.min() and served.max() < 256.0
  local = model.sample(count, labels=labels, temperature=0.9, seed=5).numpy()
  # Same distribution: the mean pixel per image agrees within 4 standard errors.
  served_means, local_means = served.mean(axis=(1, 2, 3)), local.mean(axis=(1, 2, 3))
  standard_error = np.sqrt((served_means.var() + local_means.var()) / count)
  assert abs(served_means.mean() - local_means.mean()) < 4 * standard_error
  # And the temperature matters: colder samples spread less.
  cold = loaded.signatures["sample"](
      temperature=tf.fill([count], 0.3),
      labels=tf.constant(labels, tf.int64))["images"].numpy()
  assert cold.mean(axis=(1, 2, 3)).std() < 0.8 * served_means.std()


def test_rest_bodies_for_every_signature_run_through_the_saved_model(exported):
  model, loaded, _ = exported
  inputs = request_inputs(count=2)
  latents = model.encode(inputs["images"], inputs["labels"]).numpy()
  noise = np.full(latents.shape, 0.25, np.float32)
  bodies = {
      "log_prob": request_body("log_prob", **inputs),
      "serving_default": request_body("serving_default", **inputs),
      "encode": request_body("encode", **inputs),
      "decode": request_body("decode", latents=latents, labels=inputs["labels"]),
      "sample": request_body("sample", temperature=[0.7, 1.0],
                             labels=inputs["labels"]),
      "discrete_log_prob": request_body("discrete_log_prob", noise=noise,
                                        **inputs),
  }
  expected_log_prob = model.log_prob(inputs["images"], inputs["labels"]).numpy()
  for name, body in bodies.items():
    response = serving_emulation.predict(loaded, json.loads(json.dumps(body)))
    predictions = response["predictions"]
    assert len(predictions) == 2, name
    if name in ("log_prob", "serving_default"):
      np.testing.assert_allclose([p["log_prob"] for p in predictions],
                                 expected_log_prob, rtol=1e-6)
    elif name == "discrete_log_prob":
      np.testing.assert_allclose(
          [p["discrete_log_prob"] for p in predictions],
          model.log_importance_weight(inputs["images"], noise,
                                      inputs["labels"]).numpy(), rtol=1e-6)
    else:
      assert np.asarray(predictions).shape == (2,) + IMAGE_SHAPE, name


def readme_json_blocks():
  text = README.read_text()
  return [json.loads(block) for block in
          re.findall(r"```json\n(.*?)```", text, flags=re.DOTALL)]


def test_readme_rest_examples_are_accepted_by_the_signatures(exported):
  _, loaded, _ = exported
  blocks = readme_json_blocks()
  requests = [b for b in blocks if "instances" in b]
  responses = [b for b in blocks if "predictions" in b]
  assert {r["signature_name"] for r in requests} >= {"sample"}
  for request in requests:
    response = serving_emulation.predict(loaded, request)
    assert len(response["predictions"]) == len(request["instances"])
  assert responses, "README shows no response body"


def test_warmup_records_are_prediction_logs_matching_the_signatures(exported):
  _, loaded, path = exported
  records = list(tf.data.TFRecordDataset(
      str(path / "assets.extra" / WARMUP_FILE)).as_numpy_iterator())
  seen = set()
  for record in records:
    log = prediction_log_pb2.PredictionLog.FromString(record)
    request = log.predict_log.request
    assert request.model_spec.name == "digits"
    signature = loaded.signatures[request.model_spec.signature_name]
    specs = signature.structured_input_signature[1]
    assert set(request.inputs) == set(specs)
    inputs = {name: tf.make_ndarray(proto) for name, proto in request.inputs.items()}
    for name, value in inputs.items():
      assert tf.as_dtype(value.dtype) == specs[name].dtype
    signature(**{k: tf.constant(v) for k, v in inputs.items()})
    seen.add(request.model_spec.signature_name)
  assert seen == set(SIGNATURES)


@pytest.mark.parametrize("signature, change, message", [
    ("log_prob", dict(images=np.zeros((1, 8, 9, 1), np.float32)),
     r"images must have shape \[N, 8, 8, 1\]"),
    ("log_prob", dict(images=np.zeros((1, 8, 8, 3), np.float32)),
     r"images must have shape \[N, 8, 8, 1\]"),
    ("log_prob", dict(images=np.full((1, 8, 8, 1), np.nan, np.float32)),
     "NaN"),
    ("log_prob", dict(images=np.full((1, 8, 8, 1), 300.0, np.float32)),
     r"outside \[0, 256\)"),
    ("log_prob", dict(labels=np.array([10], np.int64)), r"\[0, 10\)"),
    ("log_prob", dict(labels=np.array([0, 1], np.int64)), "N the number of images"),
    ("encode", dict(images=np.zeros((1, 4, 4, 1), np.float32)),
     r"images must have shape"),
    ("decode", dict(latents=np.full((1, 8, 8, 1), np.inf, np.float32)),
     "NaN or infinite"),
    ("decode", dict(latents=np.zeros((1, 8, 8, 2), np.float32)),
     r"latents must have shape \[N, 8, 8, 1\]"),
    ("sample", dict(temperature=np.array([-1.0], np.float32)), "temperature"),
    ("discrete_log_prob", dict(noise=np.full((1, 8, 8, 1), 1.0, np.float32)),
     r"noise must lie in \[0, 1\)"),
    ("discrete_log_prob", dict(noise=np.full((2, 8, 8, 1), 0.5, np.float32)),
     "noise must have the shape of the images"),
    ("discrete_log_prob", dict(noise=np.full((1, 8, 8), 0.5, np.float32)),
     r"noise must have rank 4 \[N, 8, 8, 1\]; got shape \[1 8 8\]"),
    ("sample", dict(labels=np.array([-2], np.int64)), r"\[0, 10\)"),
    # Wrong ranks and empty batches are named as the Python API names them.
    ("log_prob", dict(images=np.full((1, 8, 8), 128.0, np.float32)),
     r"images must have rank 4 \[N, 8, 8, 1\]; got shape \[1 8 8\]"),
    ("encode", dict(images=np.full((1, 8, 8, 1, 1), 128.0, np.float32)),
     r"images must have rank 4 \[N, 8, 8, 1\]; got shape \[1 8 8 1 1\]"),
    ("decode", dict(latents=np.zeros((1, 64), np.float32)),
     r"latents must have rank 4 \[N, 8, 8, 1\]; got shape \[1 64\]"),
    ("log_prob", dict(labels=np.array([[3]], np.int64)),
     r"labels must have rank 1 \[N\]; got shape \[1 1\]"),
    ("sample", dict(temperature=np.float32(1.0)),
     r"temperature must have rank 1 \[N\]; got shape \[\]"),
    ("log_prob", dict(images=np.zeros((0, 8, 8, 1), np.float32),
                      labels=np.zeros([0], np.int64)),
     r"images must have shape \[N, 8, 8, 1\] with N >= 1; got shape \[0 8 8 1\]"),
    ("decode", dict(latents=np.zeros((0, 8, 8, 1), np.float32),
                    labels=np.zeros([0], np.int64)),
     r"latents must have shape \[N, 8, 8, 1\] with N >= 1"),
    ("sample", dict(temperature=np.zeros([0], np.float32),
                    labels=np.zeros([0], np.int64)),
     r"temperature must have shape \[N\] with N >= 1; got shape \[0\]"),
    # Images scaled to [0, 1] would be scored as black images.
    ("log_prob", dict(images=np.full((1, 8, 8, 1), 0.5, np.float32)),
     r"floats all in \[0, 1\].*expected pixel values in \[0, 256\).*"
     r"images \* 255"),
])
def test_bad_requests_fail_with_invalid_argument(exported, signature, change,
                                                 message):
  _, loaded, _ = exported
  base = {"log_prob": dict(images=np.full((1, 8, 8, 1), 128.0, np.float32)),
          "encode": dict(images=np.full((1, 8, 8, 1), 128.0, np.float32)),
          "decode": dict(latents=np.zeros((1, 8, 8, 1), np.float32)),
          "sample": dict(temperature=np.ones([1], np.float32)),
          "discrete_log_prob": dict(
              images=np.full((1, 8, 8, 1), 128.0, np.float32),
              noise=np.full((1, 8, 8, 1), 0.5, np.float32))}[signature]
  inputs = dict(base, labels=np.zeros([1], np.int64))
  inputs.update(change)
  with pytest.raises(tf.errors.InvalidArgumentError, match=message):
    loaded.signatures[signature](**{k: tf.constant(v) for k, v in inputs.items()})


IMAGE_ROW = np.full(IMAGE_SHAPE, 128.0).tolist()
NO_CHANNEL_ROW = np.full(IMAGE_SHAPE[:2], 128.0).tolist()  # [8, 8]: no channel axis.


@pytest.mark.parametrize("body, message", [
    ({"signature_name": "log_prob",
      "instances": [{"images": NO_CHANNEL_ROW, "labels": 0}]},
     r"images must have rank 4 \[N, 8, 8, 1\]; got shape \[1 8 8\]"),
    ({"signature_name": "log_prob",
      "inputs": {"images": [NO_CHANNEL_ROW], "labels": [0]}},
     r"images must have rank 4 \[N, 8, 8, 1\]; got shape \[1 8 8\]"),
    ({"signature_name": "log_prob",
      "instances": [{"images": IMAGE_ROW, "labels": [3]}]},
     r"labels must have rank 1 \[N\]; got shape \[1 1\]"),
    ({"signature_name": "log_prob",
      "inputs": {"images": [IMAGE_ROW], "labels": [[3]]}},
     r"labels must have rank 1 \[N\]; got shape \[1 1\]"),
    ({"signature_name": "sample",
      "inputs": {"temperature": 1.0, "labels": [3]}},
     r"temperature must have rank 1 \[N\]; got shape \[\]"),
    # JSON has no empty [0, 8, 8, 1] array: an empty batch is a bare [].
    ({"signature_name": "log_prob", "inputs": {"images": [], "labels": []}},
     r"images must have rank 4 \[N, 8, 8, 1\]; got shape \[0\]"),
    ({"signature_name": "log_prob",
      "inputs": {"images": [np.full(IMAGE_SHAPE, 0.5).tolist()],
                 "labels": [3]}},
     r"floats all in \[0, 1\].*\[0, 256\)"),
])
def test_rest_bodies_of_the_wrong_rank_or_scale_are_named(exported, body,
                                                          message):
  _, loaded, _ = exported
  with pytest.raises(tf.errors.InvalidArgumentError, match=message):
    serving_emulation.predict(loaded, body)


def test_a_request_without_labels_is_refused(exported):
  _, loaded, _ = exported
  with pytest.raises(TypeError, match="labels"):
    loaded.signatures["log_prob"](images=tf.zeros((1,) + IMAGE_SHAPE))
  with pytest.raises(ValueError, match="labels"):
    serving_emulation.predict(loaded, request_body(
        "log_prob", images=np.zeros((1,) + IMAGE_SHAPE)))


def test_saved_model_cli_shows_and_runs_the_signatures(exported, tmp_path):
  _, _, path = exported
  np.save(tmp_path / "images.npy", np.full((2, 8, 8, 1), 100.5, np.float32))
  np.save(tmp_path / "labels.npy", np.array([0, 2], np.int64))
  tool = str(Path(sys.executable).parent / "saved_model_cli")
  shown = subprocess.run([tool, "show", "--dir", str(path), "--all"],
                         capture_output=True, text=True, timeout=300,
                         check=True).stdout
  for name in SIGNATURES + ("serving_default",):
    assert f"signature_def['{name}']" in shown
  ran = subprocess.run(
      [tool, "run", "--dir", str(path), "--tag_set", "serve",
       "--signature_def", "log_prob", "--inputs",
       f"images={tmp_path / 'images.npy'};labels={tmp_path / 'labels.npy'}"],
      capture_output=True, text=True, timeout=300, check=True).stdout
  assert "bits_per_dim" in ran and "log_prob" in ran


def test_keras_round_trip_needs_no_unsafe_loading(tmp_path):
  model = perturbed_model()
  path = tmp_path / "model.keras"
  model.save(path)
  restored = keras.models.load_model(path)  # safe_mode stays True
  inputs = request_inputs()
  np.testing.assert_array_equal(
      restored.log_prob(inputs["images"], inputs["labels"]).numpy(),
      model.log_prob(inputs["images"], inputs["labels"]).numpy())


def test_export_command_from_a_keras_file_and_from_a_checkpoint(tmp_path,
                                                                capsys):
  model = perturbed_model()
  model.save(tmp_path / "model.keras")
  model.save_weights(tmp_path / "best.weights.h5")
  (tmp_path / "config.json").write_text(json.dumps(model.get_config()))
  export_dir = tmp_path / "exports"
  assert cli.main(["export", str(tmp_path / "model.keras"), "--export-dir",
                   str(export_dir), "--name", "m"]) == 0
  assert cli.main(["export", str(tmp_path / "best.weights.h5"), "--config",
                   str(tmp_path / "config.json"), "--export-dir",
                   str(export_dir), "--name", "m", "--version", "7"]) == 0
  outputs = [json.loads(chunk) for chunk in
             re.findall(r"\{.*?\}", capsys.readouterr().out, flags=re.DOTALL)]
  assert [o["saved_model"] for o in outputs] == [
      str(export_dir / "m" / "1"), str(export_dir / "m" / "7")]
  inputs = request_inputs()
  expected = model.log_prob(inputs["images"], inputs["labels"]).numpy()
  for version in ("1", "7"):
    loaded = tf.saved_model.load(str(export_dir / "m" / version))
    served = loaded.signatures["log_prob"](
        images=tf.constant(inputs["images"]),
        labels=tf.constant(inputs["labels"]))["log_prob"].numpy()
    np.testing.assert_allclose(served, expected, rtol=1e-6)
  assert cli.main(["export", str(tmp_path / "best.weights.h5"),
                   "--export-dir", str(export_dir)]) == 2
  assert "--config" in capsys.readouterr().err


def test_concurrent_exports_take_different_versions_and_keep_their_models(
    tmp_path, monkeypatch):
  first, second = tiny_model(seed=1), tiny_model(seed=2)
  # Both exports find version 1 free, as two processes started together do;
  # the first one finishes while the second is still writing its files.
  monkeypatch.setattr(export, "next_version", lambda model_dir: 1)
  write_model_info = export.write_model_info
  paths = []

  def write_while_another_exports(version_dir, model, provenance=None):
    if model is second:
      paths.append(export_saved_model(first, str(tmp_path), "m"))
    return write_model_info(version_dir, model, provenance)

  monkeypatch.setattr(export, "write_model_info", write_while_another_exports)
  paths.append(export_saved_model(second, str(tmp_path), "m"))
  assert paths == [str(tmp_path / "m" / "1"), str(tmp_path / "m" / "2")]
  images = request_inputs(count=2)["images"]
  expected = [model.log_prob(images).numpy() for model in (first, second)]
  assert np.abs(expected[0] - expected[1]).min() > 1.0
  for path, log_prob in zip(paths, expected):
    served = tf.saved_model.load(path).signatures["log_prob"](
        images=tf.constant(images))["log_prob"].numpy()
    np.testing.assert_allclose(served, log_prob, rtol=1e-6)
  # An explicit version that is taken is refused, and nothing is left over.
  with pytest.raises(ValueError, match=re.escape(
      f"{tmp_path / 'm' / '2'} exists already")):
    export_saved_model(first, str(tmp_path), "m", version=2)
  assert sorted(os.listdir(tmp_path / "m")) == ["1", "2"]


def test_a_failed_export_leaves_no_version_and_no_staging_directory(
    tmp_path, monkeypatch):
  def fail(*args):
    raise OSError("disk full")

  monkeypatch.setattr(export, "write_warmup_requests", fail)
  with pytest.raises(OSError, match="disk full"):
    export_saved_model(tiny_model(seed=0), str(tmp_path), "m")
  assert os.listdir(tmp_path / "m") == []
  # What a SIGKILL mid-export leaves, TF Serving and next_version ignore.
  (tmp_path / "m" / f"{STAGING_PREFIX}0123").mkdir()
  assert next_version(str(tmp_path / "m")) == 1


@pytest.mark.parametrize("name", ["../escaped", "", ".", "..", "a/b", "a\\b",
                                  "with space"])
def test_export_refuses_a_name_that_is_not_one_directory(tmp_path, name):
  base = tmp_path / "exports"
  with pytest.raises(ValueError, match=re.escape(
      "name must be one directory name of letters, digits, '_', '-' and '.' "
      f"(not '.' or '..'); got {name!r}.")):
    export_saved_model(tiny_model(seed=0), str(base), name)
  assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("options", [
    dict(coupling="additive", invertible_1x1_conv=True,
         normalization="actnorm", dequantization="variational"),
    dict(normalization="none", invertible_1x1_conv=True)],
                         ids=["all_later_components", "no_normalization"])
def test_a_model_beyond_the_paper_trains_saves_and_serves(tmp_path, options):
  """Actnorm, 1x1 convolutions, additive couplings, variational dequantization: fit moves their weights; .keras and SavedModel answer as the model."""
  model = tfp_realnvp.RealNVP(
      IMAGE_SHAPE, num_scales=2, num_coupling_layers=1, num_res_blocks=1,
      filters=4, num_classes=NUM_CLASSES, dequantization_coupling_layers=2,
      dequantization_filters=4, **options)
  model.compile(optimizer=keras.optimizers.Adam(1e-2))
  before = [w.lower_upper.numpy() for w in model.lu_weights]
  inputs = request_inputs(count=16)
  images = inputs["images"].astype(np.uint8)
  model.fit(images, inputs["labels"], batch_size=8, epochs=1, verbose=0)
  assert all(np.abs(w.lower_upper.numpy() - b).max() > 1e-4
             for w, b in zip(model.lu_weights, before))
  path = str(tmp_path / "model.keras")
  model.save(path)
  restored = keras.models.load_model(path)
  pixels = tf.constant(inputs["images"])
  labels = tf.constant(inputs["labels"])
  expected = model.log_prob(pixels, labels).numpy()
  assert np.all(np.isfinite(expected))
  np.testing.assert_array_equal(restored.log_prob(pixels, labels).numpy(),
                                expected)
  loaded = tf.saved_model.load(export_saved_model(model, str(tmp_path), "m"))
  served = loaded.signatures["log_prob"](images=pixels, labels=labels)
  np.testing.assert_allclose(served["log_prob"].numpy(), expected, rtol=1e-5)
  noise = tf.constant(np.random.default_rng(3).uniform(
      0, 1, pixels.shape).astype(np.float32))
  bound = model.log_importance_weight(pixels, noise, labels).numpy()
  np.testing.assert_array_equal(
      restored.log_importance_weight(pixels, noise, labels).numpy(), bound)
  np.testing.assert_allclose(loaded.signatures["discrete_log_prob"](
      images=pixels, noise=noise, labels=labels)["discrete_log_prob"].numpy(),
                             bound, rtol=1e-5)
  # Fit initialized every actnorm and trained q; the reloaded model keeps
  # them (and is not initialized again).
  for weights, trained in zip(restored.actnorm_weights, model.actnorm_weights):
    assert weights.initialized.numpy() == 1.0
    assert np.any(weights.log_scale.numpy() != 0.0)  # 0 before initializing
    np.testing.assert_array_equal(weights.log_scale.numpy(),
                                  trained.log_scale.numpy())
  assert len(model.dequantization_networks) == 2 * (
      options.get("dequantization") == "variational")
  for network in model.dequantization_networks:
    assert np.abs(network.output_conv.kernel.numpy()).max() > 1e-4
