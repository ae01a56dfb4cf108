"""What a training or tuning run is given (`RunConfig`) and the files it writes (`RunDirectory`).

A run directory (local or any TensorFlow filesystem) holds, for `train`:
run.json (the run's configuration, written first: the directory belongs to
it), config.json (the model's configuration), backup/ (Keras
`BackupAndRestore` state), checkpoints/best.weights.h5 with best.json,
history.csv, model.keras, samples.png, learning_curve.png, metrics.json
(written last) and tensorboard/.
"""

import csv
import dataclasses
import json
import math
import os
import re
import uuid

import tensorflow as tf

from tfp_realnvp import conditions
from tfp_realnvp import data
from tfp_realnvp import sources
from tfp_realnvp.config import ModelConfig
from tfp_realnvp.config import option
from tfp_realnvp.distribute import STRATEGIES

#: What a SavedModel name may hold (one directory name, so that the model
#: stays under its base directory).
MODEL_NAME_PATTERN = r"[A-Za-z0-9_.-]+"
#: The largest `verbose`, 3 (Keras's one line per epoch, and TensorFlow's
#: C++ start-up log from the `tfp-realnvp` script, `tfp_realnvp_console`).
MAX_VERBOSE = 3
#: The values `verbose` (and the command line's `--verbose`) accept.
VERBOSE_LEVELS = tuple(range(MAX_VERBOSE + 1))
_IMAGE_DEFAULTS = sources.ImageOptions()


def keras_verbosity(verbose):
  """Keras's verbosity (0, 1 or 2) of one of `VERBOSE_LEVELS` (3 is 2 plus TensorFlow's C++ log).

  Args:
    verbose: int in `VERBOSE_LEVELS`.

  Returns:
    int, 0, 1 or 2.
  """
  return min(verbose, 2)


@dataclasses.dataclass
class RunConfig:
  """What every job (`train`, `tune`) needs: data, batching, outputs, strategy.

  Attributes:
    dataset: data set name (`tfp_realnvp.data.DATASETS`), or a user's
      source: a folder of images, an .npz/.npy file or "tfds:NAME"
      (`tfp_realnvp.sources`).
    epochs: int >= 1, training epochs.
    batch_size: int >= 1, examples per batch (the global batch, split
      across the replicas of a distribution strategy).
    steps_per_epoch: int >= 0, optimizer steps per epoch (the training data
      then repeats); 0 for one pass over the training data.
    conditional: whether the model is class-conditional (the data set needs
      class labels).
    condition: "" or a condition task computed from every image
      (`tfp_realnvp.conditions.parse`: "downsampled:F", "masked:SPEC",
      "grayscale"); the model is then conditioned on it.
    output_dir: directory of the job's files (local or any TensorFlow
      filesystem).
    export_dir: base directory of SavedModels (`<export_dir>/<name>/<version>`).
    model_name: SavedModel name; "" for one derived from the data set.
    data_dir: directory of prepared tensorflow-datasets data; "" for
      TFDS's default.
    download: whether tensorflow-datasets may download missing data.
    image_size: () or (H, W), a user's source's
      `tfp_realnvp.sources.ImageOptions` field.
    crop: "none" or "center", as `ImageOptions`.
    channels: 0, 1 or 3, as `ImageOptions`.
    validation_fraction: float in (0, 1), as `ImageOptions`.
    cache: "" or a directory, `ImageOptions.cache_dir`.
    skip_unreadable: bool, as `ImageOptions`.
    strategy: distribution strategy, one of
      `tfp_realnvp.distribute.STRATEGIES`.
    seed: int seed of the initial weights, the dequantization noise
      (`keras.utils.set_random_seed`), the shuffle and flips of the training
      data, and the samples.
    verbose: 0 silent, 1 progress bar, 2 one line per epoch (Keras's
      verbosity); 3 is 2 plus, on the command line, TensorFlow's C++
      start-up log.

  Raises:
    ValueError: a model name that is not one directory name
      (`check_model_name`), non-positive epochs or batch size, a batch size
      above the data set's training images (no full batch), negative steps
      per epoch, an unknown data set or strategy, verbose outside [0, 3],
      bad image options, or a user's source that cannot be used (named:
      `tfp_realnvp.sources.DataSourceError`).
    tfp_realnvp.data.DatasetUnavailableError: a "tfds:" source that cannot
      be loaded.
  """
  dataset: str = option(data.BUNDLED_MNIST, f"a data set name "
                        f"({', '.join(data.DATASETS)}), a folder of images "
                        f"(class subfolders give labels), an .npz/.npy "
                        f"array file, or tfds:NAME")
  epochs: int = option(10, "training epochs")
  batch_size: int = option(64, "examples per batch")
  steps_per_epoch: int = option(0, "steps per epoch (0: one pass over the "
                                "data)")
  conditional: bool = option(False, "train a class-conditional model (a row "
                             "per class in samples.png)")
  condition: str = option("", "condition the model on a task computed from "
                          "every image: downsampled:F (super-resolution), "
                          "masked:center|top|bottom|left|right|ROW,COL,H,W "
                          "(inpainting) or grayscale (colorization)")
  output_dir: str = option("runs/latest", "directory for model.keras, "
                           "samples.png, metrics.json, tensorboard/",
                           identifies_run=False)
  export_dir: str = option("saved_models", "base directory of SavedModels "
                           "(<dir>/<name>/<version>)", identifies_run=False)
  model_name: str = option("", "SavedModel name (default: "
                           "real_nvp_<dataset>[_conditional])",
                           identifies_run=False)
  data_dir: str = option("", "directory of prepared tensorflow-datasets data",
                         identifies_run=False)
  download: bool = option(True, "let tensorflow-datasets download missing "
                          "data", identifies_run=False)
  image_size: tuple = option(
      _IMAGE_DEFAULTS.image_size, "resize your own images to H W pixels "
      "(default: keep their size, which must then be one)")
  crop: str = option(_IMAGE_DEFAULTS.crop, "center: first crop your images "
                     "to the aspect ratio of --image-size",
                     choices=sources.CROPS)
  channels: int = option(_IMAGE_DEFAULTS.channels, "1: convert your images "
                         "to grayscale, 3: to RGB (0: keep theirs, which "
                         "must then be one count)", choices=sources.CHANNELS)
  validation_fraction: float = option(
      _IMAGE_DEFAULTS.validation_fraction, "fraction of each class of your "
      "images held out for validation (fixed, seeded, stratified) when the "
      "source has no split of its own")
  cache: str = option(_IMAGE_DEFAULTS.cache_dir, "directory where a "
                      "folder's decoded images are cached on disk (default: "
                      "in memory)", identifies_run=False)
  skip_unreadable: bool = option(
      _IMAGE_DEFAULTS.skip_unreadable, "skip (and count) a folder's "
      "unreadable image files instead of stopping")
  strategy: str = option("auto", "distribution: auto (MirroredStrategy on >1 "
                         "GPU), default, mirrored, multi_worker (configured "
                         "by TF_CONFIG)", choices=STRATEGIES,
                         identifies_run=False)
  seed: int = option(0, "random seed")
  verbose: int = option(1, "0 silent, 1 progress bar, 2 one line per epoch, "
                        "3 also TensorFlow's C++ start-up log",
                        choices=VERBOSE_LEVELS, identifies_run=False)

  def __post_init__(self):
    for name in ("epochs", "batch_size"):
      if getattr(self, name) < 1:
        raise ValueError(f"{name} must be >= 1; got {getattr(self, name)}.")
    if self.steps_per_epoch < 0:
      raise ValueError(f"steps_per_epoch must be >= 0; got "
                       f"{self.steps_per_epoch}.")
    for field in dataclasses.fields(self):
      choices = field.metadata.get("choices")
      if choices is not None and getattr(self, field.name) not in choices:
        raise ValueError(f"{field.name} must be one of {choices}; got "
                         f"{getattr(self, field.name)!r}.")
    if self.model_name:
      check_model_name(self.model_name)
    self.condition_shape()  # Raises for a malformed or unfitting task.
    training_images = self.data_spec().num_train_examples
    if self.batch_size > training_images:
      # Training batches are full batches only (`data.make_pipeline`).
      raise ValueError(
          f"batch_size {self.batch_size} is larger than the "
          f"{training_images} training images of {self.dataset}: an epoch "
          f"would run no training step (training uses full batches only). "
          f"Use a batch size of at most {training_images}.")

  def identity(self):
    """What a run directory of this configuration belongs to (`RunDirectory.claim`).

    Returns:
      dict, JSON-serializable (nested configurations as dicts, tuples as
      lists): the fields declared with `identifies_run` (not where files
      live, how the computation runs, `overwrite`, or the step sizes a
      resumed run may lower).
    """
    return _jsonable({field.name: getattr(self, field.name)
                      for field in _identifying_fields(self)})

  @classmethod
  def default_identity(cls):
    """`identity()` of the fields' defaults: what a run recorded before a field existed used.

    Returns:
      dict as `identity`, of the identifying fields that have a default.
    """
    return _jsonable({
        field.name: (field.default_factory()
                     if field.default_factory is not dataclasses.MISSING
                     else field.default)
        for field in _identifying_fields(cls)
        if field.default is not dataclasses.MISSING
        or field.default_factory is not dataclasses.MISSING})

  @property
  def keras_verbose(self):
    """`verbose` as Keras's verbosity (0, 1 or 2, `keras_verbosity`)."""
    return keras_verbosity(self.verbose)

  def num_classes(self):
    """Classes of the model: the data set's when `conditional`, else None.

    Returns:
      int, or None.

    Raises:
      ValueError: `conditional` for a data set without class labels.
    """
    if not self.conditional:
      return None
    classes = self.data_spec().num_classes
    if classes is None:
      raise ValueError(f"{self.dataset!r} has no class labels; it cannot "
                       f"train a conditional model.")
    return classes

  def condition_task(self):
    """The condition task (`tfp_realnvp.conditions.parse`), or None without one.

    Returns:
      A `tfp_realnvp.conditions.ConditionTask`, or None.

    Raises:
      tfp_realnvp.conditions.ConditionError: a malformed `condition`.
    """
    return conditions.optional(self.condition)

  def condition_shape(self):
    """The model's `condition_shape`: the task's for the data set's image shape, or None.

    Returns:
      tuple (h, w, k), or None without a task.

    Raises:
      tfp_realnvp.conditions.ConditionError: a malformed task, or one that
        does not fit the images (a factor that does not divide H and W).
    """
    task = self.condition_task()
    if task is None:
      return None
    return task.condition_shape(self.data_spec().image_shape)

  def condition_suffix(self):
    """The part of a default model name that names the condition task.

    Returns:
      str: "" without a task, else "_" and the task's spec with characters
      other than letters, digits, "_", "-" and "." as "_" (e.g.
      "_downsampled_4").
    """
    task = self.condition_task()
    return "" if task is None else "_" + re.sub(r"[^A-Za-z0-9_.-]", "_",
                                                task.spec)

  def _with_condition(self, dataset):
    """`dataset` with the task's condition (dicts `tfp_realnvp.conditions.with_condition`), or as it is."""
    task = self.condition_task()
    if task is None:
      return dataset
    return conditions.with_condition(dataset, task, labels=self.conditional)

  def fit_pipelines(self):
    """(train, validation) pipelines of the run (`tfp_realnvp.data.fit_pipelines`).

    Returns:
      (train_data, validation_data) `tf.data.Dataset`s of (images uint8
      [B, H, W, C], labels int64 [B]); the training data repeats when
      `steps_per_epoch` is set.

    Raises:
      ValueError: an unknown data set or split.
      tfp_realnvp.data.DatasetUnavailableError: a TFDS data set that cannot
        be loaded.
    """
    return tuple(self._with_condition(pipeline) for pipeline in
                 data.fit_pipelines(self.dataset, self.batch_size, self.seed,
                                    self.steps_per_epoch, **self._load_args(),
                                    options=self.data_options()))

  def held_out_pipeline(self, validation_data):
    """The pipeline of the data set's `eval_split` (`tfp_realnvp.data.held_out_pipeline`).

    Args:
      validation_data: the validation pipeline of `fit_pipelines`, reused
        when it is the same split.

    Returns:
      `tf.data.Dataset` of (images uint8 [B, H, W, C], labels int64 [B]).

    Raises:
      ValueError: an unknown data set or split.
      tfp_realnvp.data.DatasetUnavailableError: a TFDS data set that cannot
        be loaded.
    """
    held_out = data.held_out_pipeline(
        self.dataset, self.batch_size, validation_data, **self._load_args(),
        options=self.data_options())
    if held_out is validation_data:  # It has its condition already.
      return held_out
    return self._with_condition(held_out)

  def data_options(self):
    """The `tfp_realnvp.sources.ImageOptions` of the image fields (the named sets take the defaults).

    Returns:
      `ImageOptions` (`image_options`).
    """
    return image_options(self)

  def data_spec(self):
    """`tfp_realnvp.data.spec` of the data set with these options: image shape, classes, splits.

    Returns:
      A `tfp_realnvp.data.DatasetSpec` or `tfp_realnvp.sources.Source`.

    Raises:
      ValueError: as `tfp_realnvp.data.spec`.
    """
    return data.spec(self.dataset, self.data_options(), **self._load_args())

  def _load_args(self):
    return dict(data_dir=self.data_dir or None, download=self.download)


#: The `RunConfig` fields that make a user's source's `ImageOptions`.
IMAGE_OPTION_FIELDS = ("image_size", "crop", "channels", "validation_fraction",
                       "cache", "skip_unreadable")


def image_options(values):
  """The `tfp_realnvp.sources.ImageOptions` of `IMAGE_OPTION_FIELDS` (`cache` is its `cache_dir`).

  Args:
    values: an object with those attributes: a `RunConfig`, or parsed
      command-line arguments.

  Returns:
    `ImageOptions`.

  Raises:
    ValueError: as `ImageOptions`.
  """
  return sources.ImageOptions(
      image_size=tuple(values.image_size), crop=values.crop,
      channels=values.channels,
      validation_fraction=values.validation_fraction,
      cache_dir=values.cache, skip_unreadable=values.skip_unreadable)


#: Version of the layout of run.json (`RunDirectory.claim`).
RUN_FORMAT = 1
#: The ways out of a run directory that belongs to another run, for messages.
_WAYS_OUT = ("choose a new --output-dir (output_dir), or pass --overwrite "
             "(overwrite=True) to delete that run and start over")


class RunDirectoryConflict(ValueError):
  """A run directory holds a run that the requested run must not replace or resume."""


@dataclasses.dataclass(frozen=True)
class RunDirectory:
  """The paths of a training run's files under `path` (nothing is created).

  A run directory belongs to one configuration, recorded in run.json when
  the run starts (`claim`): the same configuration resumes there, another
  one is refused.

  Attributes:
    path: the run directory (local or any TensorFlow filesystem).
  """
  path: str

  def file(self, name):
    """`<path>/<name>`.

    Args:
      name: a relative path inside the run directory.

    Returns:
      str.
    """
    return os.path.join(self.path, name)

  @property
  def run_json(self):
    """run.json, the configuration the directory belongs to (`RunConfig.identity`)."""
    return self.file("run.json")

  @property
  def config_json(self):
    """config.json, the model's `get_config()` (with a checkpoint, it rebuilds the model)."""
    return self.file("config.json")

  @property
  def backup(self):
    """backup/, Keras `BackupAndRestore` state (a killed run resumes from it)."""
    return self.file("backup")

  @property
  def checkpoints(self):
    """checkpoints/, the best weights and their record."""
    return self.file("checkpoints")

  @property
  def best_checkpoint(self):
    """checkpoints/best.weights.h5, the weights of the lowest val_bits_per_dim."""
    return os.path.join(self.checkpoints, "best.weights.h5")

  @property
  def best_record(self):
    """checkpoints/best.json, the epoch and val_bits_per_dim of `best_checkpoint` (a resumed run keeps it)."""
    return os.path.join(self.checkpoints, "best.json")

  @property
  def history_csv(self):
    """history.csv, one row of logs per epoch."""
    return self.file("history.csv")

  @property
  def tensorboard(self):
    """tensorboard/, the TensorBoard runs."""
    return self.file("tensorboard")

  @property
  def model_keras(self):
    """model.keras, the final model."""
    return self.file("model.keras")

  @property
  def samples_png(self):
    """samples.png, a grid of the final model's samples."""
    return self.file("samples.png")

  @property
  def conditions_png(self):
    """conditions.png, the grid of a model with a condition (per held-out image its condition, samples and the image)."""
    return self.file("conditions.png")

  @property
  def learning_curve_png(self):
    """learning_curve.png, bits/dim per epoch."""
    return self.file("learning_curve.png")

  @property
  def metrics_json(self):
    """metrics.json, the run's figures (written last, when the run has finished)."""
    return self.file("metrics.json")

  def outputs(self):
    """Every file and directory a run writes here, run.json first.

    Returns:
      tuple of str paths (not all need exist).
    """
    return (self.run_json, self.config_json, self.backup, self.checkpoints,
            self.history_csv, self.tensorboard, self.model_keras,
            self.samples_png, self.learning_curve_png, self.metrics_json)

  def has_backup(self):
    """Whether backup/ holds any file, the state a killed run resumes from.

    Returns:
      bool.
    """
    return (tf.io.gfile.isdir(self.backup) and
            bool(tf.io.gfile.listdir(self.backup)))

  def check_claim(self, identity, overwrite=False, defaults=None):
    """Raises unless `claim(identity, overwrite)` may take the directory; changes nothing.

    The directory is free when it holds none of `outputs()` (other files
    are left alone). It belongs to `identity` when its run.json records the
    same identity and its run has not finished (no metrics.json): the run
    then resumes (from backup/, or from its first epoch). With `overwrite`,
    any directory may be taken.

    Args:
      identity: `RunConfig.identity()` of the run to start or resume.
      overwrite: whether an earlier run's outputs may be deleted.
      defaults: `RunConfig.default_identity()` of its configuration class:
        the values of fields a run.json written before they existed lacks.

    Raises:
      RunDirectoryConflict (a ValueError): without `overwrite`, when the
        directory holds a run of another configuration (the message names
        each differing field and both values), a finished run (metrics.json)
        or the files of a run whose configuration is not recorded; the
        message names the ways out.
    """
    if overwrite:
      return
    if tf.io.gfile.exists(self.run_json):
      differences = _differences(
          _recorded_identity(self.run_json, defaults or {}), identity)
      if differences:
        raise RunDirectoryConflict(
            f"{self.path} holds a run of another configuration ("
            f"{'; '.join(differences)}). A run directory belongs to one "
            f"configuration: {_WAYS_OUT}.")
      if tf.io.gfile.exists(self.metrics_json):
        raise RunDirectoryConflict(
            f"{self.path} holds a finished run of this configuration "
            f"(metrics.json, model.keras); running it again would replace "
            f"its results: {_WAYS_OUT}.")
      return
    found = [os.path.basename(path) for path in self.outputs()
             if tf.io.gfile.exists(path)]
    if found:
      raise RunDirectoryConflict(
          f"{self.path} holds files of a run whose configuration is not "
          f"recorded (no run.json; found {', '.join(found)}): {_WAYS_OUT}.")

  def claim(self, identity, overwrite=False, defaults=None):
    """Makes the directory the run of `identity`'s (`check_claim` first): run.json records it.

    With `overwrite`, the outputs of any earlier run are deleted first.

    Args:
      identity: `RunConfig.identity()` of the run to start or resume.
      overwrite: whether to delete an earlier run's outputs.
      defaults: as `check_claim`.

    Raises:
      RunDirectoryConflict (a ValueError): as `check_claim`.
      OSError: run.json cannot be written.
    """
    self.check_claim(identity, overwrite, defaults)
    if overwrite:
      for path in self.outputs():
        remove_if_exists(path)
    if not tf.io.gfile.exists(self.run_json):
      write_json({"format": RUN_FORMAT, "config": identity}, self.run_json)

  def start_fresh(self):
    """Deletes what an unfinished attempt left that a run from its first epoch would mix with: history, TensorBoard logs, checkpoints."""
    for path in (self.history_csv, self.tensorboard, self.checkpoints):
      remove_if_exists(path)


def _identifying_fields(config):
  return [field for field in dataclasses.fields(config)
          if field.metadata.get("identifies_run", True)]


def _jsonable(fields):
  """`fields` as JSON gives them back: nested configurations as dicts, tuples as lists."""
  return json.loads(json.dumps({
      name: dataclasses.asdict(value) if dataclasses.is_dataclass(value)
      else value for name, value in fields.items()}))


def _recorded_identity(path, defaults):
  """The identity run.json records; fields added since it was written take their `defaults` (what that run used), renamed architecture fields today's names."""
  try:
    recorded = {**defaults, **read_json(path)["config"]}
  except (KeyError, TypeError) as error:
    raise RunDirectoryConflict(
        f"{path} is damaged (no configuration in it): {_WAYS_OUT}.") from error
  if isinstance(recorded.get("model"), dict):
    recorded["model"] = {**ModelConfig().to_dict(),
                         **ModelConfig.upgraded(recorded["model"])}
  return recorded


def _differences(recorded, identity, prefix=""):
  """'name: A in the run, B now' for every field whose values differ (nested fields as model.filters)."""
  found = []
  for name in sorted(set(recorded) | set(identity)):
    before, now = recorded.get(name), identity.get(name)
    if isinstance(before, dict) and isinstance(now, dict):
      found += _differences(before, now, f"{prefix}{name}.")
    elif before != now:
      found.append(f"{prefix}{name}: {before!r} in the run, {now!r} now")
  return found


def check_writable_directory(path, flag):
  """Creates `path` if needed and checks that a file can be written in it (a probe, then deleted).

  Args:
    path: a directory (local or any TensorFlow filesystem).
    flag: the option naming it in messages, e.g. "--output-dir".

  Raises:
    OSError: naming `flag`, `path` and the filesystem's reason (a file in the
      way, no permission, a read-only filesystem).
  """
  probe = os.path.join(path, f".write-check-{uuid.uuid4().hex}")
  try:
    tf.io.gfile.makedirs(path)
    with tf.io.gfile.GFile(probe, "w") as file:
      file.write("")
    tf.io.gfile.remove(probe)
  except (tf.errors.OpError, OSError) as error:
    raise OSError(f"Cannot write to {flag} {path!r}: "
                  f"{error_text(error)}") from error


def error_text(error):
  """An exception's own words: a TensorFlow error's message without the graph trace its str() carries.

  Args:
    error: an exception.

  Returns:
    str: `error.message` (`tf.errors.OpError`), else str(error), else the
    exception's type name (for one raised without a message).
  """
  return getattr(error, "message", "") or str(error) or type(error).__name__


def check_model_name(name):
  """Raises ValueError unless `name` is one directory name for `<base_dir>/<name>/`.

  Args:
    name: the model name (str): letters, digits, "_", "-" and ".", not "."
      or "..".

  Returns:
    `name`.

  Raises:
    ValueError: an empty name, a path (with "/" or "\\"), "." or "..", or
      another character.
  """
  if (not isinstance(name, str) or not re.fullmatch(MODEL_NAME_PATTERN, name)
      or name in (".", "..")):
    raise ValueError(f"name must be one directory name of letters, digits, "
                     f"'_', '-' and '.' (not '.' or '..'); got {name!r}.")
  return name


def read_history_csv(path):
  """Per-epoch logs from a `history.csv` (every epoch, also those of runs resumed from a backup).

  Args:
    path: a CSV file written by `tfp_realnvp.callbacks.HistoryCSVLogger`
      (Keras's `CSVLogger`), local or any TensorFlow filesystem.

  Returns:
    dict: column name -> list of floats, in epoch order (NaN where Keras
    wrote "NA", a value missing in that epoch); {} for a file without rows.
  """
  with tf.io.gfile.GFile(path) as file:
    rows = list(csv.DictReader(file))
  columns = rows[0].keys() if rows else ()
  return {column: [_as_float(row[column]) for row in rows]
          for column in columns}


def _as_float(text):
  try:
    return float(text)
  except (TypeError, ValueError):
    return float("nan")


def write_json(value, path):
  """Writes `value` as indented JSON to `path`, atomically (`write_text`).

  NaN and infinite floats become null: the file is strict JSON.

  Args:
    value: a JSON-serializable value (dicts, lists, numbers, strings).
    path: the file to write; its directory must exist.

  Raises:
    OSError: the file cannot be written (naming `path`).
  """
  write_text(json.dumps(_finite_or_none(value), indent=2, allow_nan=False),
             path)


def write_text(text, path):
  """Writes `text` to `path` atomically (local or any TensorFlow filesystem).

  The text goes to a temporary file beside `path`, renamed onto it, so a
  reader (or a killed writer) never leaves a half-written file.

  Args:
    text: str.
    path: the file to write; its directory must exist.

  Raises:
    OSError: the file cannot be written (naming `path`).
  """
  temporary = f"{path}.tmp-{uuid.uuid4().hex}"
  try:
    with tf.io.gfile.GFile(temporary, "w") as file:
      file.write(text)
    tf.io.gfile.rename(temporary, path, overwrite=True)
  except tf.errors.OpError as error:
    remove_if_exists(temporary)
    raise OSError(f"Cannot write {path}: {error.message}") from error


def _finite_or_none(value):
  if isinstance(value, dict):
    return {key: _finite_or_none(item) for key, item in value.items()}
  if isinstance(value, (list, tuple)):
    return [_finite_or_none(item) for item in value]
  if isinstance(value, float) and not math.isfinite(value):
    return None
  return value


def read_json(path):
  """The JSON value in the file at `path` (local or any TensorFlow filesystem).

  Args:
    path: the file to read.

  Returns:
    The decoded value.

  Raises:
    OSError: no file at `path`, or it cannot be read (naming `path`).
    ValueError: the file is not JSON (naming `path` and where it breaks).
  """
  try:
    with tf.io.gfile.GFile(path, "rb") as file:
      text = file.read()
  except tf.errors.OpError as error:
    raise OSError(f"Cannot read {path}: {error.message}") from error
  try:
    return json.loads(text)
  except ValueError as error:  # JSONDecodeError, UnicodeDecodeError
    raise ValueError(f"{path} is damaged: it is not valid JSON ({error})."
                     ) from error


def remove_if_exists(path):
  """Deletes the file or directory (with its contents) at `path` if there is one.

  Args:
    path: a path (local or any TensorFlow filesystem).
  """
  if tf.io.gfile.isdir(path):
    tf.io.gfile.rmtree(path)
  elif tf.io.gfile.exists(path):
    tf.io.gfile.remove(path)
