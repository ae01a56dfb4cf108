"""Depth and width search with KerasTuner (objective: val_bits_per_dim, minimized)."""

import dataclasses
import os

import keras
import keras_tuner
import tensorflow as tf

from tfp_realnvp import data
from tfp_realnvp.architecture import max_num_scales
from tfp_realnvp.callbacks import MONITOR
from tfp_realnvp.config import ModelConfig
from tfp_realnvp.config import option
from tfp_realnvp.distribute import get_strategy
from tfp_realnvp.export import export_saved_model
from tfp_realnvp.model import RealNVP
from tfp_realnvp.optimization import default_optimizer
from tfp_realnvp.runs import RunConfig
from tfp_realnvp.runs import write_json

#: What every search minimizes, the held-out bits/dim (`fit`'s val_bits_per_dim).
#:
#: :meta hide-value:
OBJECTIVE = keras_tuner.Objective(MONITOR, direction="min")
#: Search algorithms `make_tuner` accepts (KerasTuner's RandomSearch,
#: Hyperband, BayesianOptimization).
TUNERS = ("random", "hyperband", "bayesian")


class SearchFailedError(RuntimeError):
  """No trial of a search completed."""


#: The search space of `RealNVPHyperModel` and `tfp-realnvp tune` by default:
#: `ModelConfig` field -> (min, max) for "range" fields, candidates otherwise.
DEFAULT_SEARCH_SPACE = {
    "num_scales": (1, 3),
    "num_coupling_layers": (1, 3),
    "num_res_blocks": (1, 4),
    "filters": (16, 32, 64),
}
#: The (min, max) learning rate searched by default, on a log scale.
DEFAULT_LEARNING_RATE_RANGE = (1e-4, 3e-3)


_SEARCH_KIND = {field.name: field.metadata["search"]
                for field in dataclasses.fields(ModelConfig)}


class RealNVPHyperModel(keras_tuner.HyperModel):
  """Search space over `ModelConfig` fields and the learning rate.

  Each searched hyper-parameter is named like its `ModelConfig` field (and
  so are the trials' hyper-parameters in KerasTuner's summaries):

  - a "range" field (`num_scales`, `num_coupling_layers`,
    `num_res_blocks`, `dequantization_coupling_layers`,
    `dequantization_res_blocks`): an int in the inclusive (min, max); `num_scales` is
    clipped to what the image shape allows, so no trial asks for more
    scales than H and W can be halved;
  - any other field (`filters`, and e.g. `normalization`,
    `dequantization` or `alpha` when given): one of the listed candidates;
  - `learning_rate`: log-uniform in its (min, max).

  Fields not in the search space keep their values of `model_config`. The
  image shape, `num_classes` and `condition_shape` are fixed by the data.
  """

  def __init__(self, image_shape, num_classes=None, search_space=None,
               learning_rate=DEFAULT_LEARNING_RATE_RANGE, model_config=None,
               condition_shape=None, **kwargs):
    """Args:
      image_shape: (H, W, C) of the data.
      num_classes: classes for a conditional model, else None.
      condition_shape: the condition's shape (`RealNVP`), else None.
      search_space: dict `ModelConfig` field name -> (min, max) ints for a
        "range" field or a sequence of candidates for the others; None for
        `DEFAULT_SEARCH_SPACE`. A range (n, n) or a single candidate fixes
        the field.
      learning_rate: (min, max) floats > 0, sampled on a log scale.
      model_config: the `ModelConfig` of the fields not searched (None: the
        defaults).
      **kwargs: `keras_tuner.HyperModel` arguments (name, tunable).

    Raises:
      ValueError: a name that is not a `ModelConfig` field, an empty or
        inverted range, a value `ModelConfig` rejects, or a scale range
        that the image shape cannot satisfy at all.
    """
    super().__init__(**kwargs)
    self.image_shape = tuple(image_shape)
    self.num_classes = num_classes
    self.condition_shape = condition_shape
    self.model_config = model_config or ModelConfig()
    self.search_space = {
        name: self._checked(name, values) for name, values in
        (DEFAULT_SEARCH_SPACE if search_space is None else search_space)
        .items()}
    self.learning_rate = tuple(float(r) for r in learning_rate)
    low, high = self.learning_rate
    if len(self.learning_rate) != 2 or not 0 < low <= high:
      raise ValueError(f"learning_rate range must be (min, max) with 0 < min "
                       f"<= max; got {self.learning_rate}.")

  def _checked(self, name, values):
    if name not in _SEARCH_KIND:
      raise ValueError(f"The search space names {name!r}, which is not a "
                       f"ModelConfig field; expected some of "
                       f"{ModelConfig.field_names()}.")
    values = tuple(values)
    if not values:
      raise ValueError(f"{name} must list at least one candidate.")
    for value in values:  # ModelConfig's own checks name the valid range.
      dataclasses.replace(self.model_config, **{name: value})
    if _SEARCH_KIND[name] != "range":
      return values
    if len(values) != 2 or values[0] > values[1]:
      raise ValueError(f"{name} range must be (min, max) with min <= max; got "
                       f"{values}.")
    if name == "num_scales":
      largest = max_num_scales(self.image_shape)
      if values[0] > largest:
        raise ValueError(f"num_scales starts at {values[0]}, but image shape "
                         f"{self.image_shape} allows at most {largest}.")
      values = (values[0], min(values[1], largest))
    return values

  def build(self, hp):
    """Returns a compiled RealNVP for the trial's hyper-parameters `hp`.

    Args:
      hp: the trial's `keras_tuner.HyperParameters`.

    Returns:
      A `RealNVP` compiled with Adam at the trial's learning rate.
    """
    hyperparameters = {}
    for name, values in self.search_space.items():
      if _SEARCH_KIND[name] == "range":
        hyperparameters[name] = hp.Int(name, *values)
      else:
        hyperparameters[name] = hp.Choice(name, list(values))
    model = RealNVP(self.image_shape, num_classes=self.num_classes,
                    config=self.model_config,
                    condition_shape=self.condition_shape, **hyperparameters)
    model.compile(optimizer=default_optimizer(hp.Float(
        "learning_rate", *self.learning_rate, sampling="log")))
    return model


def make_tuner(kind, hypermodel, max_trials, max_epochs, directory,
               project_name="real_nvp", distribution_strategy=None, seed=0):
  """Returns a KerasTuner tuner of `kind` in `TUNERS` minimizing val_bits_per_dim.

  `max_epochs` is Hyperband's largest budget (at least 2; Hyperband derives
  its number of trials from it and ignores `max_trials`); random and
  Bayesian searches run `max_trials` trials for the epochs given to `search`. Trials live in
  `<directory>/<project_name>` (any TensorFlow filesystem), so an interrupted
  search resumes where it stopped.

  Args:
    kind: "random", "hyperband" or "bayesian".
    hypermodel: the search space, a `RealNVPHyperModel`.
    max_trials: int >= 1, trials of a random or Bayesian search.
    max_epochs: int, Hyperband's largest budget in epochs (raised to 2).
    directory: parent directory of the search.
    project_name: the search's subdirectory of `directory`.
    distribution_strategy: a `tf.distribute.Strategy` under which the trials
      build and train their models, or None.
    seed: int seed of the tuner's hyper-parameter sampling.

  Returns:
    A `keras_tuner.RandomSearch`, `keras_tuner.Hyperband` or
    `keras_tuner.BayesianOptimization` with objective `OBJECTIVE` that
    reloads the trials of `<directory>/<project_name>` (overwrite=False).

  Raises:
    ValueError: for an unknown kind.
  """
  common = dict(objective=OBJECTIVE, directory=directory,
                project_name=project_name, seed=seed,
                distribution_strategy=distribution_strategy, overwrite=False)
  if kind == "random":
    return keras_tuner.RandomSearch(hypermodel, max_trials=max_trials, **common)
  if kind == "bayesian":
    return keras_tuner.BayesianOptimization(hypermodel, max_trials=max_trials,
                                            **common)
  if kind == "hyperband":
    # Hyperband sets its own number of trials from max_epochs and its factor.
    return keras_tuner.Hyperband(hypermodel, max_epochs=max(max_epochs, 2),
                                 **common)
  raise ValueError(f"tuner must be one of {TUNERS}; got {kind!r}.")


def trial_summary(tuner):
  """Every trial, best first: id, status, hyper-parameters, val_bits_per_dim.

  Args:
    tuner: a KerasTuner tuner (`make_tuner`), after or during `search`.

  Returns:
    list of dict: one per trial, with `trial_id` (str), `status`
    (KerasTuner's, e.g. "COMPLETED", "FAILED"), `hyperparameters` (name ->
    value) and `val_bits_per_dim` (the trial's score, its best epoch's
    value in bits/dim, or None); sorted by score, trials without a score
    last.
  """
  rows = []
  for trial in tuner.oracle.trials.values():
    rows.append({"trial_id": trial.trial_id, "status": trial.status,
                 "hyperparameters": dict(trial.hyperparameters.values),
                 "val_bits_per_dim": trial.score})
  return sorted(rows, key=lambda row: (row["val_bits_per_dim"] is None,
                                       row["val_bits_per_dim"] or 0.0))


def summary_table(rows):
  """The summary as a fixed-width text table, best first.

  Args:
    rows: `trial_summary` rows, in the order to print.

  Returns:
    str: a header line (rank, trial, status, val_bits_per_dim, then the
    hyper-parameter names, sorted) and a line per row, columns padded and
    separated by two spaces; scores with 4 decimals, other floats with 3
    significant digits, "-" where a value is missing; ends with a newline.
  """
  names = sorted({name for row in rows for name in row["hyperparameters"]})
  header = ["rank", "trial", "status", "val_bits_per_dim"] + names
  lines = [header]
  for rank, row in enumerate(rows, 1):
    score = row["val_bits_per_dim"]
    lines.append([str(rank), row["trial_id"], row["status"],
                  "-" if score is None else f"{score:.4f}"] +
                 [_format(row["hyperparameters"].get(n)) for n in names])
  widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
  return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(line, widths))
                   .rstrip() for line in lines) + "\n"


def _format(value):
  if isinstance(value, float):
    return f"{value:.3g}"
  return "-" if value is None else str(value)


def write_summary(rows, output_dir):
  """Writes summary.json and summary.txt to `output_dir`; returns their paths.

  Args:
    rows: `trial_summary` rows.
    output_dir: directory (local or any TensorFlow filesystem), created if
      missing.

  Returns:
    (json_path, text_path), the paths of summary.json (`rows` as JSON) and
    summary.txt (`summary_table(rows)`).
  """
  tf.io.gfile.makedirs(output_dir)
  json_path = os.path.join(output_dir, "summary.json")
  text_path = os.path.join(output_dir, "summary.txt")
  write_json(rows, json_path)
  with tf.io.gfile.GFile(text_path, "w") as file:
    file.write(summary_table(rows))
  return json_path, text_path


@dataclasses.dataclass
class TuneConfig(RunConfig):
  """What `tune` needs; the CLI's `tune` flags map onto these fields.

  Adds to `RunConfig` the tuner and its search space (`RealNVPHyperModel`).
  `epochs` trains each trial (Hyperband's largest budget).

  Attributes:
    dataset, batch_size, steps_per_epoch, conditional, condition: as in
      `RunConfig`.
    export_dir, model_name, data_dir, download: as in `RunConfig`.
    image_size, crop, channels, validation_fraction: as in `RunConfig`.
    cache, skip_unreadable: as in `RunConfig`.
    strategy, seed, verbose: as in `RunConfig`.
    epochs: int >= 1, training epochs of each trial (Hyperband: the
      largest budget).
    output_dir: directory of search/ (the trials), summary.json,
      summary.txt and best.keras.
    tuner: the search algorithm, one of `TUNERS`.
    max_trials: int >= 1, trials of a random or Bayesian search.
    model: the `ModelConfig` values of the fields not searched.
    search_space: `ModelConfig` field -> (min, max) or candidates, as
      `RealNVPHyperModel`'s.
    learning_rate: (min, max) of Adam's learning rate, searched on a log
      scale.

  Raises:
    ValueError: as `RunConfig`, an unknown tuner, or max_trials < 1.
  """
  epochs: int = option(5, "epochs per trial (Hyperband: the largest budget)")
  output_dir: str = option("runs/tune", "directory for the trials, "
                           "summary.json/.txt, best.keras")
  model_name: str = option("", "SavedModel name (default: "
                           "real_nvp_<dataset>_tuned)")
  tuner: str = option("random", "search algorithm", choices=TUNERS)
  max_trials: int = option(10, "trials to run at most")
  model: ModelConfig = option(None, "the fields not searched",
                              default_factory=ModelConfig)
  search_space: dict = option(None, "ModelConfig field -> range or "
                              "candidates",
                              default_factory=lambda: dict(
                                  DEFAULT_SEARCH_SPACE))
  learning_rate: tuple = option(DEFAULT_LEARNING_RATE_RANGE, "MIN MAX "
                                "learning rate, searched on a log scale")

  def __post_init__(self):
    super().__post_init__()
    if self.max_trials < 1:
      raise ValueError(f"max_trials must be >= 1; got {self.max_trials}.")


def tune(config):
  """Runs the search, writes the summary, reloads the best model and exports it.

  Writes `<output_dir>/summary.json` and `summary.txt` (every trial, best
  first), the tuner's trials under `<output_dir>/search/`, `best.keras`, and
  a SavedModel of the best model under `<export_dir>/<name>/<version>/`.

  Args:
    config: a `TuneConfig`.

  Returns:
    dict: `trials` (the `trial_summary` rows), `best_hyperparameters` (the
    first row's), `test_bits_per_dim` (float, the best model on the data
    set's `eval_split`) and `saved_model` (the version directory).

  Raises:
    ValueError: bad configuration or data set name;
    tfp_realnvp.data.DatasetUnavailableError: when a TFDS data set is
      missing.
    SearchFailedError: when no trial completed.
  """
  keras.utils.set_random_seed(config.seed)
  strategy = get_strategy(config.strategy)
  train_data, validation_data = config.fit_pipelines()
  hypermodel = RealNVPHyperModel(
      config.data_spec().image_shape, config.num_classes(),
      search_space=config.search_space, learning_rate=config.learning_rate,
      model_config=config.model, condition_shape=config.condition_shape())
  tuner = make_tuner(config.tuner, hypermodel, config.max_trials,
                     config.epochs, os.path.join(config.output_dir, "search"),
                     distribution_strategy=strategy, seed=config.seed)
  tuner.search(train_data, validation_data=validation_data,
               epochs=config.epochs,
               steps_per_epoch=config.steps_per_epoch or None, shuffle=False,
               verbose=config.keras_verbose)
  rows = trial_summary(tuner)
  write_summary(rows, config.output_dir)
  if not any(row["status"] == "COMPLETED" for row in rows):
    raise SearchFailedError(f"No trial completed; see the trials' logs in "
                            f"{config.output_dir}/search.")
  with strategy.scope():
    best = tuner.get_best_models(1)[0]
  best.save(os.path.join(config.output_dir, "best.keras"))
  test_bits_per_dim = best.evaluate(config.held_out_pipeline(validation_data),
                                    verbose=0,
                                    return_dict=True)["bits_per_dim"]
  saved_model = export_saved_model(
      best, config.export_dir,
      config.model_name or
      f"real_nvp_{config.dataset}{config.condition_suffix()}_tuned",
      provenance={"job": "tune", "dataset": config.dataset,
                  "condition": config.condition, "tuner": config.tuner, "epochs": config.epochs,
                  "hyperparameters": rows[0]["hyperparameters"],
                  "test_bits_per_dim": float(test_bits_per_dim)})
  return {"trials": rows, "best_hyperparameters": rows[0]["hyperparameters"],
          "test_bits_per_dim": float(test_bits_per_dim),
          "saved_model": saved_model}
