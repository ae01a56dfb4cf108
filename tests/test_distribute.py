"""Distribution strategies: replicas must train exactly like one device."""

import json
import os
import socket
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfp_realnvp
from tfp_realnvp.distribute import get_strategy
from tfp_realnvp.loading import load_keras_model

IMAGE_SHAPE = (8, 8, 1)
GLOBAL_BATCH = 8


def deterministic_noise(self, pixels):
  """Noise that depends only on the pixel values, the same on any replica."""
  del self
  return tf.math.floormod(pixels * 0.618034 + 0.1, 1.0)


def one_step_weights(strategy, monkeypatch, initial_weights=None, **options):
  monkeypatch.setattr(tfp_realnvp.RealNVP, "_dequantization_noise",
                      deterministic_noise)
  rng = np.random.default_rng(0)
  images = rng.integers(0, 256, (GLOBAL_BATCH,) + IMAGE_SHAPE).astype(np.uint8)
  labels = rng.integers(0, 3, GLOBAL_BATCH)
  dataset = tf.data.Dataset.from_tensor_slices((images, labels)).batch(
      GLOBAL_BATCH)
  with strategy.scope():
    model = tfp_realnvp.RealNVP(IMAGE_SHAPE, num_scales=2,
                                num_coupling_layers=1, num_res_blocks=1,
                                filters=4, num_classes=3,
                                dequantization_coupling_layers=2,
                                dequantization_filters=4, **options)
    if initial_weights is None:
      for weight in model.trainable_weights:
        if "actnorm" not in weight.path:  # Initialized by the step.
          weight.assign(rng.normal(scale=0.1, size=weight.shape))
    else:
      model.set_weights(initial_weights)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.05))
  before = model.get_weights()
  history = model.fit(dataset, epochs=1, verbose=0)
  return before, model.get_weights(), history.history["loss"][0]


@pytest.mark.parametrize("options", [
    {}, dict(normalization="actnorm", dequantization="variational",
             invertible_1x1_conv=True)], ids=["paper", "later_components"])
def test_two_replicas_take_the_same_step_as_one_device(monkeypatch, options):
  """Batch norm's and actnorm's statistics are the global batch's; the variational dequantization's gradients add up as on one device."""
  assert len(tf.config.list_logical_devices("CPU")) == 2
  before, single, single_loss = one_step_weights(get_strategy("default"),
                                                 monkeypatch, **options)
  mirrored = get_strategy("mirrored", ["/cpu:0", "/cpu:1"])
  assert mirrored.num_replicas_in_sync == 2
  _, replicated, replicated_loss = one_step_weights(mirrored, monkeypatch,
                                                    before, **options)
  step = max(np.abs(a - b).max() for a, b in zip(single, before))
  assert step > 1e-3  # The step is large enough for a 2x scaling error to show.
  for expected, actual in zip(single, replicated):
    np.testing.assert_allclose(actual, expected, rtol=1e-4, atol=step * 1e-3)
  assert replicated_loss == pytest.approx(single_loss, rel=1e-5)


def test_models_of_different_shapes_train_one_after_another_on_two_replicas():
  # A second MirroredStrategy over the same devices would reuse the first's
  # collective keys and fail the second model's batch-norm all-reduces
  # (tensorflow/tensorflow#62790); get_strategy hands out one per process.
  devices = ["/cpu:0", "/cpu:1"]
  assert get_strategy("mirrored", devices) is get_strategy("mirrored", devices)
  for channels in (3, 1):
    with get_strategy("mirrored", devices).scope():
      model = tfp_realnvp.RealNVP((4, 4, channels), num_scales=1,
                                  num_coupling_layers=1, num_res_blocks=1,
                                  filters=4)
      model.compile()
    images = np.random.default_rng(channels).integers(
        0, 256, (8, 4, 4, channels)).astype(np.uint8)
    history = model.fit(tf.data.Dataset.from_tensors(images), epochs=1,
                        verbose=0)
    assert np.isfinite(history.history["loss"][0])


def test_replicas_draw_different_dequantization_noise():
  mirrored = get_strategy("mirrored", ["/cpu:0", "/cpu:1"])
  with mirrored.scope():
    model = tfp_realnvp.RealNVP(IMAGE_SHAPE, num_scales=1,
                                num_coupling_layers=1, num_res_blocks=1,
                                filters=4)

  @tf.function
  def draw():
    return mirrored.run(model._dequantization_noise,  # pylint: disable=protected-access
                        args=(tf.zeros((4,) + IMAGE_SHAPE),))

  first, second = (t.numpy() for t in mirrored.experimental_local_results(draw()))
  assert 0.0 <= min(first.min(), second.min())
  assert max(first.max(), second.max()) < 1.0
  assert np.abs(first - second).max() > 0.1
  again = mirrored.experimental_local_results(draw())[0].numpy()
  assert np.abs(again - first).max() > 0.1  # A new draw every step.


def test_unknown_strategy_and_missing_tf_config_are_clear_errors(monkeypatch):
  with pytest.raises(ValueError, match="strategy must be one of"):
    get_strategy("tpu")
  monkeypatch.delenv("TF_CONFIG", raising=False)
  with pytest.raises(ValueError, match="TF_CONFIG"):
    get_strategy("multi_worker")


def test_auto_picks_the_default_strategy_without_gpus():
  assert not tf.config.list_logical_devices("GPU")
  assert get_strategy("auto") is tf.distribute.get_strategy()


def free_ports(count):
  sockets = [socket.socket() for _ in range(count)]
  for sock in sockets:
    sock.bind(("127.0.0.1", 0))
  ports = [sock.getsockname()[1] for sock in sockets]
  for sock in sockets:
    sock.close()
  return ports


def test_two_workers_finish_with_identical_weights_and_one_export(tmp_path):
  workers = [f"127.0.0.1:{port}" for port in free_ports(2)]
  output_dir, export_dir = tmp_path / "run", tmp_path / "saved_models"
  command = [sys.executable, "-m", "tfp_realnvp.cli", "train",
             "--strategy", "multi_worker", "--epochs", "1",
             "--steps-per-epoch", "3", "--batch-size", "16",
             "--num-scales", "2", "--num-coupling-layers", "1",
             "--num-res-blocks", "1", "--filters", "4", "--conditional",
             # Actnorm initializes from the global batch on both workers.
             "--normalization", "actnorm", "--dequantization", "variational",
             "--dequantization-coupling-layers", "2",
             "--dequantization-filters", "4",
             "--output-dir", str(output_dir), "--export-dir", str(export_dir),
             "--model-name", "multi", "--verbose", "0"]
  processes = []
  for index in range(2):
    env = dict(os.environ, TF_CONFIG=json.dumps({
        "cluster": {"worker": workers},
        "task": {"type": "worker", "index": index}}))
    processes.append(subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True))
  for process in processes:
    try:
      _, stderr = process.communicate(timeout=300)
    finally:
      for other in processes:
        if other.poll() is None:
          other.kill()
    assert process.returncode == 0, stderr[-3000:]
  chief = load_keras_model(str(output_dir / "model.keras"))
  other = load_keras_model(str(output_dir / "worker_1" / "model.keras"))
  for chief_weight, other_weight in zip(chief.get_weights(), other.get_weights()):
    np.testing.assert_array_equal(chief_weight, other_weight)
  assert chief.actnorm_weights and all(
      w.initialized.numpy() == 1 for w in chief.actnorm_weights)
  metrics = json.loads((output_dir / "metrics.json").read_text())
  assert metrics["num_replicas"] == 2
  assert sorted(os.listdir(export_dir / "multi")) == ["1"]
  assert json.loads((output_dir / "worker_1" / "metrics.json").read_text())[
      "saved_model"] is None
  # Only the chief logs to TensorBoard.
  assert (output_dir / "tensorboard" / "samples").is_dir()
  assert not (output_dir / "worker_1" / "tensorboard").exists()
