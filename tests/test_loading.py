"""tfp_realnvp.loading: one TrainedModel over .keras files, checkpoints and SavedModels; the SavedModel's model info."""

import json
import re
import shutil
import zipfile
from pathlib import Path

import keras
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



# --- Files that do not fit or cannot be read (issue 15). ---

TINY = dict(image_shape=(8, 8, 1), num_scales=2, num_coupling_layers=1,
            num_res_blocks=1, filters=4)


@pytest.fixture(scope="module")
def tiny_files(tmp_path_factory):
  """(model, .keras path, .weights.h5 path, config.json path) of a tiny conditional model."""
  root = tmp_path_factory.mktemp("tiny")
  model = perturbed_model(num_classes=NUM_CLASSES, **TINY)
  model.save(root / "model.keras")
  model.save_weights(root / "best.weights.h5")
  (root / "config.json").write_text(json.dumps(model.get_config()))
  return (model, root / "model.keras", root / "best.weights.h5",
          root / "config.json")


@pytest.mark.parametrize("saved, loaded_as, message", [
    ({"num_classes": NUM_CLASSES}, {"num_classes": None},
     r"the file has 8 weights the model lacks \(coupling_networks/"
     r"shift_and_log_scale_res_net/conditional_dense/vars/0 \[3, 4\], "
     r".*and 5 more\)"),
    ({"num_classes": None}, {"num_classes": NUM_CLASSES},
     r"the model has 8 weights the file lacks \(.*conditional_dense/vars/0 "
     r"\[3, 4\]"),
    ({"normalization": "batch_norm"}, {"normalization": "none"},
     r"the file has 8 weights the model lacks \(batch_norm_moments/"
     r"moving_moments/vars/0 \[1\]"),
    ({"filters": 4}, {"filters": 8},
     r"shapes differ for 48 weights \(.*input_conv/vars/0 \[3, 3, 2, 4\] in "
     r"the file vs \[3, 3, 2, 8\] in the model"),
])
def test_a_checkpoint_loads_only_with_the_config_of_its_model(
    tmp_path, saved, loaded_as, message):
  model = perturbed_model(**{**TINY, **saved})
  model.save_weights(tmp_path / "best.weights.h5")
  config_path = tmp_path / "config.json"
  config_path.write_text(json.dumps({**model.get_config(), **loaded_as}))
  with pytest.raises(ValueError, match=(
      re.escape(f"{config_path} does not match "
                f"{tmp_path / 'best.weights.h5'}: ") + message
      + r".*Pass the config.json written by the same run")):
    loading.load_keras_model(tmp_path / "best.weights.h5", config_path)
  config_path.write_text(json.dumps(model.get_config()))
  loaded = loading.load_keras_model(tmp_path / "best.weights.h5", config_path)
  pixels, labels = inputs(seed=3)
  pixels = pixels[..., :1]
  labels = labels if model.num_classes else None
  np.testing.assert_array_equal(loaded.log_prob(pixels, labels).numpy(),
                                model.log_prob(pixels, labels).numpy())


def rewritten_keras_file(source, target, **config_changes):
  """A copy of the .keras archive `source` whose model config has `config_changes`."""
  with zipfile.ZipFile(source) as archive, zipfile.ZipFile(target, "w") as out:
    for name in archive.namelist():
      content = archive.read(name)
      if name == "config.json":
        config = json.loads(content)
        config["config"].update(config_changes)
        content = json.dumps(config)
      out.writestr(name, content)
  return target


def test_a_keras_file_whose_config_does_not_match_its_weights_is_refused(
    tiny_files, tmp_path):
  _, keras_path, _, _ = tiny_files
  for changes in ({"num_classes": None}, {"normalization": "none"}):
    path = rewritten_keras_file(keras_path, tmp_path / "model.keras", **changes)
    with pytest.raises(ValueError, match=re.escape(
        f"{path} is damaged or unreadable: the config inside it does not "
        f"match its weights: the file has 8 weights the model lacks")):
      loading.load_keras_model(path)
  other = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
  other.save(tmp_path / "other.keras")
  with pytest.raises(ValueError, match=re.escape(
      f"{tmp_path / 'other.keras'} holds a Sequential, not a RealNVP")):
    loading.load_keras_model(tmp_path / "other.keras")


def damaged_heap(content):
  """HDF5 bytes whose local heaps (the group members' names) are unreadable."""
  assert content.count(b"HEAP") > 1
  return content.replace(b"HEAP", b"XXXX")


def flipped_bytes(content, marker):
  """`content` with the bytes of its first `marker` inverted (a bit-flipped disk block)."""
  start = content.index(marker)
  flipped = bytes(255 - byte for byte in content[start:start + len(marker)])
  return content[:start] + flipped + content[start + len(marker):]


@pytest.mark.parametrize("damaged, content, message", [
    pytest.param("keras", lambda data: data[:len(data) // 2],
                 "is damaged or unreadable: it is not a readable zip archive",
                 id="truncated .keras"),
    pytest.param("keras", lambda data: np.random.default_rng(0).bytes(4096),
                 "is damaged or unreadable: it is not a readable zip archive",
                 id="random-bytes .keras"),
    pytest.param("keras", lambda data: flipped_bytes(data, b"HEAP"),
                 "is damaged or unreadable: its model.weights.h5 is not a "
                 "readable HDF5 weights file", id="bit-flipped .keras"),
    pytest.param("checkpoint", lambda data: data[:len(data) // 2],
                 r"is damaged or unreadable: it is not a readable HDF5 weights "
                 r"file \(.*truncated file", id="truncated .weights.h5"),
    pytest.param("checkpoint",
                 lambda data: np.random.default_rng(0).bytes(4096),
                 r"is damaged or unreadable: it is not a readable HDF5 weights "
                 r"file \(.*signature not found",
                 id="random-bytes .weights.h5"),
    pytest.param("checkpoint", damaged_heap,
                 r"is damaged or unreadable: it is not a readable HDF5 weights "
                 r"file \(.*bad local heap signature", id="damaged heap"),
    pytest.param("config", lambda data: b"{not json",
                 "is damaged: it is not valid JSON", id="config not JSON"),
    pytest.param("config", lambda data: b"[8, 8, 1]",
                 r"is not a RealNVP config: expected the JSON object of "
                 r"RealNVP.get_config\(\) .*; got a JSON list\.",
                 id="config a list"),
    pytest.param("config", lambda data: b'{"epochs": 3}',
                 r"is not a RealNVP config: .*; got an object with keys "
                 r"\['epochs'\]\.", id="config of something else"),
])
def test_damaged_files_are_named_with_what_to_do(tiny_files, tmp_path, damaged,
                                                 content, message):
  _, keras_path, checkpoint_path, config_path = tiny_files
  paths = {"keras": keras_path, "checkpoint": checkpoint_path,
           "config": config_path}
  broken = tmp_path / paths[damaged].name
  broken.write_bytes(content(paths[damaged].read_bytes()))
  paths[damaged] = broken
  remedy = {"keras": "Use another copy of it", "checkpoint":
            "Use another checkpoint", "config": "Pass the config.json"}
  with pytest.raises(ValueError, match=(
      re.escape(str(broken)) + " " + message + ".*" + remedy[damaged])):
    if damaged == "keras":
      loading.load(paths["keras"])
    else:
      loading.load(paths["checkpoint"], paths["config"])
