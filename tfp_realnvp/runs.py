"""What a training or tuning run is given (`RunConfig`) and the files it writes (`RunDirectory`).

A run directory (local or any TensorFlow filesystem) holds, for `train`:
config.json (the model's configuration, written first), backup/ (Keras
`BackupAndRestore` state), checkpoints/best.weights.h5, history.csv,
model.keras, samples.png, learning_curve.png, metrics.json and
tensorboard/.
"""

import csv
import dataclasses
import json
import os

import tensorflow as tf

from tfp_realnvp import data
from tfp_realnvp.config import option
from tfp_realnvp.distribute import STRATEGIES

#: The largest `verbose`, 3 (Keras's one line per epoch, and TensorFlow's
#: C++ start-up log from the `tfp-realnvp` script, `tfp_realnvp_console`).
MAX_VERBOSE = 3
#: The values `verbose` (and the command line's `--verbose`) accept.
VERBOSE_LEVELS = tuple(range(MAX_VERBOSE + 1))


@dataclasses.dataclass
class RunConfig:
  """What every job (`train`, `tune`) needs: data, batching, outputs, strategy.

  Attributes:
    dataset: data set name (`tfp_realnvp.data.DATASETS`).
    epochs: int >= 1, training epochs.
    batch_size: int >= 1, examples per batch (the global batch, split
      across the replicas of a distribution strategy).
    steps_per_epoch: int >= 0, optimizer steps per epoch (the training data
      then repeats); 0 for one pass over the training data.
    conditional: whether the model is class-conditional (the data set needs
      class labels).
    output_dir: directory of the job's files (local or any TensorFlow
      filesystem).
    export_dir: base directory of SavedModels (`<export_dir>/<name>/<version>`).
    model_name: SavedModel name; "" for one derived from the data set.
    data_dir: directory of prepared tensorflow-datasets data; "" for
      TFDS's default.
    download: whether tensorflow-datasets may download missing data.
    strategy: distribution strategy, one of
      `tfp_realnvp.distribute.STRATEGIES`.
    seed: int seed of the initial weights, the dequantization noise
      (`keras.utils.set_random_seed`), the shuffle and flips of the training
      data, and the samples.
    verbose: 0 silent, 1 progress bar, 2 one line per epoch (Keras's
      verbosity); 3 is 2 plus, on the command line, TensorFlow's C++
      start-up log.

  Raises:
    ValueError: non-positive epochs or batch size, negative steps per epoch,
      an unknown data set or strategy, or verbose outside [0, 3].
  """
  dataset: str = option(data.BUNDLED_MNIST, "data set name",
                        choices=data.DATASETS)
  epochs: int = option(10, "training epochs")
  batch_size: int = option(64, "examples per batch")
  steps_per_epoch: int = option(0, "steps per epoch (0: one pass over the "
                                "data)")
  conditional: bool = option(False, "train a class-conditional model (a row "
                             "per class in samples.png)")
  output_dir: str = option("runs/latest", "directory for model.keras, "
                           "samples.png, metrics.json, tensorboard/")
  export_dir: str = option("saved_models", "base directory of SavedModels "
                           "(<dir>/<name>/<version>)")
  model_name: str = option("", "SavedModel name (default: "
                           "real_nvp_<dataset>[_conditional])")
  data_dir: str = option("", "directory of prepared tensorflow-datasets data")
  download: bool = option(True, "let tensorflow-datasets download missing "
                          "data")
  strategy: str = option("auto", "distribution: auto (MirroredStrategy on >1 "
                         "GPU), default, mirrored, multi_worker (configured "
                         "by TF_CONFIG)", choices=STRATEGIES)
  seed: int = option(0, "random seed")
  verbose: int = option(1, "0 silent, 1 progress bar, 2 one line per epoch, "
                        "3 also TensorFlow's C++ start-up log",
                        choices=VERBOSE_LEVELS)

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

  @property
  def keras_verbose(self):
    """`verbose` as Keras's verbosity (0, 1 or 2)."""
    return min(self.verbose, 2)

  def num_classes(self):
    """Classes of the model: the data set's when `conditional`, else None.

    Returns:
      int, or None.

    Raises:
      ValueError: `conditional` for a data set without class labels.
    """
    if not self.conditional:
      return None
    classes = data.num_classes(self.dataset)
    if classes is None:
      raise ValueError(f"{self.dataset!r} has no class labels; it cannot "
                       f"train a conditional model.")
    return classes

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
    return data.fit_pipelines(self.dataset, self.batch_size, self.seed,
                              self.steps_per_epoch, **self._load_args())

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
    return data.held_out_pipeline(self.dataset, self.batch_size,
                                  validation_data, **self._load_args())

  def _load_args(self):
    return dict(data_dir=self.data_dir or None, download=self.download)


@dataclasses.dataclass(frozen=True)
class RunDirectory:
  """The paths of a training run's files under `path` (nothing is created).

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
  def config_json(self):
    """config.json, the model's `get_config()` (with a checkpoint, it rebuilds the model)."""
    return self.file("config.json")

  @property
  def backup(self):
    """backup/, Keras `BackupAndRestore` state (a killed run resumes from it)."""
    return self.file("backup")

  @property
  def best_checkpoint(self):
    """checkpoints/best.weights.h5, the weights of the lowest val_bits_per_dim."""
    return self.file(os.path.join("checkpoints", "best.weights.h5"))

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
  def metrics_json(self):
    """metrics.json, the run's figures."""
    return self.file("metrics.json")


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
  """Writes `value` as indented JSON to `path` (local or any TensorFlow filesystem).

  Args:
    value: a JSON-serializable value.
    path: the file to write; its directory must exist.
  """
  with tf.io.gfile.GFile(path, "w") as file:
    json.dump(value, file, indent=2)


def read_json(path):
  """The JSON value in the file at `path` (local or any TensorFlow filesystem).

  Args:
    path: the file to read.

  Returns:
    The decoded value.

  Raises:
    OSError: no file at `path` (`tf.errors.NotFoundError`).
    ValueError: the file is not JSON (`json.JSONDecodeError`).
  """
  with tf.io.gfile.GFile(path) as file:
    return json.load(file)


def remove_if_exists(path):
  """Deletes the file at `path` if there is one.

  Args:
    path: a file path (local or any TensorFlow filesystem).
  """
  if tf.io.gfile.exists(path):
    tf.io.gfile.remove(path)
