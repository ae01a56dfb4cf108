"""Command line: `tfp-realnvp train|tune|evaluate|sample|export ...` (see `tfp-realnvp --help`)."""

import argparse
import contextlib
import dataclasses
import json
import sys

import tensorflow as tf

from tfp_realnvp import data
from tfp_realnvp import loading
from tfp_realnvp.callbacks import NonFiniteLossError
from tfp_realnvp.config import Choices
from tfp_realnvp.config import ModelConfig
from tfp_realnvp.data import DatasetUnavailableError
from tfp_realnvp.evaluation import evaluate
from tfp_realnvp.export import export_saved_model
from tfp_realnvp.presets import PRESET_NAMES
from tfp_realnvp.presets import get as get_preset
from tfp_realnvp.runs import IMAGE_OPTION_FIELDS
from tfp_realnvp.runs import MAX_VERBOSE
from tfp_realnvp.runs import VERBOSE_LEVELS
from tfp_realnvp.runs import RunConfig
from tfp_realnvp.runs import error_text
from tfp_realnvp.runs import image_options
from tfp_realnvp.runs import keras_verbosity
from tfp_realnvp.sampling import DEFAULT_TEMPERATURE
from tfp_realnvp.sampling import write_sample_grid
from tfp_realnvp.training import TrainConfig
from tfp_realnvp.training import train
from tfp_realnvp.tuning import DEFAULT_SEARCH_SPACE
from tfp_realnvp.tuning import SearchFailedError
from tfp_realnvp.tuning import TuneConfig
from tfp_realnvp.tuning import summary_table
from tfp_realnvp.tuning import tune

#: Fields of the job configurations without a flag of their own (`model`
#: and `search_space` get one flag per `ModelConfig` field, and `preset` is
#: `train --preset`).
NESTED_FIELDS = ("model", "search_space", "preset")
_MODEL_FIELDS = dataclasses.fields(ModelConfig)


def _flag(name):
  return "--" + name.replace("_", "-")


def _default(field):
  if field.default_factory is not dataclasses.MISSING:
    return field.default_factory()
  return field.default


def _field_help(config_class, name):
  """The help text a job configuration declares for its field `name`."""
  return {field.name: field for field in
          dataclasses.fields(config_class)}[name].metadata["help"]


def _add_config_arguments(parser, config_class, names=None):
  """One flag per field of a job configuration (or only the fields `names`): --no-X for booleans, several values for tuples."""
  for field in dataclasses.fields(config_class):
    if field.name in NESTED_FIELDS or (names and field.name not in names):
      continue
    kwargs = _value_kwargs(field, _default(field), field.metadata["help"])
    if field.metadata.get("choices") is not None:
      kwargs["choices"] = field.metadata["choices"]
    parser.add_argument(_flag(field.name), **kwargs)


def _value_kwargs(field, default, help):  # pylint: disable=redefined-builtin
  """`add_argument` keywords for one value of the field's type: --no-X for booleans, several values for tuples."""
  kwargs = dict(default=default, help=help)
  if field.type is bool:
    kwargs["action"] = argparse.BooleanOptionalAction
  elif field.type is tuple:
    kwargs.update(nargs="+", type=type(default[0]) if default else int)
  else:
    kwargs["type"] = field.type
  return kwargs


def _model_choices(field):
  """{"choices": ...} for a field that names one of a few options, else {}."""
  valid = field.metadata["valid"]
  return {"choices": valid.values} if isinstance(valid, Choices) else {}


def _model_help(field):
  valid = field.metadata["valid"]
  return field.metadata["help"] + ("" if valid is None else f"; in {valid}")


def _add_model_arguments(parser):
  """One flag per `ModelConfig` field, with the field's help text."""
  group = parser.add_argument_group("architecture (tfp_realnvp.config."
                                    "ModelConfig)")
  for field in _MODEL_FIELDS:
    group.add_argument(_flag(field.name), **_value_kwargs(
        field, _default(field), _model_help(field)), **_model_choices(field))


def _parse_bool(text):
  if text.lower() in ("true", "1", "yes"):
    return True
  if text.lower() in ("false", "0", "no"):
    return False
  raise argparse.ArgumentTypeError(f"expected true or false; got {text!r}")


def _add_search_space_arguments(parser):
  """One flag per `ModelConfig` field: one value fixes it, more are searched."""
  group = parser.add_argument_group(
      "search space (tfp_realnvp.config.ModelConfig fields; one value fixes "
      "a field)")
  for field in _MODEL_FIELDS:
    searched = field.metadata["search"] == "range"
    group.add_argument(
        _flag(field.name), nargs="+",
        type=_parse_bool if field.type is bool else field.type,
        default=list(DEFAULT_SEARCH_SPACE.get(field.name,
                                              [_default(field)])),
        help=("MIN MAX searched, " if searched else "candidates searched, ")
        + _model_help(field), **_model_choices(field))


def _model_values(args):
  return {field.name: getattr(args, field.name) for field in _MODEL_FIELDS}


def _job_values(args, config_class):
  names = {field.name for field in dataclasses.fields(config_class)}
  return {key: tuple(value) if isinstance(value, list) else value
          for key, value in vars(args).items()
          if key in names and key not in NESTED_FIELDS}


def _add_train_parser(subparsers):
  parser = subparsers.add_parser(
      "train", help="train, evaluate, sample and export a RealNVP",
      formatter_class=argparse.ArgumentDefaultsHelpFormatter)
  parser.add_argument(
      "--preset", choices=PRESET_NAMES, default=None,
      help="start from a named configuration (paper and official code "
           "hyper-parameters, see tfp_realnvp.presets); other flags override "
           "its values")
  _add_config_arguments(parser, TrainConfig)
  _add_model_arguments(parser)
  return parser


def _add_tune_parser(subparsers):
  parser = subparsers.add_parser(
      "tune", help="search depth, width and learning rate with KerasTuner",
      formatter_class=argparse.ArgumentDefaultsHelpFormatter)
  _add_config_arguments(parser, TuneConfig)
  _add_search_space_arguments(parser)


def _add_export_parser(subparsers):
  parser = subparsers.add_parser(
      "export", help="export a trained model as a TF Serving SavedModel",
      formatter_class=argparse.ArgumentDefaultsHelpFormatter)
  parser.add_argument("model", help="a .keras file, or a .weights.h5 "
                      "checkpoint together with --config")
  parser.add_argument("--config", default="", help="JSON file with the "
                      "RealNVP config (train writes config.json), needed for "
                      ".weights.h5 checkpoints")
  parser.add_argument("--export-dir", default="saved_models",
                      help=_field_help(RunConfig, "export_dir"))
  parser.add_argument("--name", default="real_nvp", help="model name")
  parser.add_argument("--version", type=int, default=None,
                      help="integer version (default: the next free one)")


def _add_evaluate_parser(subparsers):
  parser = subparsers.add_parser(
      "evaluate", help="test bits/dim (mean and standard error) of a saved "
      "model over a data set split",
      formatter_class=argparse.ArgumentDefaultsHelpFormatter)
  parser.add_argument("model", help="a .keras file, a .weights.h5 checkpoint "
                      "(with --config) or a SavedModel version directory")
  parser.add_argument("--dataset", default=data.BUNDLED_MNIST,
                      help=_field_help(RunConfig, "dataset"))
  parser.add_argument("--split", default=None, help="split string (default: "
                      "the data set's held-out split, test or validation)")
  parser.add_argument("--batch-size", type=int, default=256,
                      help="images per model call")
  parser.add_argument("--num-samples", "--noise-draws", type=int, default=1,
                      dest="num_samples",
                      help="dequantization draws per image K: the mean of "
                      "log p(x + u) over K uniform draws, or the importance-"
                      "weighted bound of K draws of a variational "
                      "dequantization (--noise-draws: its name in version "
                      "0.2.0)")
  parser.add_argument("--seed", type=int, default=0, help="noise seed")
  parser.add_argument("--data-dir", default="",
                      help=_field_help(RunConfig, "data_dir"))
  parser.add_argument("--download", default=True,
                      action=argparse.BooleanOptionalAction,
                      help=_field_help(RunConfig, "download"))
  parser.add_argument("--config", default="", help="JSON file with the "
                      "RealNVP config, needed for .weights.h5 checkpoints")
  _add_config_arguments(parser, RunConfig,
                        IMAGE_OPTION_FIELDS + ("condition",))
  _add_verbose_argument(parser)


def _add_sample_parser(subparsers):
  parser = subparsers.add_parser(
      "sample", help="write a PNG grid of samples from a saved model",
      description="Writes a PNG grid of samples x = f^-1(T z), z ~ N(0, I): "
      "a block of rows per temperature T, each with the same latents. A "
      "conditional model gets a row per class unless --labels is given.",
      formatter_class=argparse.ArgumentDefaultsHelpFormatter)
  parser.add_argument("model", help="a .keras file, a .weights.h5 checkpoint "
                      "(with --config) or a SavedModel version directory")
  parser.add_argument("--output", required=True, default=argparse.SUPPRESS,
                      help="the PNG file to write")
  count = parser.add_mutually_exclusive_group()
  count.add_argument("--num-samples", type=int, default=None,
                     help="samples per temperature of an unconditional model "
                     "(None: num-columns^2 with one temperature, num-columns "
                     "with several)")
  count.add_argument("--labels", type=int, nargs="+", default=None,
                     help="class of each sample of a conditional model "
                     "(None: every class num-columns times, a row per class)")
  parser.add_argument("--temperature", type=float, nargs="+",
                      default=[DEFAULT_TEMPERATURE],
                      help="latent standard deviation(s) > 0; several give "
                      "a block of rows each")
  parser.add_argument("--seed", type=int, default=0,
                      help="latent seed: the same seed gives the same PNG")
  parser.add_argument("--num-columns", type=int, default=None,
                      help="samples per row (None: 10 for a conditional "
                      "model, 8 otherwise)")
  parser.add_argument("--config", default="", help="JSON file with the "
                      "RealNVP config, needed for .weights.h5 checkpoints")
  parser.add_argument("--batch-size", type=int,
                      default=loading.SAMPLE_BATCH_SIZE,
                      help="samples per call of the flow (memory holds one "
                      "batch's activations; the same seed gives the same PNG "
                      "for any batch size)")
  _add_verbose_argument(parser)


def _add_verbose_argument(parser):
  parser.add_argument("--verbose", type=int, default=1,
                      choices=VERBOSE_LEVELS,
                      help="1 shows a progress bar, 2 a line at the end, 0 "
                      "nothing (on stderr); "
                      f"{MAX_VERBOSE} also TensorFlow's C++ start-up log")


def _run_train(args):
  config = TrainConfig(model=ModelConfig(**_model_values(args)),
                       preset=args.preset or "",
                       **_job_values(args, TrainConfig))
  metrics = train(config)
  return {k: metrics[k] for k in ("test_bits_per_dim", "training_seconds",
                                  "images_per_second", "saved_model")}


def _run_tune(args):
  values = _model_values(args)
  fixed = {name: value[0] for name, value in values.items()
           if len(value) == 1}
  searched = {name: tuple(value) for name, value in values.items()
              if len(value) > 1}
  result = tune(TuneConfig(model=ModelConfig(**fixed), search_space=searched,
                           **_job_values(args, TuneConfig)))
  print(summary_table(result["trials"]), file=sys.stderr)
  return {k: result[k] for k in ("best_hyperparameters", "test_bits_per_dim",
                                 "saved_model")}


def _run_evaluate(args):
  return evaluate(args.model, args.dataset, args.split, args.batch_size,
                  args.num_samples, args.seed, args.data_dir or None,
                  args.download, args.config or None,
                  keras_verbosity(args.verbose), image_options(args),
                  args.condition)


def _run_sample(args):
  model = loading.load(args.model, args.config or None)
  return write_sample_grid(model, args.output, args.temperature,
                           args.labels, args.num_samples, args.num_columns,
                           args.seed, batch_size=args.batch_size,
                           verbose=keras_verbosity(args.verbose))


def _run_export(args):
  model = loading.load_keras_model(args.model, args.config or None)
  path = export_saved_model(model, args.export_dir, args.name, args.version,
                            provenance={"job": "export",
                                        "source": str(args.model)})
  return {"saved_model": path}


def _preset_defaults(name):
  """The preset's values as flag defaults (`ModelConfig` fields flattened)."""
  fields = get_preset(name).train_fields()
  return {**fields.pop("model").to_dict(), **fields}


def main(argv=None):
  """Entry point of the `tfp-realnvp` console script; returns the exit status.

  Prints a JSON summary on success, alone on stdout (progress bars and
  Keras's epoch lines go to stderr); on invalid values or missing data
  prints `tfp-realnvp: error: ...` to stderr and returns 2.

  Args:
    argv: the arguments after the program name, e.g. `["train", "--preset",
      "mnist_bundled"]`; None for `sys.argv[1:]`.

  Returns:
    int: 0 after printing the command's summary as JSON to stdout; 2 when the
    command fails with ValueError (invalid values, e.g. `--epochs 0`),
    OSError, `DatasetUnavailableError`, `NonFiniteLossError`,
    `SearchFailedError` or any `tf.errors.OpError` (invalid values, files
    not found or not permitted), whose message goes to stderr.

  Raises:
    SystemExit: from argparse, before any command runs: code 2 (usage and
      error on stderr) for arguments it rejects (a missing or unknown
      command, argument or flag, a value outside its choices or of the wrong
      type); code 0 after `--help`.
  """
  parser = argparse.ArgumentParser(
      prog="tfp-realnvp", description="Real NVP normalizing flows (Keras 3 + "
      "TensorFlow Probability).")
  subparsers = parser.add_subparsers(dest="command", required=True)
  train_parser = _add_train_parser(subparsers)
  _add_tune_parser(subparsers)
  _add_evaluate_parser(subparsers)
  _add_sample_parser(subparsers)
  _add_export_parser(subparsers)
  args = parser.parse_args(argv)
  if args.command == "train" and args.preset:
    # The preset replaces the defaults; flags given explicitly still win.
    train_parser.set_defaults(**_preset_defaults(args.preset))
    args = parser.parse_args(argv)
  commands = {"train": _run_train, "tune": _run_tune,
              "evaluate": _run_evaluate, "sample": _run_sample,
              "export": _run_export}
  try:
    # Progress bars (Keras prints them to stdout) go to stderr: stdout
    # carries only the JSON summary.
    with contextlib.redirect_stdout(sys.stderr):
      summary = commands[args.command](args)
  except (ValueError, OSError, DatasetUnavailableError, NonFiniteLossError,
          SearchFailedError, tf.errors.OpError) as error:
    # TF errors (InvalidArgument, NotFound, PermissionDenied,
    # FailedPrecondition...) carry their graph trace in str(); the message
    # is enough.
    print(f"tfp-realnvp: error: {error_text(error)}",
          file=sys.stderr)
    return 2
  print(json.dumps(summary, indent=2))
  return 0


if __name__ == "__main__":
  sys.exit(main())
