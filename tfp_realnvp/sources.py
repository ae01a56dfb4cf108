"""Your own images: a folder, an array file or any tensorflow-datasets image data set, as (image uint8 [H, W, C], label int64) examples.

A source is named by one string, as `--dataset` takes it:

- a directory of images (PNG, JPEG, BMP, GIF: its first frame), decoded by
  TensorFlow (`tf.io.decode_image`). Class subfolders become integer
  labels in the order of their sorted names (`class_names`); a folder of
  images without subfolders is unlabelled (label 0).
- an array file: `.npz` with an `images` array [N, H, W, C] or [N, H, W]
  of integers in 0..255 (and optionally `labels` [N], integers >= 0, and
  `class_names` [K]), or a `.npy` of images.
- `tfds:NAME`, any tensorflow-datasets builder with an image feature (e.g.
  `tfds:svhn_cropped`); its `label` feature, if a class label, gives the
  classes.

`ImageOptions` resizes (`image_size`, after a `crop` to its aspect ratio),
converts channels, splits off validation images and caches. Folders and
array files are split once, by `split_indices`: a fixed, seeded,
stratified `validation_fraction` of each class is held out and never
trained on. A TFDS set keeps its own splits ("validation" for `fit`'s
validation where it has one, "test" for the final figure); one with only
"train" holds out its first `validation_fraction` by TFDS slicing
("train[:10%]"), fixed but not stratified. Folders and array files are read completely before training,
so that any bad file is named before anything is written.

Not in the paper: the paper trains on its five named data sets only
(`tfp_realnvp.data`).
"""

import dataclasses
import functools
import hashlib
import math
import os

import keras
import numpy as np
import tensorflow as tf

#: Prefix of a tensorflow-datasets source (followed by the builder name).
TFDS_PREFIX = "tfds:"
#: File name endings read as images in a folder (case-insensitive).
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
#: File name endings of array sources.
ARRAY_EXTENSIONS = (".npz", ".npy")
#: `ImageOptions.crop` values.
CROPS = ("none", "center")
#: `ImageOptions.channels` values (0 keeps the images' own channels).
CHANNELS = (0, 1, 3)
#: Seed of the fixed validation split (`split_indices`), the same for every run.
SPLIT_SEED = 0
#: Files from which reading a folder shows a progress bar.
PROGRESS_BAR_FILES = 500
#: Split names of a source without its own (`split_indices`).
TRAIN_SPLIT, VALIDATION_SPLIT = "train", "validation"


class DataSourceError(ValueError):
  """A source's files or arrays cannot be used; the message names the file or value and the way out."""


class DatasetUnavailableError(RuntimeError):
  """A tensorflow-datasets data set is neither prepared in data_dir nor downloadable."""


@dataclasses.dataclass(frozen=True)
class ImageOptions:
  """How a source's images become the model's: size, channels, split, cache.

  Attributes:
    image_size: () to keep the images' size (then all must have one), or
      (H, W) in pixels to resize to (bilinear with antialiasing, rounded to
      integers).
    crop: "none", or "center": first crop each image to the aspect ratio of
      `image_size` around its center.
    channels: 0 keeps the images' channels (then all must have the same
      count), 1 converts to grayscale (ITU-R 601 luma), 3 to RGB. An alpha
      channel is dropped.
    validation_fraction: float in (0, 1): the fraction of each class held
      out for validation when the source has no validation split.
    cache_dir: "" keeps the decoded images of a folder in memory; else a
      directory where tf.data caches them on disk (folders larger than
      memory).
    skip_unreadable: whether a folder's unreadable image files are skipped
      (and counted) rather than an error.

  Raises:
    ValueError: for a value outside the ranges above.
  """
  image_size: tuple = ()
  crop: str = "none"
  channels: int = 0
  validation_fraction: float = 0.1
  cache_dir: str = ""
  skip_unreadable: bool = False

  def __post_init__(self):
    object.__setattr__(self, "image_size", tuple(self.image_size))
    if self.image_size and (len(self.image_size) != 2 or
                            min(self.image_size) < 1):
      raise ValueError(f"image_size must be two positive ints (H W); got "
                       f"{self.image_size}.")
    if self.crop not in CROPS:
      raise ValueError(f"crop must be one of {CROPS}; got {self.crop!r}.")
    if self.crop != "none" and not self.image_size:
      raise ValueError("crop needs image_size (the aspect ratio to crop to).")
    if self.channels not in CHANNELS:
      raise ValueError(f"channels must be one of {CHANNELS} (0 keeps the "
                       f"images' own); got {self.channels}.")
    if not 0.0 < self.validation_fraction < 1.0:
      raise ValueError(f"validation_fraction must be in (0, 1); got "
                       f"{self.validation_fraction}.")


def is_source(name):
  """Whether `name` names a folder, an array file or a `tfds:` data set (not one of the named sets).

  Args:
    name: a `--dataset` string.

  Returns:
    bool: True for "tfds:..." and names ending in .npz or .npy (existing or
    not: reading names a missing file), and for existing directories.
  """
  return (name.startswith(TFDS_PREFIX) or name.lower().endswith(
      ARRAY_EXTENSIONS) or tf.io.gfile.isdir(name))


@dataclasses.dataclass(frozen=True)
class Source:
  """A user's data set, with what `tfp_realnvp.data.DatasetSpec` says of the named ones.

  Attributes:
    name: the source string.
    image_shape: (H, W, C) of its examples.
    num_classes: number of classes, or None (unlabelled: labels are 0).
    class_names: tuple of str, the name of each class (folder names), or ().
    num_train_examples: size of its "train" split.
    splits: its split names.
    eval_split, validation_split: the held-out split, and the one `fit`
      validates on (None: `eval_split`).
    cache: whether pipelines cache the examples in memory.
    skipped_files: unreadable files skipped (`skip_unreadable`).
    loader: function (split, data_dir, download) -> the split's unbatched
      `tf.data.Dataset` (`load`).
    random_flip: False (users' images need not be symmetric).
    center_crop: None (cropping is `ImageOptions.crop`).
    tfds_name: None (`loader` reads a `tfds:` set).
  """
  name: str
  image_shape: tuple
  num_classes: int | None
  class_names: tuple
  num_train_examples: int
  splits: tuple
  eval_split: str
  validation_split: str | None
  cache: bool
  skipped_files: int
  loader: object = dataclasses.field(repr=False, compare=False)
  random_flip: bool = False
  center_crop: int | None = None
  tfds_name: str | None = None

  @property
  def fit_validation_split(self):
    """The split `fit` validates on."""
    return self.validation_split or self.eval_split

  def load(self, split, data_dir=None, download=True):
    """The unbatched tf.data.Dataset of (image uint8 `image_shape`, label int64) of `split`.

    Args:
      split: one of `splits`.
      data_dir, download: for `tfds:` sets, as `tfp_realnvp.data.load`.

    Returns:
      `tf.data.Dataset` of (image uint8 [H, W, C], label int64 scalar).

    Raises:
      ValueError: for a split the source does not have.
      DatasetUnavailableError: a `tfds:` set that cannot be loaded.
    """
    return self.loader(split, data_dir, download)


def describe(name, options=ImageOptions(), data_dir=None, download=True):
  """The `Source` of `name`: a folder, an array file or `tfds:NAME`, read and checked.

  Folders and array files are read once per process and options (every
  image decoded and checked); `tfds:` sets read their builder's metadata.

  Args:
    name: the source string (see the module docstring).
    options: `ImageOptions`.
    data_dir, download: for `tfds:` sets, as `tfp_realnvp.data.load`.

  Returns:
    A `Source`.

  Raises:
    DataSourceError (a ValueError): a missing path, an empty folder or one
      without readable images, an unreadable image (named; unless
      `skip_unreadable`), images of different sizes without `image_size` or
      of mixed channels without `channels`, a class with too few images for
      the split, an array file without `images`, labels of the wrong length
      or not integers >= 0, pixel values outside 0..255 or not integers.
    DatasetUnavailableError: a `tfds:` set that is neither prepared in
      `data_dir` nor downloadable.
  """
  if name.startswith(TFDS_PREFIX):
    return _describe_tfds(name, options, data_dir or None, download)
  return _describe_files(name, options)


# --- Folders and array files: read into memory (or a file cache), split. ---


@functools.lru_cache(maxsize=4)
def _describe_files(name, options):
  if name.lower().endswith(ARRAY_EXTENSIONS):
    images, labels, class_names = _read_array_file(name)
    images = _convert_images(images, options, name)
    files, skipped, image_shape = None, 0, tuple(images.shape[1:])
  else:
    files, labels, class_names = _list_folder(name)
    images, image_shape, labels, skipped, files = _read_folder(
        files, labels, options, name)
  train, validation = split_indices(labels, options.validation_fraction,
                                    class_names, name)
  num_classes = len(class_names) or None

  def load(split, data_dir, download):
    del data_dir, download
    if split not in (TRAIN_SPLIT, VALIDATION_SPLIT):
      raise ValueError(f"{name!r} has splits {(TRAIN_SPLIT, VALIDATION_SPLIT)}"
                       f"; got {split!r}.")
    keep = train if split == TRAIN_SPLIT else validation
    if images is None:  # Decoded again from the files, cached on disk.
      tf.io.gfile.makedirs(options.cache_dir)
      return _file_dataset([files[i] for i in keep], labels[keep], options,
                           image_shape).cache(
                               os.path.join(options.cache_dir,
                                            f"{fingerprint}_{split}"))
    return tf.data.Dataset.from_tensor_slices((images[keep], labels[keep]))

  if images is None:
    fingerprint = _cache_fingerprint(files, options)
  return Source(name=name, image_shape=image_shape, num_classes=num_classes,
                class_names=class_names, num_train_examples=len(train),
                splits=(TRAIN_SPLIT, VALIDATION_SPLIT),
                eval_split=VALIDATION_SPLIT, validation_split=None,
                cache=False, skipped_files=skipped, loader=load)


def _cache_fingerprint(files, options):
  """A name for the disk cache of these files (where they are, their sizes and times) with these options.

  Other files or options get their own: tf.data would serve a stale cache
  silently.
  """
  stats = [(os.path.abspath(path), tf.io.gfile.stat(path)) for path in files]
  return hashlib.sha1(repr((
      [(path, stat.length, stat.mtime_nsec) for path, stat in stats],
      options)).encode()).hexdigest()[:16]


def split_indices(labels, fraction, class_names=(), name=""):
  """A fixed, seeded, stratified split: indices of the training and the validation examples.

  Within each class, a permutation seeded by `SPLIT_SEED` holds out
  max(1, round(fraction * n)) of its n examples.

  Args:
    labels: int64 [N] class labels (all 0 for an unlabelled source).
    fraction: float in (0, 1), the held-out fraction.
    class_names: the classes' names, for messages.
    name: the source, for messages.

  Returns:
    (train, validation): sorted int arrays of indices into `labels`.

  Raises:
    DataSourceError: a class with fewer than 2 examples (one to train on,
      one to hold out).
  """
  rng = np.random.default_rng(SPLIT_SEED)
  train, validation = [], []
  for label in np.unique(labels):
    members = np.flatnonzero(labels == label)
    held_out = max(1, round(fraction * len(members)))
    if len(members) - held_out < 1:
      what = (f"class {class_names[label]!r}" if class_names else
              "the data set")
      raise DataSourceError(
          f"{name}: {what} has {len(members)} image(s); the split needs at "
          f"least 2 per class (one held out for validation, the rest "
          f"trained on). Add images or remove the class.")
    members = rng.permutation(members)
    validation.append(members[:held_out])
    train.append(members[held_out:])
  return np.sort(np.concatenate(train)), np.sort(np.concatenate(validation))


def _read_array_file(path):
  """(images [N, H, W, C] uint8, labels int64 [N], class_names) of an .npz or .npy file."""
  if not tf.io.gfile.exists(path):
    raise DataSourceError(f"No such file: {path!r} (an .npz or .npy array "
                          f"file of images).")
  try:
    with tf.io.gfile.GFile(path, "rb") as file:
      loaded = np.load(file, allow_pickle=False)
      if isinstance(loaded, np.ndarray):
        arrays = {"images": loaded}
      else:
        arrays = {key: loaded[key] for key in loaded.files}
  except (ValueError, OSError, EOFError) as error:
    raise DataSourceError(f"{path} is not a readable .npz/.npy file: "
                          f"{error}.") from error
  if "images" not in arrays:
    raise DataSourceError(f"{path} has no 'images' array (it has "
                          f"{sorted(arrays)}); save the images with "
                          f"np.savez(path, images=..., labels=...).")
  images = _pixel_array(arrays["images"], f"{path}: images")
  labels, class_names = np.zeros(len(images), np.int64), ()
  if "labels" in arrays:
    labels = _label_array(arrays["labels"], len(images), f"{path}: labels")
    class_names = tuple(str(name) for name in arrays.get(
        "class_names", np.arange(labels.max() + 1)))
    if len(class_names) <= labels.max():
      raise DataSourceError(f"{path}: class_names has {len(class_names)} "
                            f"names but labels go up to {labels.max()}.")
  return images, labels, class_names


def _pixel_array(images, what):
  """`images` [N, H, W] or [N, H, W, C] of integer values in 0..255 as uint8 [N, H, W, C].

  Raises:
    DataSourceError: another rank, or values that are not integers in
      0..255 (the message says how to convert them).
  """
  images = np.asarray(images)
  if images.ndim == 3:
    images = images[..., np.newaxis]
  if images.ndim != 4 or images.shape[0] == 0:
    raise DataSourceError(f"{what} must be a non-empty array [N, H, W] or "
                          f"[N, H, W, C]; got shape {images.shape}.")
  if images.dtype == np.uint8:
    return images
  if not (np.issubdtype(images.dtype, np.integer) or
          np.issubdtype(images.dtype, np.floating)):
    raise DataSourceError(f"{what} must hold numbers; got dtype "
                          f"{images.dtype}.")
  low, high = float(np.min(images)), float(np.max(images))
  if np.issubdtype(images.dtype, np.floating) and (
      not np.isfinite(images).all() or
      not np.array_equal(images, np.round(images))):
    hint = (" (they look like [0, 1]: use np.round(images * 255)"
            ".astype(np.uint8))" if high <= 1.0 else
            " (round them: np.round(images).astype(np.uint8))")
    raise DataSourceError(f"{what}: pixel values must be integers in 0..255; "
                          f"got {images.dtype} values in [{low}, {high}] that "
                          f"are not integers{hint}.")
  if low < 0 or high > 255:
    raise DataSourceError(f"{what}: pixel values must be in 0..255; got "
                          f"values in [{low:g}, {high:g}] (rescale them to "
                          f"0..255 and convert with .astype(np.uint8)).")
  return images.astype(np.uint8)


def _label_array(labels, count, what):
  """`labels` [count] of integer values >= 0 as int64.

  Raises:
    DataSourceError: another length or rank, or values that are not
      integers >= 0.
  """
  labels = np.asarray(labels)
  if labels.shape != (count,):
    raise DataSourceError(f"{what} must have one label per image, shape "
                          f"({count},); got shape {labels.shape}.")
  numeric = (np.issubdtype(labels.dtype, np.integer) or
             np.issubdtype(labels.dtype, np.floating))
  if not numeric or not np.all(np.isfinite(labels)) or not np.array_equal(
      labels, np.round(labels)) or np.min(labels) < 0:
    raise DataSourceError(f"{what} must be integers >= 0 (class indices); "
                          f"got dtype {labels.dtype} with values like "
                          f"{labels[:3].tolist()}.")
  return labels.astype(np.int64)


def _list_folder(folder):
  """(files, labels int64, class_names): class subfolders, or a flat folder."""
  if not tf.io.gfile.isdir(folder):
    raise DataSourceError(f"No such folder: {folder!r}.")
  entries = _visible_entries(folder)
  subfolders = [entry for entry in entries
                if tf.io.gfile.isdir(os.path.join(folder, entry))]
  loose = _image_names(folder, entries)
  if subfolders and loose:
    raise DataSourceError(
        f"{folder} has both class subfolders ({', '.join(subfolders[:3])}"
        f"{', ...' if len(subfolders) > 3 else ''}) and images beside them "
        f"({loose[0]}{', ...' if len(loose) > 1 else ''}): move the images "
        f"into a class folder, or point --dataset at one folder of images.")
  if subfolders:
    files, labels = [], []
    for label, subfolder in enumerate(subfolders):
      path = os.path.join(folder, subfolder)
      names = _image_names(path, _visible_entries(path))
      if not names:
        raise DataSourceError(f"Class folder {path} has no image files "
                              f"({', '.join(IMAGE_EXTENSIONS)}); remove it "
                              f"or add images.")
      files += [os.path.join(path, name) for name in names]
      labels += [label] * len(names)
    return files, np.asarray(labels, np.int64), tuple(subfolders)
  if not loose:
    raise DataSourceError(f"{folder} has no image files "
                          f"({', '.join(IMAGE_EXTENSIONS)}) and no class "
                          f"subfolders.")
  return ([os.path.join(folder, name) for name in loose],
          np.zeros(len(loose), np.int64), ())


def _visible_entries(folder):
  """Sorted names in `folder` without hidden ones (".DS_Store", macOS "._x.jpg")."""
  return sorted(entry.rstrip("/") for entry in tf.io.gfile.listdir(folder)
                if not entry.startswith("."))


def _image_names(folder, entries):
  return [entry for entry in entries
          if entry.lower().endswith(IMAGE_EXTENSIONS) and
          not tf.io.gfile.isdir(os.path.join(folder, entry))]


def _read_folder(files, labels, options, folder):
  """Decodes and checks every file (a progress bar for large folders).

  Returns (images uint8 [N, H, W, C], or None with a disk cache; (H, W, C);
  labels; the number of skipped files; the files kept).
  """
  progress = (keras.utils.Progbar(len(files), unit_name="image")
              if len(files) >= PROGRESS_BAR_FILES else None)
  images, shapes, kept, skipped = [], [], [], 0
  for index, path in enumerate(files):
    try:
      image = _decode_file(path)
    except DataSourceError:
      if not options.skip_unreadable:
        raise
      skipped += 1
    else:
      image = _convert(image, options)
      shapes.append(tuple(image.shape))
      if not options.cache_dir:
        images.append(image.numpy())
      kept.append(index)
    if progress is not None:
      progress.update(index + 1)
  if not kept:
    raise DataSourceError(f"{folder} has no readable image ({len(files)} "
                          f"file(s), all unreadable).")
  if skipped:
    print(f"Skipped {skipped} unreadable image file(s) of {len(files)} in "
          f"{folder}.")
  files = [files[i] for i in kept]
  _check_same_shape(shapes, files)
  return (np.stack(images) if images else None, shapes[0], labels[kept],
          skipped, files)


def _decode_file(path):
  """The image in file `path` as uint8 [H, W, C] (GIF: its first frame).

  Raises:
    DataSourceError: the file cannot be read or decoded (named).
  """
  try:
    contents = tf.io.read_file(path)
    image = tf.io.decode_image(contents, expand_animations=False)
  except (tf.errors.OpError, ValueError) as error:
    raise DataSourceError(
        f"Cannot read the image file {path}: {_first_line(error)}. Remove or "
        f"replace it, or pass --skip-unreadable (skip_unreadable=True) to "
        f"skip such files.") from error
  return image  # uint8: decode_image reduces 16-bit PNGs to 8 bits.


def _convert(image, options):
  """`image` uint8 [H, W, C], C in 1..4, with `options`' channels, crop and size: one definition for files, arrays and tf.data (eager or traced).

  An alpha channel (C = 2 or 4) is dropped first; grayscale is ITU-R 601
  luma, rounded; resizing is bilinear with antialiasing, rounded to uint8.
  """
  image = tf.cond(tf.shape(image)[-1] >= 3, lambda: image[..., :3],
                  lambda: image[..., :1])
  if options.channels == 1:
    image = tf.cond(tf.shape(image)[-1] == 3, lambda: tf.saturate_cast(
        tf.round(tf.image.rgb_to_grayscale(tf.cast(image, tf.float32))),
        tf.uint8), lambda: image)
  elif options.channels == 3:
    image = tf.cond(tf.shape(image)[-1] == 1,
                    lambda: tf.image.grayscale_to_rgb(image), lambda: image)
  if options.image_size:
    if options.crop == "center":
      image = _center_crop_to_aspect_ratio(image, options.image_size)
    image = tf.saturate_cast(tf.round(tf.image.resize(
        image, options.image_size, method="bilinear", antialias=True)),
                             tf.uint8)
  return image


def _center_crop_to_aspect_ratio(image, size):
  height, width = tf.shape(image)[0], tf.shape(image)[1]
  target_height, target_width = size
  crop_height = tf.minimum(height, tf.cast(tf.round(
      tf.cast(width, tf.float32) * target_height / target_width), tf.int32))
  crop_width = tf.minimum(width, tf.cast(tf.round(
      tf.cast(height, tf.float32) * target_width / target_height), tf.int32))
  return tf.image.crop_to_bounding_box(
      image, (height - crop_height) // 2, (width - crop_width) // 2,
      crop_height, crop_width)


def _convert_images(images, options, what):
  """`_convert` over an array uint8 [N, H, W, C]; the same array when nothing changes."""
  if images.shape[-1] not in (1, 2, 3, 4):
    raise DataSourceError(f"{what}: images must have 1 (grayscale), 3 (RGB) "
                          f"or, with alpha, 2 or 4 channels; got shape "
                          f"{images.shape}.")
  if not options.image_size and images.shape[-1] in (1, 3) and (
      options.channels in (0, images.shape[-1])):
    return images
  return np.stack([_convert(tf.constant(image), options).numpy()
                   for image in images])


def _check_same_shape(shapes, files):
  first = shapes[0]
  for path, shape in zip(files, shapes):
    if shape[:2] != first[:2]:
      raise DataSourceError(
          f"Images of different sizes: {files[0]} is {first[0]}x{first[1]}, "
          f"{path} is {shape[0]}x{shape[1]}. Pass --image-size H W "
          f"(image_size=(H, W)) to resize them all.")
    if shape[2] != first[2]:
      raise DataSourceError(
          f"Images with different channels: {files[0]} has {first[2]}, "
          f"{path} has {shape[2]} (grayscale and RGB). Pass --channels 1 "
          f"or 3 (channels=) to convert them all.")


def _file_dataset(files, labels, options, image_shape):
  def decode(path, label):
    image = tf.io.decode_image(tf.io.read_file(path), expand_animations=False)
    image = tf.ensure_shape(image, [None, None, None])
    image = _convert(image, options)
    return tf.ensure_shape(image, image_shape), label

  return tf.data.Dataset.from_tensor_slices(
      (tf.constant(files), tf.constant(labels, tf.int64))).map(
          decode, num_parallel_calls=tf.data.AUTOTUNE)


def _first_line(error):
  text = getattr(error, "message", None) or str(error)
  return text.strip().splitlines()[0] if text.strip() else type(error).__name__


# --- tensorflow-datasets builders by name. ---


@functools.lru_cache(maxsize=4)
def _describe_tfds(name, options, data_dir, download):
  import tensorflow_datasets as tfds  # pylint: disable=import-outside-toplevel
  tfds_name = name[len(TFDS_PREFIX):]
  try:
    builder = tfds.builder(tfds_name, data_dir=data_dir)
    features = builder.info.features
  except Exception as error:  # pylint: disable=broad-except
    raise DatasetUnavailableError(
        f"Could not find the tensorflow-datasets builder {tfds_name!r}: "
        f"{_first_line(error)}.") from error
  image_key = next((key for key, feature in features.items()
                    if isinstance(feature, tfds.features.Image)), None)
  if image_key is None:
    raise DataSourceError(f"{name} has no image feature (features: "
                          f"{sorted(features)}).")
  label = features["label"] if "label" in features else None
  class_names = (tuple(label.names) if isinstance(
      label, tfds.features.ClassLabel) else ())
  height, width, channels = features[image_key].shape
  if options.image_size:
    height, width = options.image_size
  if options.channels:
    channels = options.channels
  elif channels in (2, 4):  # `_convert` drops the alpha channel.
    channels -= 1
  if None in (height, width):
    raise DataSourceError(f"{name}'s images have no fixed size; pass "
                          f"--image-size H W (image_size=).")
  if channels is None:
    raise DataSourceError(f"{name}'s images have no fixed number of "
                          f"channels; pass --channels 1 or 3 (channels=).")
  splits = tuple(builder.info.splits.keys())
  if not splits:  # Not prepared: prepare it, or say why it cannot be.
    try:
      if not download:
        raise FileNotFoundError(f"not prepared in {builder.data_dir}")
      builder.download_and_prepare()
    except Exception as error:  # TFDS raises many types for missing data.
      raise DatasetUnavailableError(
          f"The tensorflow-datasets data set {tfds_name!r} is not prepared "
          f"({_first_line(error)}). Prepare it where there is a network "
          f"connection and pass its directory with --data-dir.") from error
    # A builder whose preparation records no splits (tfds.testing's
    # mock_data): the common ones.
    splits = tuple(builder.info.splits.keys()) or ("train", "test")
  held_out = next((s for s in ("test", "validation") if s in splits), None)
  # fit validates on "validation" where there is one, so that "test" stays
  # unseen until the final figure.
  validation_split = "validation" if "validation" in splits else None
  if held_out is None:  # Only "train": TFDS slicing, fixed, not stratified.
    percent = max(1, round(100 * options.validation_fraction))
    split_of = {TRAIN_SPLIT: f"train[{percent}%:]",
                VALIDATION_SPLIT: f"train[:{percent}%]"}
    held_out = VALIDATION_SPLIT
  else:
    split_of = {s: s for s in splits}
  try:
    num_train = builder.info.splits[split_of[TRAIN_SPLIT]].num_examples
  except KeyError:  # No split metadata: count.
    num_train = int(tfds.load(tfds_name, split=split_of[TRAIN_SPLIT],
                              data_dir=data_dir).reduce(0, lambda n, _: n + 1))

  def load(split, data_dir_, download_):
    if split not in split_of:
      raise ValueError(f"{name!r} has splits {tuple(split_of)}; got "
                       f"{split!r}.")
    try:
      dataset = tfds.load(tfds_name, split=split_of[split],
                          data_dir=data_dir_ or data_dir,
                          download=download_ and download,
                          shuffle_files=False)
    except Exception as error:  # TFDS raises many types for missing data.
      raise DatasetUnavailableError(
          f"Could not load the tensorflow-datasets data set {tfds_name!r} "
          f"(split {split_of[split]!r}, data_dir={data_dir!r}): "
          f"{_first_line(error)}. Prepare it where there is a network "
          f"connection and pass its directory with --data-dir.") from error

    def preprocess(example):
      image = _convert(example[image_key], options)
      image = tf.ensure_shape(image, (height, width, channels))
      label_value = (tf.cast(example[label_key], tf.int64) if class_names
                     else tf.constant(0, tf.int64))
      return image, label_value

    return dataset.map(preprocess, num_parallel_calls=tf.data.AUTOTUNE)

  label_key = "label"
  return Source(name=name, image_shape=(height, width, channels),
                num_classes=len(class_names) or None, class_names=class_names,
                num_train_examples=int(num_train),
                splits=tuple(split_of), eval_split=held_out,
                validation_split=validation_split, cache=math.prod(
                    (height, width, channels, num_train)) < 2**30,
                skipped_files=0, loader=load)
