"""Your own images (tfp_realnvp.sources): folders, array files and tfds: sets through train, evaluate, sample and export; every bad input named."""

import json
from pathlib import Path

import numpy as np
import pytest
import tensorflow_datasets as tfds
from PIL import Image

import tfp_realnvp
from tfp_realnvp import cli
from tfp_realnvp import data
from tfp_realnvp import sources
from tfp_realnvp.sources import DataSourceError
from tfp_realnvp.sources import ImageOptions
from tfp_realnvp.training import TrainConfig
from tfp_realnvp.tuning import TuneConfig

HEIGHT, WIDTH = 20, 24
CLASSES = ("circles", "dots", "stripes")
TINY_FLAGS = ["--epochs", "1", "--steps-per-epoch", "2", "--batch-size", "4",
              "--num-scales", "2", "--num-coupling-layers", "1",
              "--num-res-blocks", "1", "--filters", "4", "--verbose", "0"]


def random_images(count, shape=(HEIGHT, WIDTH, 3), seed=0):
  rng = np.random.default_rng(seed)
  return rng.integers(0, 256, (count,) + shape).astype(np.uint8)


def write_images(folder, images, suffix=".png"):
  folder.mkdir(parents=True, exist_ok=True)
  for index, image in enumerate(images):
    Image.fromarray(image.squeeze(-1) if image.shape[-1] == 1 else image).save(
        folder / f"{index:03d}{suffix}")


@pytest.fixture(scope="module")
def class_folder(tmp_path_factory):
  """20x24 RGB PNGs in 3 class subfolders of 6 images each (JPEG in one)."""
  root = tmp_path_factory.mktemp("images") / "textures"
  for label, name in enumerate(CLASSES):
    write_images(root / name, random_images(6, seed=label),
                 suffix=".jpg" if name == "dots" else ".png")
  return root


def test_a_class_folder_is_read_labelled_and_split_by_class(class_folder):
  source = data.spec(str(class_folder))
  assert source.image_shape == (HEIGHT, WIDTH, 3)
  assert source.num_classes == 3 and source.class_names == CLASSES
  train = list(data.load(str(class_folder), "train").as_numpy_iterator())
  held_out = list(data.load(str(class_folder), "validation").as_numpy_iterator())
  # 10% of 6 rounds to 1 held out per class; the split is fixed.
  assert len(train) == 15 and len(held_out) == 3
  assert sorted(label for _, label in held_out) == [0, 1, 2]
  assert source.num_train_examples == 15
  pixels = {image.tobytes() for image, _ in train}
  assert not pixels & {image.tobytes() for image, _ in held_out}
  # PNGs are lossless: the pixels are the files' own.
  first = np.asarray(Image.open(class_folder / "circles" / "000.png"))
  assert any(np.array_equal(image, first) for image, _ in train + held_out)


def test_a_disk_cache_serves_the_same_examples_and_large_folders_show_progress(
    class_folder, tmp_path, monkeypatch, capsys):
  monkeypatch.setattr(sources, "PROGRESS_BAR_FILES", 10)
  options = ImageOptions(cache_dir=str(tmp_path / "cache"))
  cached = data.spec(str(class_folder), options)
  assert "18/18" in capsys.readouterr().out  # Keras's progress bar.
  assert cached.image_shape == (HEIGHT, WIDTH, 3) and not cached.cache
  in_memory = list(data.load(str(class_folder), "train").as_numpy_iterator())
  for _ in range(2):  # The first pass decodes and writes, the next reads.
    from_disk = list(data.load(str(class_folder), "train",
                               options=options).as_numpy_iterator())
    assert len(from_disk) == len(in_memory)
    for (image, label), (expected, expected_label) in zip(from_disk,
                                                          in_memory):
      np.testing.assert_array_equal(image, expected)
      assert label == expected_label
  assert any(path.name.endswith("_train.index")
             for path in (tmp_path / "cache").iterdir())


def test_tune_reads_a_folder_with_the_same_options(class_folder):
  config = TuneConfig(dataset=str(class_folder), image_size=(12, 16),
                      channels=1, batch_size=4, conditional=True)
  assert config.data_spec().image_shape == (12, 16, 1)
  assert config.num_classes() == 3
  images, labels = next(iter(config.fit_pipelines()[0]))
  assert images.shape == (4, 12, 16, 1) and labels.shape == (4,)


def test_a_folder_of_only_unreadable_files_is_named(tmp_path):
  (tmp_path / "junk").mkdir()
  for name in ("a.png", "b.jpg"):
    (tmp_path / "junk" / name).write_bytes(b"not an image")
  with pytest.raises(DataSourceError, match=r"junk has no readable image "
                     r"\(2 file\(s\), all unreadable\)"):
    data.spec(str(tmp_path / "junk"), ImageOptions(skip_unreadable=True))


def test_split_indices_is_stratified_and_fixed():
  labels = np.repeat(np.arange(3), [10, 20, 30])
  train, validation = sources.split_indices(labels, 0.1)
  assert np.bincount(labels[validation]).tolist() == [1, 2, 3]
  assert not set(train) & set(validation)
  assert len(train) + len(validation) == 60
  again = sources.split_indices(labels, 0.1)
  np.testing.assert_array_equal(again[1], validation)


def test_image_size_channels_and_center_crop(tmp_path):
  # A 40x60 image: left third black, middle white, right third black.
  image = np.zeros((40, 60, 3), np.uint8)
  image[:, 20:40] = 255
  write_images(tmp_path / "flat", [image] * 3)
  options = ImageOptions(image_size=(8, 8), crop="center", channels=1)
  source = data.spec(str(tmp_path / "flat"), options)
  assert source.image_shape == (8, 8, 1) and source.num_classes is None
  examples = list(data.load(str(tmp_path / "flat"), "train",
                            options=options).as_numpy_iterator())
  # The centered 40x40 window keeps 10 black columns each side of the 20
  # white ones: resized to 8 columns, 2 black, 4 white, 2 black.
  row = examples[0][0][4, :, 0]
  assert row[:2].max() < 40 and row[2:6].min() > 215 and row[6:].max() < 40
  assert examples[0][1] == 0


def test_gif_rgba_and_grayscale_files_become_one_shape(tmp_path):
  folder = tmp_path / "mixed"
  folder.mkdir()
  rgb = random_images(2)
  Image.fromarray(rgb[0]).save(folder / "a.gif")  # Palette: first frame.
  rgba = np.concatenate([rgb[1], np.full((HEIGHT, WIDTH, 1), 7, np.uint8)],
                        axis=-1)
  Image.fromarray(rgba).save(folder / "b.png")
  Image.fromarray(rgb[0][..., 0]).save(folder / "c.bmp")
  (folder / ".hidden.png").write_bytes(b"macOS resource fork")
  source = data.spec(str(folder), ImageOptions(channels=3))
  assert source.image_shape == (HEIGHT, WIDTH, 3)
  examples = list(data.load(str(folder), "train", options=ImageOptions(
      channels=3)).as_numpy_iterator()) + list(data.load(
          str(folder), "validation", options=ImageOptions(
              channels=3)).as_numpy_iterator())
  assert len(examples) == 3  # The hidden file is not an image of the set.
  # The RGBA PNG loses its alpha channel and keeps its colours exactly.
  assert any(np.array_equal(image, rgb[1]) for image, _ in examples)
  # The grayscale BMP becomes three equal channels.
  gray = [image for image, _ in examples
          if np.array_equal(image[..., 0], image[..., 1])]
  assert any(np.array_equal(image[..., 2], rgb[0][..., 0]) for image in gray)
  rgba_array = np.stack([rgba, rgba])
  np.savez(tmp_path / "rgba.npz", images=rgba_array)
  assert data.spec(str(tmp_path / "rgba.npz")).image_shape == (
      HEIGHT, WIDTH, 3)
  np.savez(tmp_path / "five.npz", images=np.zeros((2, 4, 4, 5), np.uint8))
  with pytest.raises(DataSourceError, match=r"1 \(grayscale\), 3 \(RGB\)"):
    data.spec(str(tmp_path / "five.npz"))


def test_array_files_and_their_labels(tmp_path):
  images = random_images(12, (HEIGHT, WIDTH))  # [N, H, W]: grayscale.
  labels = np.arange(12) % 2
  np.savez(tmp_path / "a.npz", images=images, labels=labels,
           class_names=np.array(["even", "odd"]))
  source = data.spec(str(tmp_path / "a.npz"))
  assert source.image_shape == (HEIGHT, WIDTH, 1)
  assert source.class_names == ("even", "odd")
  np.save(tmp_path / "b.npy", images.astype(np.float64))  # Integer-valued.
  assert data.spec(str(tmp_path / "b.npy")).num_classes is None
  assert data.short_name(str(tmp_path / "a.npz")) == "a"


@pytest.mark.parametrize("arrays, message", [
    ({"pixels": random_images(4)}, r"has no 'images' array \(it has "
     r"\['pixels'\]\)"),
    ({"images": random_images(4), "labels": np.arange(3)},
     r"labels must have one label per image, shape \(4,\); got shape \(3,\)"),
    ({"images": random_images(4), "labels": np.array([0, 1.5, 2, 0])},
     r"labels must be integers >= 0"),
    ({"images": random_images(4).astype(np.float32) / 255.0},
     r"pixel values must be integers in 0..255.*np.round\(images \* 255\)"),
    ({"images": random_images(4).astype(np.int32) + 1},
     r"pixel values must be in 0..255; got values in \[1, 256\]"),
])
def test_bad_array_files_are_named(tmp_path, arrays, message):
  path = tmp_path / "bad.npz"
  np.savez(path, **arrays)
  with pytest.raises(DataSourceError, match=message):
    data.spec(str(path))


def test_bad_folders_are_named(tmp_path):
  (tmp_path / "empty").mkdir()
  with pytest.raises(DataSourceError, match="has no image files"):
    data.spec(str(tmp_path / "empty"))
  with pytest.raises(ValueError, match="No such folder or file"):
    data.spec(str(tmp_path / "missing" / "folder"))

  write_images(tmp_path / "sizes", random_images(2))
  Image.fromarray(random_images(1, (HEIGHT + 1, WIDTH, 3))[0]).save(
      tmp_path / "sizes" / "z.png")
  with pytest.raises(DataSourceError, match=r"different sizes: .*000.png is "
                     r"20x24, .*z.png is 21x24.*--image-size"):
    data.spec(str(tmp_path / "sizes"))
  assert data.spec(str(tmp_path / "sizes"), ImageOptions(
      image_size=(HEIGHT, WIDTH))).image_shape == (HEIGHT, WIDTH, 3)

  write_images(tmp_path / "mixed", random_images(2))
  Image.fromarray(random_images(1, (HEIGHT, WIDTH))[0]).save(
      tmp_path / "mixed" / "gray.png")
  with pytest.raises(DataSourceError, match=r"different channels.*--channels"):
    data.spec(str(tmp_path / "mixed"))
  assert data.spec(str(tmp_path / "mixed"), ImageOptions(
      channels=3)).image_shape == (HEIGHT, WIDTH, 3)

  write_images(tmp_path / "broken", random_images(3))
  png = (tmp_path / "broken" / "001.png").read_bytes()
  (tmp_path / "broken" / "001.png").write_bytes(png[:len(png) // 2])
  (tmp_path / "broken" / "002.png").write_bytes(b"not an image")
  with pytest.raises(DataSourceError, match=r"Cannot read the image file "
                     r".*broken/001.png.*--skip-unreadable"):
    data.spec(str(tmp_path / "broken"))
  (tmp_path / "broken" / "003.png").write_bytes(
      (tmp_path / "broken" / "000.png").read_bytes())
  source = data.spec(str(tmp_path / "broken"),
                     ImageOptions(skip_unreadable=True))
  assert source.skipped_files == 2 and source.num_train_examples == 1

  write_images(tmp_path / "both" / "a", random_images(2))
  write_images(tmp_path / "both", random_images(1))
  with pytest.raises(DataSourceError, match=r"both class subfolders \(a\) "
                     r"and images beside them \(000.png\)"):
    data.spec(str(tmp_path / "both"))
  (tmp_path / "notes.txt").write_text("")
  with pytest.raises(ValueError, match=r"is not a folder, an .npz or an .npy"):
    data.spec(str(tmp_path / "notes.txt"))

  write_images(tmp_path / "few" / "a", random_images(4))
  write_images(tmp_path / "few" / "b", random_images(1))
  with pytest.raises(DataSourceError, match=r"class 'b' has 1 image\(s\); the "
                     r"split needs at least 2 per class"):
    data.spec(str(tmp_path / "few"))
  with pytest.raises(ValueError, match="keeps its published preprocessing"):
    data.spec("mnist_bundled", ImageOptions(channels=3))


def test_a_shape_that_does_not_allow_the_scales_names_the_sizes_that_do(
    tmp_path):
  write_images(tmp_path / "odd", random_images(3, (21, 24, 3)))
  config = TrainConfig(dataset=str(tmp_path / "odd"), batch_size=2)
  with pytest.raises(ValueError, match=r"21x24 allows num_scales <= 1; got "
                     r"3.*--image-size.*e.g. 20x24 allows 3"):
    tfp_realnvp.RealNVP(**config.model_kwargs())


def test_cli_trains_evaluates_samples_and_exports_a_class_folder(
    class_folder, tmp_path, capsys):
  output_dir, export_dir = tmp_path / "run", tmp_path / "saved_models"
  assert cli.main(["train", "--dataset", str(class_folder), "--conditional",
                   "--output-dir", str(output_dir), "--export-dir",
                   str(export_dir)] + TINY_FLAGS) == 0
  metrics = json.loads((output_dir / "metrics.json").read_text())
  assert metrics["class_names"] == list(CLASSES)
  assert 1.0 < metrics["test_bits_per_dim"] < 20.0
  info = json.loads((Path(metrics["saved_model"]) / "assets.extra" /
                     "tfp_realnvp.json").read_text())
  assert info["image_shape"] == [HEIGHT, WIDTH, 3] and info["num_classes"] == 3
  assert info["provenance"]["class_names"] == list(CLASSES)
  assert info["provenance"]["image_options"]["validation_fraction"] == 0.1
  assert Path(metrics["saved_model"]).parent.name == (
      "real_nvp_textures_conditional")
  # One row per class of 20x24 RGB tiles (1-pixel borders, enlarged twice).
  samples = np.asarray(Image.open(output_dir / "samples.png"))
  assert samples.shape == (2 * (3 * (HEIGHT + 1) + 1),
                           2 * (10 * (WIDTH + 1) + 1), 3)
  capsys.readouterr()
  assert cli.main(["evaluate", str(output_dir / "model.keras"), "--dataset",
                   str(class_folder), "--verbose", "0"]) == 0
  # The held-out images are the training run's: the same figure.
  scored = json.loads(capsys.readouterr().out)
  assert scored["split"] == "validation" and scored["num_images"] == 3
  assert cli.main(["evaluate", str(output_dir / "model.keras"), "--dataset",
                   str(class_folder), "--image-size", "8", "8",
                   "--verbose", "0"]) == 2
  assert "--image-size and --channels the model was trained with" in (
      capsys.readouterr().err)
  assert cli.main(["export", str(output_dir / "model.keras"), "--export-dir",
                   str(export_dir), "--name", "again"]) == 0


def test_cli_trains_an_unconditional_model_on_a_flat_folder_and_an_npz(
    tmp_path, capsys):
  write_images(tmp_path / "flat", random_images(10))
  np.savez(tmp_path / "arrays.npz", images=random_images(10),
           labels=np.arange(10) % 2)
  for source, conditional in ((tmp_path / "flat", []),
                              (tmp_path / "arrays.npz", ["--conditional"])):
    output_dir = tmp_path / f"run_{source.stem}"
    assert cli.main(["train", "--dataset", str(source), "--output-dir",
                     str(output_dir), "--export-dir", str(tmp_path / "sm")]
                    + conditional + TINY_FLAGS) == 0
    metrics = json.loads((output_dir / "metrics.json").read_text())
    assert metrics["class_names"] == (["0", "1"] if conditional else [])
    assert Path(metrics["saved_model"], "saved_model.pb").exists()
    assert (output_dir / "samples.png").exists()
  # A conditional model of an unlabelled folder is refused before training.
  assert cli.main(["train", "--dataset", str(tmp_path / "flat"),
                   "--conditional", "--output-dir", str(tmp_path / "no"),
                   "--export-dir", str(tmp_path / "sm")] + TINY_FLAGS) == 2
  assert "has no class labels" in capsys.readouterr().err
  assert not (tmp_path / "no" / "run.json").exists()


def test_a_bad_folder_fails_before_the_output_directory_changes(tmp_path,
                                                                capsys):
  write_images(tmp_path / "broken", random_images(3))
  (tmp_path / "broken" / "001.png").write_bytes(b"garbage")
  output_dir = tmp_path / "run"
  output_dir.mkdir()
  (output_dir / "notes.txt").write_text("mine")
  assert cli.main(["train", "--dataset", str(tmp_path / "broken"),
                   "--output-dir", str(output_dir), "--export-dir",
                   str(tmp_path / "sm")] + TINY_FLAGS) == 2
  error = capsys.readouterr().err
  assert "Cannot read the image file" in error and "001.png" in error
  assert "Traceback" not in error
  assert sorted(p.name for p in output_dir.iterdir()) == ["notes.txt"]
  assert not (tmp_path / "sm").exists()


def test_a_tfds_builder_by_name_with_mock_data(tmp_path):
  with tfds.testing.mock_data(num_examples=12):
    source = data.spec("tfds:svhn_cropped")
    assert source.image_shape == (32, 32, 3) and source.num_classes == 10
    assert source.eval_split == "test"
    train, validation = data.fit_pipelines("tfds:svhn_cropped", 4)
    images, labels = next(iter(train))
    assert images.shape == (4, 32, 32, 3) and images.dtype == np.uint8
    assert labels.numpy().max() < 10
    small = data.spec("tfds:svhn_cropped", ImageOptions(image_size=(16, 16),
                                                        channels=1))
    assert small.image_shape == (16, 16, 1)
    images, _ = next(iter(data.pipeline(
        "tfds:svhn_cropped", "test", 2, training=False,
        options=ImageOptions(image_size=(16, 16), channels=1))))
    assert images.shape == (2, 16, 16, 1)
    del validation
  assert data.short_name("tfds:svhn_cropped") == "tfds_svhn_cropped"
