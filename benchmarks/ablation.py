"""Held-out bits/dim against training time on the bundled MNIST: the paper's recipe, then each later component.

Two phases, because this machine's speed drifts by tens of percent over
minutes (its hypervisor takes up to a third of the CPU at times), so that
one long run per configuration would give each its own clock:

1. `--phase timing`: the seconds of one `fit` epoch (4500 digits at the
   preset's batch size, then the 500 held-out digits' validation pass, as
   `tfp-realnvp train` runs them) of every configuration, measured in one
   process in turns (one epoch of each, `--timing-rounds` times, after a
   warm-up epoch each); the median per configuration over these and the
   rounds of earlier timing runs. Nothing else may run on the machine
   meanwhile. Writes <output>_timing.json.
2. `--phase training --minutes M`: each configuration trained by
   `tfp-realnvp train --preset P [its overrides] --epochs E` (seed 0, the
   preset's batch size, learning rate and schedule; a cosine schedule spans
   the run; TensorBoard logs off), E the epochs that fit in M minutes at its
   measured epoch time, into <runs-dir>/<name>_<M>min/; its history.csv
   gives the held-out discrete bits/dim after every epoch
   (`val_bits_per_dim`: one dequantization draw per digit, the bound
   training maximizes), then `tfp-realnvp evaluate` scores its model.keras
   with 1 and `--num-samples` draws. Epoch results do not depend on the
   machine's speed, so this phase may share the machine. Adds the run to
   <output>.json under its budget. (`--phase record --configs NAME
   --run-dir DIR` adds a finished `tfp-realnvp train` run instead, such as
   make demo's runs/demo.)

The table (`--phase table`, also printed after training) gives per
configuration: the epoch time (of the timing phase, which the budgets use,
and the mean of its longest run, which depends on what else ran); the
held-out figure of the last epoch ending within each of `--report-minutes`
(epochs x epoch time), from the run of that budget or, at a constant
learning rate, from a longer run's curve; the minutes to reach
`--threshold` first; and the final evaluation of its longest run. Writes
<output>.md.

Usage (the README's table):
  .venv/bin/python benchmarks/ablation.py --phase timing
  .venv/bin/python benchmarks/ablation.py --phase training --minutes 15 \
      --configs paper variational actnorm 1x1_conv additive
  make demo   # then, its run as the demo's 15-minute one:
  .venv/bin/python benchmarks/ablation.py --phase record --configs demo \
      --minutes 15 --run-dir runs/demo
  .venv/bin/python benchmarks/ablation.py --phase training --minutes 60 \
      --configs demo   # so far the only 60-minute run
  .venv/bin/python benchmarks/ablation.py --phase table --report-minutes 5 15 60
"""

import argparse
import dataclasses
import json
import math
import os
import statistics
import time

import keras

import tfp_realnvp
from tfp_realnvp import data
from tfp_realnvp import evaluation
from tfp_realnvp import presets
from tfp_realnvp import training

HERE = os.path.dirname(os.path.abspath(__file__))
DATASET = "mnist_bundled"
# The later components on top of the variational dequantization, each alone.
_VARIATIONAL = {"dequantization": "variational"}

#: name -> (description, preset, ModelConfig overrides). Each is trained with
#: its preset's batch size, learning rate and schedule; a cosine schedule
#: spans the run's budget (so its figure at a shorter time comes from a run
#: of that budget).
CONFIGS = {
    "paper": ("the paper's recipe (uniform dequantization, batch norm, affine "
              "couplings; preset mnist_bundled_paper: batch 64, constant "
              "learning rate)", "mnist_bundled_paper", {}),
    "variational": ("+ variational dequantization (Flow++)",
                    "mnist_bundled_paper", _VARIATIONAL),
    "actnorm": ("+ variational dequantization, actnorm instead of batch norm "
                "(Glow)", "mnist_bundled_paper",
                {**_VARIATIONAL, "normalization": "actnorm"}),
    "1x1_conv": ("+ variational dequantization, invertible 1x1 convolutions "
                 "(Glow)", "mnist_bundled_paper",
                 {**_VARIATIONAL, "invertible_1x1_conv": True}),
    "additive": ("+ variational dequantization, additive couplings (NICE)",
                 "mnist_bundled_paper",
                 {**_VARIATIONAL, "coupling": "additive"}),
    "demo": ("make demo's preset mnist_bundled: variational dequantization, "
             "batch 16, cosine schedule over the run, weight averaging "
             "(momentum 0.99)", "mnist_bundled", {}),
}


def build(name, epochs=1):
  """The configuration's model (seed 0), compiled to train `epochs` epochs, and its (train, validation) pipelines."""
  _, preset_name, overrides = CONFIGS[name]
  preset = presets.get(preset_name)
  keras.utils.set_random_seed(0)
  model = tfp_realnvp.RealNVP.from_preset(preset_name, compile=False,
                                          **overrides)
  model.compile(optimizer=dataclasses.replace(preset, epochs=epochs).optimizer())
  return model, data.fit_pipelines(DATASET, preset.batch_size, seed=0)


def timing_phase(names, rounds):
  """Median seconds of one `fit` epoch (validation included) per configuration, epochs in turns."""
  built = {name: build(name) for name in names}
  seconds = {name: [] for name in names}
  for round_ in range(rounds + 1):  # Round 0 warms up (tracing).
    for name, (model, (train, validation)) in built.items():
      start = time.perf_counter()
      model.fit(train, validation_data=validation, epochs=1, verbose=0)
      if round_:
        seconds[name].append(time.perf_counter() - start)
      print(f"round {round_} {name}: {time.perf_counter() - start:.1f} s",
            flush=True)
  return {name: {"all_seconds": values} for name, values in seconds.items()}


def training_phase(name, epoch_seconds, minutes, num_samples, runs_dir):
  """`tfp-realnvp train` (`tfp_realnvp.training.train`) of the configuration for the epochs that fit in `minutes`, then `evaluate` of its model."""
  epochs = max(1, math.floor(minutes * 60 / epoch_seconds))
  _, preset_name, overrides = CONFIGS[name]
  output_dir = os.path.join(runs_dir, f"{name}_{minutes:g}min")
  metrics = training.train(training.TrainConfig.from_preset(
      preset_name, epochs=epochs, output_dir=output_dir,
      export_dir=os.path.join(output_dir, "saved_models"), overwrite=True,
      tensorboard=False, verbose=0, **overrides))
  return run_result(name, metrics, epoch_seconds, minutes, num_samples,
                    output_dir)


def record_phase(name, run_dir, epoch_seconds, minutes, num_samples):
  """The finished `tfp-realnvp train` run in `run_dir` (e.g. make demo's runs/demo) as the configuration's run of `minutes`, at its epoch time of the timing phase (as every other run)."""
  with open(os.path.join(run_dir, "metrics.json"), encoding="utf-8") as file:
    metrics = json.load(file)
  return run_result(name, metrics, epoch_seconds, minutes, num_samples,
                    run_dir)


def run_result(name, metrics, epoch_seconds, minutes, num_samples,
               output_dir):
  """The run's entry of <output>.json: its curve from `metrics` (`training.train`'s), and `evaluate` of its model.keras with 1 and `num_samples` draws."""
  description, preset_name, overrides = CONFIGS[name]
  history = metrics["history"]
  final = {str(k): evaluation.evaluate(
      os.path.join(output_dir, "model.keras"), DATASET, num_samples=k,
      verbose=0)["bits_per_dim"] for k in sorted({1, num_samples})}
  return {"name": name, "description": description, "preset": preset_name,
          "overrides": overrides, "num_parameters": metrics["num_parameters"],
          "minutes": minutes, "epoch_seconds": epoch_seconds,
          "lr_schedule": presets.get(preset_name).lr_schedule,
          "training_seconds": metrics["training_seconds"],
          "epochs": [{"epoch": epoch + 1, "bits_per_dim": train_bits,
                      "val_bits_per_dim": held_out}
                     for epoch, (train_bits, held_out) in enumerate(zip(
                         history["bits_per_dim"],
                         history["val_bits_per_dim"]))],
          "evaluate": final, "output_dir": output_dir}


def run_for(runs, minutes):
  """The run whose curve gives the figure at `minutes`: the run of that budget, or (constant learning rate) a longer one; None if none."""
  if minutes in runs:
    return runs[minutes]
  longer = [run for budget, run in runs.items() if budget >= minutes and
            run["lr_schedule"] == "constant"]
  return longer[0] if longer else None


def held_out_at(result, minutes):
  """(held-out bits/dim, epoch) of the last epoch ending within `minutes`; (None, 0) if none."""
  count = math.floor(minutes * 60 / result["epoch_seconds"] + 1e-9)
  within = result["epochs"][:count]
  return (within[-1]["val_bits_per_dim"], within[-1]["epoch"]) if within else (
      None, 0)


def minutes_to(result, threshold):
  """Minutes until the held-out figure first reaches `threshold`, or None."""
  for epoch in result["epochs"]:
    if epoch["val_bits_per_dim"] <= threshold:
      return epoch["epoch"] * result["epoch_seconds"] / 60
  return None


def table(results, report_minutes, threshold, num_samples):
  """The Markdown table: one row per configuration; `results` maps name -> {budget minutes: run}."""
  header = ("| configuration | parameters | s/epoch: in turns (its run) | " +
            " | ".join(f"held-out at {m:g} min (epoch)" for m in report_minutes)
            + f" | minutes to {threshold} | longest run: final, K=1 | final, "
            f"K={num_samples} |")
  lines = [header, "|" + "---|" * (header.count("|") - 1)]
  for name in CONFIGS:
    runs = {float(budget): run for budget, run in results.get(name, {}).items()}
    if not runs:
      continue
    longest = runs[max(runs)]
    cells = []
    for minutes in report_minutes:
      run = run_for(runs, minutes)
      value, epoch = (None, 0) if run is None else held_out_at(run, minutes)
      cells.append("-" if value is None else f"{value:.3f} ({epoch})")
    reached = [m for m in (minutes_to(run, threshold) for run in runs.values())
               if m is not None]
    final = longest["evaluate"]
    lines.append(
        f"| {longest['description']} | {longest['num_parameters']:,} | "
        f"{longest['epoch_seconds']:.1f} ("
        f"{longest['training_seconds'] / len(longest['epochs']):.1f}) | " +
        " | ".join(cells) +
        f" | {f'{min(reached):.1f}' if reached else '-'} | "
        f"{final['1']:.3f} | {final.get(str(num_samples), float('nan')):.3f} |")
  return "\n".join(lines)


def _read(path):
  if not os.path.exists(path):
    return {}
  with open(path, encoding="utf-8") as file:
    return json.load(file)


def _write(value, path):
  with open(path, "w", encoding="utf-8") as file:
    json.dump(value, file, indent=1)


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--phase", choices=("timing", "training", "record",
                                          "table"), required=True)
  parser.add_argument("--run-dir", default="runs/demo",
                      help="--phase record: the finished run to record")
  parser.add_argument("--configs", nargs="+", default=list(CONFIGS),
                      choices=list(CONFIGS))
  parser.add_argument("--timing-rounds", type=int, default=3)
  parser.add_argument("--minutes", type=float, default=60.0,
                      help="training budget per configuration")
  parser.add_argument("--report-minutes", type=float, nargs="+",
                      default=[5, 15, 60])
  parser.add_argument("--threshold", type=float, default=1.60)
  parser.add_argument("--num-samples", type=int, default=16,
                      help="importance samples of the final evaluation")
  parser.add_argument("--output", default=os.path.join(HERE, "ablation"),
                      help="path without suffix of the output files")
  parser.add_argument("--runs-dir", default="runs/ablation",
                      help="where each training run's directory goes")
  args = parser.parse_args()
  timing_path, results_path = args.output + "_timing.json", args.output + ".json"
  if args.phase == "timing":  # Rounds add to those of earlier runs.
    timing = _read(timing_path)
    for name, measured in timing_phase(args.configs,
                                       args.timing_rounds).items():
      values = timing.get(name, {}).get("all_seconds", []) + measured[
          "all_seconds"]
      timing[name] = {"epoch_seconds": statistics.median(values),
                      "all_seconds": values}
    _write(timing, timing_path)
    return
  results = _read(results_path)
  timing = _read(timing_path)
  for name in args.configs if args.phase != "table" else ():
    if name not in timing:
      parser.error(f"no epoch time for {name!r} in {timing_path}: run "
                   f"--phase timing first")
  if args.phase == "training":
    for name in args.configs:
      print(f"== {name}, {args.minutes:g} minutes", flush=True)
      results.setdefault(name, {})[f"{args.minutes:g}"] = training_phase(
          name, timing[name]["epoch_seconds"], args.minutes, args.num_samples,
          args.runs_dir)
      _write(results, results_path)
  if args.phase == "record":  # One configuration: the first of --configs.
    results.setdefault(args.configs[0], {})[f"{args.minutes:g}"] = (
        record_phase(args.configs[0], args.run_dir,
                     timing[args.configs[0]]["epoch_seconds"], args.minutes,
                     args.num_samples))
    _write(results, results_path)
  markdown = table(results, args.report_minutes, args.threshold,
                   args.num_samples)
  with open(args.output + ".md", "w", encoding="utf-8") as file:
    file.write(markdown + "\n")
  print(markdown)


if __name__ == "__main__":
  main()
