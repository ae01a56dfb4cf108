"""Command line: `tfp-realnvp train|tune|evaluate|sample|export ...` (see `tfp-realnvp --help`)."""

import argparse
import dataclasses
import json
import sys

import tensorflow as tf

from tfp_realnvp import data
from tfp_realnvp.data import DatasetUnavailableError
from tfp_realnvp.distribute import STRATEGIES
from tfp_realnvp.evaluation import evaluate
from tfp_realnvp.export import export_saved_model
from tfp_realnvp.model import load_trained_model
from tfp_realnvp.model import LR_SCHEDULES
from tfp_realnvp.presets import PRESET_NAMES
from tfp_realnvp.presets import get as get_preset
from tfp_realnvp.sampling import DEFAULT_TEMPERATURE
from tfp_realnvp.sampling import load_sampler
from tfp_realnvp.sampling import write_sample_grid
from tfp_realnvp.training import MIXED_PRECISION_POLICIES
from tfp_realnvp.training import TrainConfig
from tfp_realnvp.training import NonFiniteLossError
from tfp_realnvp.training import train
from tfp_realnvp.tuning import TUNERS
from tfp_realnvp.tuning import SearchFailedError
from tfp_realnvp.tuning import TuneConfig
from tfp_realnvp.tuning import summary_table
from tfp_realnvp.tuning import tune

_FIELD_HELP = {
    "dataset": "data set name",
    "epochs": "training epochs",
    "batch_size": "examples per batch",
    "output_dir": "directory for model.keras, samples.png, metrics.json, "
                  "tensorboard/",
    "export_dir": "base directory of SavedModels (<dir>/<name>/<version>)",
    "model_name": "SavedModel name (default: real_nvp_<dataset>[_conditional])",
    "data_dir": "directory of prepared tensorflow-datasets data",
    "download": "let tensorflow-datasets download missing data",
    "conditional": "train a class-conditional model (a row per class in "
                   "samples.png)",
    "num_scales": "scales of the multi-scale architecture",
    "num_coupling_layers": "couplings per half-scale (paper: 3)",
    "num_res_blocks": "residual blocks per s/t network",
    "filters": "feature maps of the s/t networks",
    "learning_rate": "Adam learning rate (the peak of a cosine schedule)",
    "lr_schedule": "learning rate: constant, or cosine decay to 0 over all "
                   "training steps",
    "l2_regularization": "L2 coefficient on the scale parameters, per image "
                         "in nats (paper: 5e-5)",
    "gradient_clip_norm": "largest global gradient norm of the bits/dim loss "
                          "(the official clipping is 100 / (D ln 2))",
    "mixed_precision": "'' (float32), mixed_float16 or mixed_bfloat16: the "
                       "s/t networks compute in 16 bits; log-determinants, "
                       "prior and loss stay float32 (for GPUs/TPUs)",
    "jit_compile": "XLA-compile the training step",
    "steps_per_epoch": "steps per epoch (0: one pass over the data)",
    "temperature": "latent standard deviation for samples.png and the "
                   "TensorBoard samples",
    "tensorboard": "write TensorBoard logs to <output-dir>/tensorboard "
                   "(bits/dim per epoch, sample grids)",
    "tensorboard_every_n_epochs": "epochs between sample grids in "
                                  "TensorBoard (bits/dim: every epoch)",
    "seed": "random seed",
    "strategy": "distribution: auto (MirroredStrategy on >1 GPU), default, "
                "mirrored, multi_worker (configured by TF_CONFIG)",
    "verbose": "Keras verbosity (0 silent, 1 progress bar, 2 one line/epoch)",
}


_TUNE_HELP = {
    "tuner": "search algorithm",
    "max_trials": "trials to run at most",
    "epochs": "epochs per trial (Hyperband: the largest budget)",
    "num_scales": "MIN MAX scales searched",
    "num_coupling_layers": "MIN MAX couplings per half-scale searched",
    "num_res_blocks": "MIN MAX residual blocks searched",
    "filters": "candidate feature-map counts",
    "learning_rate": "MIN MAX learning rate, searched on a log scale",
    "output_dir": "directory for the trials, summary.json/.txt, best.keras",
    "model_name": "SavedModel name (default: real_nvp_<dataset>_tuned)",
}

_CHOICES = {"dataset": data.DATASETS, "strategy": STRATEGIES,
            "tuner": TUNERS, "lr_schedule": LR_SCHEDULES,
            "mixed_precision": MIXED_PRECISION_POLICIES}


def _add_config_arguments(parser, config_class, helps):
  """One flag per dataclass field: --no-X for booleans, several values for tuples."""
  for field in dataclasses.fields(config_class):
    kwargs = dict(default=field.default, help=helps[field.name])
    if field.type is bool:
      kwargs["action"] = argparse.BooleanOptionalAction
    elif field.type is tuple:
      kwargs.update(nargs="+", type=type(field.default[0]))
    else:
      kwargs["type"] = field.type
    if field.name in _CHOICES:
      kwargs["choices"] = _CHOICES[field.name]
    parser.add_argument("--" + field.name.replace("_", "-"), **kwargs)


def _add_train_parser(subparsers):
  parser = subparsers.add_parser(
      "train", help="train, evaluate, sample and export a RealNVP",
      formatter_class=argparse.ArgumentDefaultsHelpFormatter)
  parser.add_argument(
      "--preset", choices=PRESET_NAMES, default=None,
      help="start from a named configuration (paper and official code "
           "hyper-parameters, see tfp_realnvp.presets); other flags override "
           "its values")
  _add_config_arguments(parser, TrainConfig, _FIELD_HELP)
  return parser


def _add_tune_parser(subparsers):
  parser = subparsers.add_parser(
      "tune", help="search depth, width and learning rate with KerasTuner",
      formatter_class=argparse.ArgumentDefaultsHelpFormatter)
  _add_config_arguments(parser, TuneConfig, {**_FIELD_HELP, **_TUNE_HELP})


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
                      help=_FIELD_HELP["export_dir"])
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
  parser.add_argument("--dataset", choices=data.DATASETS,
                      default=data.BUNDLED_MNIST, help=_FIELD_HELP["dataset"])
  parser.add_argument("--split", default=None, help="split string (default: "
                      "the data set's held-out split, test or validation)")
  parser.add_argument("--batch-size", type=int, default=256,
                      help="images per model call")
  parser.add_argument("--noise-draws", type=int, default=1,
                      help="dequantization noise draws per image")
  parser.add_argument("--seed", type=int, default=0, help="noise seed")
  parser.add_argument("--data-dir", default="", help=_FIELD_HELP["data_dir"])
  parser.add_argument("--download", default=True,
                      action=argparse.BooleanOptionalAction,
                      help=_FIELD_HELP["download"])
  parser.add_argument("--config", default="", help="JSON file with the "
                      "RealNVP config, needed for .weights.h5 checkpoints")
  parser.add_argument("--verbose", type=int, default=1,
                      help="1 shows a progress bar, 0 nothing")


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


def _run_train(args):
  fields = {f.name for f in dataclasses.fields(TrainConfig)}
  config = TrainConfig(**{k: v for k, v in vars(args).items() if k in fields})
  metrics = train(config)
  return {k: metrics[k] for k in ("test_bits_per_dim", "training_seconds",
                                  "images_per_second", "saved_model")}


def _run_tune(args):
  fields = {f.name for f in dataclasses.fields(TuneConfig)}
  values = {k: tuple(v) if isinstance(v, list) else v
            for k, v in vars(args).items() if k in fields}
  result = tune(TuneConfig(**values))
  print(summary_table(result["trials"]), file=sys.stderr)
  return {k: result[k] for k in ("best_hyperparameters", "test_bits_per_dim",
                                 "saved_model")}


def _run_evaluate(args):
  return evaluate(args.model, args.dataset, args.split, args.batch_size,
                  args.noise_draws, args.seed, args.data_dir or None,
                  args.download, args.config or None, args.verbose)


def _run_sample(args):
  sampler = load_sampler(args.model, args.config or None)
  return write_sample_grid(sampler, args.output, args.temperature,
                           args.labels, args.num_samples, args.num_columns,
                           args.seed)


def _run_export(args):
  model = load_trained_model(args.model, args.config or None)
  path = export_saved_model(model, args.export_dir, args.name, args.version)
  return {"saved_model": path}


def main(argv=None):
  """Entry point of the `tfp-realnvp` console script; returns the exit status.

  Prints a JSON summary on success; on invalid values or missing data prints
  `tfp-realnvp: error: ...` to stderr and returns 2.

  Args:
    argv: the arguments after the program name, e.g. `["train", "--preset",
      "mnist_bundled"]`; None for `sys.argv[1:]`.

  Returns:
    int: 0 after printing the command's summary as JSON to stdout; 2 when the
    command fails with ValueError (invalid values, e.g. `--epochs 0`),
    OSError, `DatasetUnavailableError`, `NonFiniteLossError`,
    `SearchFailedError` or `tf.errors.InvalidArgumentError`, whose message
    goes to stderr.

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
    train_parser.set_defaults(**get_preset(args.preset).train_fields())
    args = parser.parse_args(argv)
  commands = {"train": _run_train, "tune": _run_tune,
              "evaluate": _run_evaluate, "sample": _run_sample,
              "export": _run_export}
  try:
    summary = commands[args.command](args)
  except (ValueError, OSError, DatasetUnavailableError, NonFiniteLossError,
          SearchFailedError, tf.errors.InvalidArgumentError) as error:
    # TF errors carry their graph trace in str(); the message is enough.
    print(f"tfp-realnvp: error: {getattr(error, 'message', error)}",
          file=sys.stderr)
    return 2
  print(json.dumps(summary, indent=2))
  return 0


if __name__ == "__main__":
  sys.exit(main())
