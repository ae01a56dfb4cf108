"""Sample grids (`tfp-realnvp sample`): .keras vs SavedModel, seeds, layout, bad input."""

import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from test_model import perturbed_model  # Every weight non-trivial.
from tfp_realnvp import cli
from tfp_realnvp import loading
from tfp_realnvp import sampling
from tfp_realnvp.export import export_saved_model

NUM_CLASSES = 3
GRAY = sampling.FILLER_PIXEL
TINY = dict(num_scales=1, num_coupling_layers=1, filters=4)


@pytest.fixture(scope="module")
def conditional_paths(tmp_path_factory):
  """(model, .keras path, SavedModel path) of a conditional 8x8 grayscale model."""
  root = tmp_path_factory.mktemp("sampling")
  model = perturbed_model(num_classes=NUM_CLASSES, image_shape=(8, 8, 1),
                          **TINY)
  keras_path = root / "model.keras"
  model.save(keras_path)
  return model, str(keras_path), export_saved_model(model, str(root), "m")


@pytest.fixture(scope="module")
def unconditional_paths(tmp_path_factory):
  """(model, .keras path, .weights.h5 path, config.json path), RGB images."""
  root = tmp_path_factory.mktemp("unconditional")
  model = perturbed_model(num_classes=None, image_shape=(8, 8, 3), **TINY)
  model.save(root / "model.keras")
  model.save_weights(root / "best.weights.h5")
  (root / "config.json").write_text(json.dumps(model.get_config()))
  return (model, str(root / "model.keras"), str(root / "best.weights.h5"),
          str(root / "config.json"))


def run_sample(capsys, *args):
  """`tfp-realnvp sample ...`: (exit status, JSON summary or None, stderr)."""
  status = cli.main(["sample", *map(str, args)])
  captured = capsys.readouterr()
  summary = json.loads(captured.out) if status == 0 else None
  return status, summary, captured.err


def png(path):
  return np.asarray(Image.open(path))


def test_a_keras_file_and_its_saved_model_draw_the_same_samples(
    conditional_paths):
  model, keras_path, saved_model = conditional_paths
  from_keras = loading.load(keras_path)
  from_saved_model = loading.load(saved_model)
  # The SavedModel records no config: shape and classes come from the graph.
  assert from_saved_model.image_shape == model.image_shape
  assert from_saved_model.conditional
  assert from_saved_model.num_classes == NUM_CLASSES
  grids = [sampling.draw_sample_grid(sampler, [0.5, 1.0], seed=7)
           for sampler in (from_keras, from_saved_model)]
  # Eager Keras and the SavedModel's graph round differently: measured
  # 6e-5 pixel levels at most, well below the 1.0 of a gray level.
  np.testing.assert_allclose(grids[1].tiles, grids[0].tiles, rtol=0,
                             atol=1e-3)
  assert grids[0].tiles.std() > 10  # Real samples, not a constant.
  other_seed = sampling.draw_sample_grid(from_saved_model, [0.5, 1.0], seed=8)
  assert np.abs(other_seed.tiles - grids[1].tiles).max() > 10


def test_the_same_seed_writes_the_same_png(conditional_paths, tmp_path,
                                           capsys):
  _, keras_path, saved_model = conditional_paths
  outputs = {}
  for name, model_path, seed in [("keras", keras_path, 3),
                                 ("keras_again", keras_path, 3),
                                 ("saved", saved_model, 3)]:
    outputs[name] = tmp_path / f"{name}.png"
    status, _, error = run_sample(capsys, model_path, "--output",
                                  outputs[name], "--seed", seed,
                                  "--temperature", "0.6", "1.0")
    assert status == 0, error
  assert outputs["keras"].read_bytes() == outputs["keras_again"].read_bytes()
  saved_model_sampler = loading.load(saved_model)
  again = tmp_path / "saved_again.png"
  sampling.write_sample_grid(saved_model_sampler, again, [0.6, 1.0], seed=3)
  assert again.read_bytes() == outputs["saved"].read_bytes()
  # float32 rounding may move a pixel across a gray-level boundary.
  difference = np.abs(png(outputs["saved"]).astype(int)
                      - png(outputs["keras"]).astype(int))
  assert difference.max() <= 1 and np.mean(difference > 0) < 1e-3


def test_without_a_seed_the_saved_model_samples_through_its_signature(
    conditional_paths):
  _, _, saved_model = conditional_paths
  sampler = loading.load(saved_model)
  labels = np.array([0, 2, 1], np.int64)
  first, second = (sampler.sample(np.full(3, 0.7, np.float32), labels, None)
                   for _ in range(2))
  assert first.shape == (3, 8, 8, 1) and first.dtype == np.float32
  assert 0 <= first.min() and first.max() < 256
  assert np.abs(first - second).max() > 10  # Unseeded: fresh draws.


def test_blocks_of_rows_per_temperature_share_their_latents(
    unconditional_paths):
  model, keras_path, _, _ = unconditional_paths
  grid = sampling.draw_sample_grid(loading.load(keras_path),
                                   [0.2, 0.4], num_samples=5, num_columns=3,
                                   seed=11)
  assert grid.tiles.shape == (12, 8, 8, 3) and grid.num_rows == 4
  assert grid.samples_per_temperature == 5 and grid.labels is None
  # Each block: 5 samples, then a gray filler tile to complete its 2 rows.
  for filler in (5, 11):
    np.testing.assert_array_equal(grid.tiles[filler], GRAY)
  cold, warm = grid.tiles[:5], grid.tiles[6:11]
  assert 0 < cold.min() and cold.max() < 255.99  # Nothing clipped.
  assert 0 < warm.min() and warm.max() < 255.99
  # The same latents z at both temperatures: encode(x_T) = T z.
  np.testing.assert_allclose(model.encode(cold).numpy() / 0.2,
                             model.encode(warm).numpy() / 0.4, atol=2e-3)
  assert grid.image().shape == (4 * 9 + 1, 3 * 9 + 1, 3)


def test_a_checkpoint_with_its_config_samples_like_the_keras_file(
    unconditional_paths, tmp_path, capsys):
  _, keras_path, weights_path, config_path = unconditional_paths
  status, summary, _ = run_sample(capsys, keras_path, "--output",
                                  tmp_path / "a.png", "--num-samples", 6)
  assert status == 0
  # One temperature: 6 samples in rows of 8 (the unconditional default).
  assert (summary["rows"], summary["columns"]) == (1, 8)
  image = png(tmp_path / "a.png")
  assert list(image.shape) == summary["image_size"] + [3]
  assert image.shape == (2 * (1 * 9 + 1), 2 * (8 * 9 + 1), 3)
  status, _, _ = run_sample(capsys, weights_path, "--config", config_path,
                            "--output", tmp_path / "sub" / "b.png",
                            "--num-samples", 6)
  assert status == 0
  np.testing.assert_array_equal(png(tmp_path / "sub" / "b.png"), image)


def test_a_conditional_model_gets_a_row_per_class_by_default(
    conditional_paths, tmp_path, capsys):
  _, _, saved_model = conditional_paths
  status, summary, _ = run_sample(capsys, saved_model, "--output",
                                  tmp_path / "classes.png")
  assert status == 0
  assert (summary["rows"], summary["columns"]) == (NUM_CLASSES, 10)
  assert png(tmp_path / "classes.png").shape == (2 * (3 * 9 + 1),
                                                 2 * (10 * 9 + 1))
  sampler = loading.load(saved_model)
  grid = sampling.draw_sample_grid(sampler)
  assert grid.labels == np.repeat(np.arange(NUM_CLASSES), 10).tolist()
  # The same latents all labelled 0: the first row agrees, the others not.
  all_zeros = sampler.sample(np.full(30, 0.8, np.float32),
                             np.zeros(30, np.int64), 0)
  np.testing.assert_array_equal(all_zeros[:10], grid.tiles[:10])
  for row in (1, 2):
    assert np.abs(all_zeros[10 * row:10 * row + 10]
                  - grid.tiles[10 * row:10 * row + 10]).max() > 10
  status, summary, _ = run_sample(capsys, saved_model, "--output",
                                  tmp_path / "chosen.png", "--labels", 2, 0,
                                  "--num-columns", 1)
  assert status == 0
  assert (summary["rows"], summary["columns"]) == (2, 1)


@pytest.mark.parametrize("model_kind, flags, message", [
    ("unconditional", ["--labels", "1"], "unconditional: it takes no labels"),
    ("conditional", ["--labels", "0", "3"], r"labels must lie in \[0, 3\)"),
    ("saved_model", ["--labels", "-1"], r"labels must lie in \[0, 3\)"),
    ("conditional", ["--num-samples", "4"], "class-conditional: it needs one "
                                            "label per sample"),
    ("conditional", ["--temperature", "0.5", "0"],
     r"temperature must be finite and > 0.*got \[0.0\]"),
    ("unconditional", ["--temperature", "-1"], "temperature must be finite"),
    ("conditional", ["--num-columns", "0"], "num_columns must be an int >= 1"),
    ("unconditional", ["--num-samples", "0"],
     "num_samples must be an int >= 1"),
    ("missing", [], "No model file at"),
    ("directory", [], "without saved_model.pb"),
    ("checkpoint", [], "holds weights only"),
])
def test_bad_requests_are_clear_errors(conditional_paths, unconditional_paths,
                                       tmp_path, capsys, model_kind, flags,
                                       message):
  paths = {"conditional": conditional_paths[1],
           "saved_model": conditional_paths[2],
           "unconditional": unconditional_paths[1],
           "checkpoint": unconditional_paths[2],
           "missing": tmp_path / "missing.keras", "directory": tmp_path}
  output = tmp_path / "out.png"
  status, _, error = run_sample(capsys, paths[model_kind], "--output", output,
                                *flags)
  assert status == 2
  assert error.startswith("tfp-realnvp: error:")
  assert re.search(message, error), error
  assert not output.exists()


def test_labels_and_num_samples_exclude_each_other(conditional_paths, capsys):
  with pytest.raises(SystemExit) as exit_info:
    cli.main(["sample", conditional_paths[1], "--output", "x.png",
              "--labels", "1", "--num-samples", "2"])
  assert exit_info.value.code == 2
  assert "not allowed with argument" in capsys.readouterr().err
  sampler = loading.load(conditional_paths[1])
  with pytest.raises(ValueError, match="labels .* or num_samples, not both"):
    sampling.draw_sample_grid(sampler, labels=[1], num_samples=2)
  with pytest.raises(ValueError, match="labels must be ints"):
    sampling.draw_sample_grid(sampler, labels=[1.5])
  with pytest.raises(ValueError, match="one or more temperatures"):
    sampling.draw_sample_grid(sampler, temperatures=[])


# --- Batches, argument checks and the output path (issue 15). ---


def recording_decode(monkeypatch, owner):
  """Replaces `owner.decode` by a wrapper; returns the list of batch sizes it is called with."""
  sizes = []
  decode = owner.decode

  def recorded(latents, labels=None, condition=None):
    sizes.append(len(latents))
    return decode(latents, labels, condition)

  monkeypatch.setattr(owner, "decode", recorded)
  return sizes


@pytest.mark.parametrize("kind", ["keras", "saved_model"])
def test_the_flow_runs_in_batches_with_the_same_latents_for_any_batch_size(
    conditional_paths, monkeypatch, kind):
  _, keras_path, saved_model = conditional_paths
  sampler = loading.load(keras_path if kind == "keras" else saved_model)
  sizes = recording_decode(monkeypatch, sampler)
  # 3 classes x 4 columns = 12 samples per temperature.
  small = sampling.draw_sample_grid(sampler, [0.5, 1.0], num_columns=4,
                                    seed=6, batch_size=5)
  assert sizes == [5, 5, 2] * 2
  sizes.clear()
  large = sampling.draw_sample_grid(sampler, [0.5, 1.0], num_columns=4,
                                    seed=6, batch_size=1000)
  assert sizes == [12] * 2
  np.testing.assert_array_equal(small.tiles, large.tiles)
  assert small.tiles.std() > 10  # Real samples, not a constant.


def test_fresh_samples_run_in_batches_too_and_progress_is_shown(
    unconditional_paths, monkeypatch, capsys):
  _, keras_path, _, _ = unconditional_paths
  sampler = loading.load(keras_path)
  sizes = recording_decode(monkeypatch, sampler.keras_model)
  images = sampler.sample(np.full(7, 0.7, np.float32), seed=None,
                          batch_size=3)
  assert sizes == [3, 3, 1] and images.shape == (7, 8, 8, 3)
  sampling.draw_sample_grid(sampler, [0.5, 1.0], num_samples=4, seed=1,
                            batch_size=3)
  assert capsys.readouterr().out == ""  # verbose=0 by default.
  sampling.draw_sample_grid(sampler, [0.5, 1.0], num_samples=4, seed=1,
                            batch_size=3, verbose=1)
  assert "8/8" in capsys.readouterr().out


@pytest.mark.parametrize("arguments, message", [
    pytest.param({"num_samples": True},
                 r"num_samples must be an int >= 1; got True\.", id="bool"),
    pytest.param({"seed": 1.5},
                 r"seed must be an int .* or None .*; got 1\.5\.",
                 id="float seed"),
    pytest.param({"temperatures": "hot"},
                 r"temperature must be a float > 0 .*; got 'hot'\.",
                 id="string temperature"),
    pytest.param({"temperatures": [0.5, "hot"]},
                 r"temperature must be a float > 0 .*; got \[0\.5, 'hot'\]\.",
                 id="string among temperatures"),
    pytest.param({"temperatures": True},
                 r"temperature must be a float > 0 .*; got True\.",
                 id="bool temperature"),
    pytest.param({"batch_size": 0}, r"batch_size must be an int >= 1; got 0\.",
                 id="batch size 0"),
    pytest.param({"batch_size": 2.5},
                 r"batch_size must be an int >= 1; got 2\.5\.",
                 id="float batch size"),
])
def test_sample_grid_arguments_of_the_wrong_kind_are_refused(
    unconditional_paths, arguments, message):
  sampler = loading.load(unconditional_paths[1])
  with pytest.raises(ValueError, match=message):
    sampling.draw_sample_grid(sampler, **arguments)


def test_trained_models_and_keras_models_check_their_sampling_arguments(
    unconditional_paths):
  model, keras_path, _, _ = unconditional_paths
  sampler = loading.load(keras_path)
  temperature = np.full(2, 0.7, np.float32)
  with pytest.raises(ValueError, match=r"seed must be an int .*; got 1\.5\."):
    sampler.sample(temperature, seed=1.5)
  with pytest.raises(ValueError, match=r"temperature must be a float > 0 "
                     r".*; got 'hot'\."):
    sampler.sample("hot")
  with pytest.raises(ValueError, match=r"batch_size must be an int >= 1; "
                     r"got 0\."):
    sampler.sample(temperature, batch_size=0)
  with pytest.raises(ValueError, match=r"labels must have shape \[2\], one "
                     r"per temperature; got shape \[3\]"):
    sampler.sample(temperature, labels=[0, 1, 2])
  for count in (2.7, "3", True, 0):
    with pytest.raises(ValueError, match=re.escape(
        f"num_samples must be an int >= 1; got {count!r}.")):
      model.sample(count)
  with pytest.raises(ValueError, match=r"seed must be an int .*; got 1\.5\."):
    model.sample(2, seed=1.5)
  for temperature in ("hot", [0.5, "hot"], True):
    with pytest.raises(ValueError, match=re.escape(
        f"temperature must be a float > 0 or a sequence of floats > 0 (the "
        f"latents' standard deviation); got {temperature!r}.")):
      model.sample(2, temperature=temperature)
  # numpy ints are ints.
  assert model.sample(np.int64(2), seed=np.int32(3)).shape == (2, 8, 8, 3)


def test_the_output_must_be_a_png_path_and_nothing_else_is_replaced(
    unconditional_paths, tmp_path, monkeypatch):
  _, keras_path, _, _ = unconditional_paths
  sampler = loading.load(keras_path)
  sizes = recording_decode(monkeypatch, sampler)
  model_file = tmp_path / "model.keras"
  model_file.write_bytes(Path(keras_path).read_bytes())
  with pytest.raises(ValueError, match=re.escape(
      f"its path must end in .png; got {str(model_file)!r}.")):
    sampling.write_sample_grid(sampler, model_file)
  assert model_file.read_bytes() == Path(keras_path).read_bytes()
  (tmp_path / "grid.png").mkdir()
  with pytest.raises(ValueError, match=re.escape(
      f"{str(tmp_path / 'grid.png')!r} is a directory")):
    sampling.write_sample_grid(sampler, tmp_path / "grid.png")
  assert sizes == []  # Refused before sampling.
  summary = sampling.write_sample_grid(sampler, tmp_path / "GRID.PNG",
                                       num_samples=1)
  assert png(tmp_path / "GRID.PNG").shape[:2] == tuple(summary["image_size"])
