"""tfp_realnvp.loading: one TrainedModel over .keras files, checkpoints and SavedModels; the SavedModel's model info."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from test_model import perturbed_model  # 8x8x2 images, 3 classes.
from tfp_realnvp import loading
from tfp_realnvp.export import export_saved_model

IMAGE_SHAPE = (8, 8, 2)
NUM_CLASSES = 3


@pytest.fixture(scope="module")
def files(tmp_path_factory):
  """(model, {kind: path}, config.json path) of one conditional model saved every way."""
  root = tmp_path_factory.mktemp("loading")
  model = perturbed_model(num_classes=NUM_CLASSES)
  model.save(root / "model.keras")
  model.save_weights(root / "best.weights.h5")
  (root / "config.json").write_text(json.dumps(model.get_config()))
  saved_model = export_saved_model(model, str(root), "m",
                                   provenance={"dataset": "toy"})
  paths = {"keras": root / "model.keras",
           "checkpoint": root / "best.weights.h5",
           "saved_model": Path(saved_model)}
  return model, paths, root / "config.json"


def inputs(count=4, seed=2):
  rng = np.random.default_rng(seed)
  pixels = rng.uniform(0, 256, (count,) + IMAGE_SHAPE).astype(np.float32)
  return pixels, rng.integers(0, NUM_CLASSES, count)


@pytest.mark.parametrize("kind", ["keras", "checkpoint", "saved_model"])
def test_every_kind_of_file_answers_like_the_model(files, kind):
  model, paths, config_path = files
  trained = loading.load(paths[kind], config_path)
  assert trained.image_shape == IMAGE_SHAPE
  assert trained.num_classes == NUM_CLASSES and trained.conditional
  assert (trained.keras_model is None) == (kind == "saved_model")
  pixels, labels = inputs()
  np.testing.assert_allclose(trained.log_prob(pixels, labels).numpy(),
                             model.log_prob(pixels, labels).numpy(),
                             rtol=1e-5)
  np.testing.assert_allclose(trained.bits_per_dim(pixels, labels).numpy(),
                             model.bits_per_dim(pixels, labels).numpy(),
                             rtol=1e-5)
  latents = trained.encode(pixels, labels)
  np.testing.assert_allclose(latents.numpy(),
                             model.encode(pixels, labels).numpy(),
                             rtol=1e-4, atol=1e-4)
  np.testing.assert_allclose(trained.decode(latents, labels).numpy(), pixels,
                             rtol=1e-4, atol=1e-2)
  temperature = np.full(4, 0.7, np.float32)
  np.testing.assert_allclose(
      trained.sample(temperature, labels, seed=5),
      model.sample(4, labels, temperature=0.7, seed=5).numpy(), atol=1e-2)
  with pytest.raises(ValueError, match="labels are required"):
    trained.log_prob(pixels)


def test_the_saved_model_states_its_configuration_and_provenance(files):
  model, paths, _ = files
  info = loading.read_model_info(paths["saved_model"])
  assert info["format"] == 1
  assert info["image_shape"] == list(IMAGE_SHAPE)
  assert info["num_classes"] == NUM_CLASSES
  assert info["model_config"] == json.loads(json.dumps(model.get_config()))
  assert info["provenance"] == {"dataset": "toy"}
  assert set(info["versions"]) == {"tfp_realnvp", "tensorflow", "keras",
                                   "tensorflow_probability"}
  assert loading.load(paths["saved_model"]).info == info


def test_exports_without_model_info_fall_back_to_signatures_and_variables(
    files, tmp_path):
  _, paths, _ = files
  older = tmp_path / "1"
  shutil.copytree(paths["saved_model"], older)
  (older / "assets.extra" / "tfp_realnvp.json").unlink()
  assert loading.read_model_info(older) is None
  trained = loading.load(older)
  assert trained.info is None
  assert trained.image_shape == IMAGE_SHAPE
  assert trained.num_classes == NUM_CLASSES


def test_a_corrupt_model_info_is_named(files, tmp_path):
  _, paths, _ = files
  broken = tmp_path / "1"
  shutil.copytree(paths["saved_model"], broken)
  (broken / "assets.extra" / "tfp_realnvp.json").write_text("{not json")
  with pytest.raises(ValueError, match="tfp_realnvp.json is corrupt"):
    loading.load(broken)


def test_bad_paths_raise_clear_errors(files, tmp_path):
  _, paths, _ = files
  with pytest.raises(OSError, match="No model file"):
    loading.load(tmp_path / "missing.keras")
  with pytest.raises(ValueError, match="holds weights only"):
    loading.load(paths["checkpoint"])
  with pytest.raises(ValueError, match="without saved_model.pb"):
    loading.load(tmp_path)
  (tmp_path / "model.txt").write_text("x")
  with pytest.raises(ValueError, match="Expected a .keras file"):
    loading.load(tmp_path / "model.txt")

