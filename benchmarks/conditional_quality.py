"""Held-out bits/dim of models conditioned on a task against the unconditional model, trained the same way on the bundled MNIST.

Each configuration is `tfp-realnvp train --preset mnist_bundled --epochs E
--no-conditional [--condition TASK]` (`tfp_realnvp.training.train`), so every
run has the same architecture, optimizer, seed and epochs; only the
condition differs (no class label: the first row is the unconditional
model). For
each conditioned model the script also reports:

- the held-out bits/dim with the conditions of other images (the held-out
  set's conditions reversed): a model that ignores its condition scores the
  same as with its own;
- for downsampled:F, the mean absolute difference in pixel levels between
  the condition and its samples (T = 1) downsampled again, against the
  difference between other images' conditions.

Usage:

  .venv/bin/python benchmarks/conditional_quality.py --epochs 3 \\
      --conditions none downsampled:2 downsampled:4 masked:bottom

writes benchmarks/conditional_quality.{json,md} (runs in runs/conditional/).
"""

import argparse
import json
import os

import numpy as np
import tensorflow as tf

from tfp_realnvp import conditions
from tfp_realnvp import data
from tfp_realnvp.loading import load_keras_model
from tfp_realnvp.training import TrainConfig
from tfp_realnvp.training import train

HERE = os.path.dirname(os.path.abspath(__file__))


def run(condition, epochs, runs_dir):
  """Trains one configuration; returns its figures."""
  output_dir = os.path.join(runs_dir, condition.replace(":", "_"))
  config = TrainConfig.from_preset(
      "mnist_bundled", epochs=epochs, conditional=False,
      condition="" if condition == "none" else condition,
      output_dir=output_dir, verbose=2, tensorboard=False,
      export_dir=os.path.join(runs_dir, "saved_models"), overwrite=True)
  metrics = train(config)
  result = {"condition": condition, "epochs": epochs,
            "held_out_bits_per_dim": metrics["test_bits_per_dim"],
            "training_seconds": metrics["training_seconds"]}
  task = config.condition_task()
  if task is not None:
    result.update(_condition_checks(config, task, output_dir))
  return result


def _condition_checks(config, task, output_dir):
  model = load_keras_model(os.path.join(output_dir, "model.keras"))
  _, validation = config.fit_pipelines()
  examples = list(config.held_out_pipeline(validation).unbatch()
                  .as_numpy_iterator())
  images = np.stack([example["images"] for example in examples])
  condition = np.stack([example["condition"] for example in examples])
  shuffled = tf.data.Dataset.from_tensor_slices(
      (images, condition[::-1])).batch(config.batch_size)
  figures = {"held_out_other_conditions_bits_per_dim": model.evaluate(
      shuffled, verbose=0, return_dict=True)["bits_per_dim"]}
  if isinstance(task, conditions.Downsampled):
    chosen = slice(None, None, 5)
    samples = model.sample(len(images[chosen]), condition=condition[chosen],
                           seed=0)
    figures["sample_condition_error_pixels"] = float(np.abs(
        task(samples).numpy() - condition[chosen]).mean() * 256)
    figures["other_condition_error_pixels"] = float(np.abs(
        condition[::-1] - condition).mean() * 256)
  return figures


def table(results):
  """The Markdown table of `results` (the unconditional row first)."""
  baseline = next((r["held_out_bits_per_dim"] for r in results
                   if r["condition"] == "none"), None)
  lines = ["| condition | held-out bits/dim | gain over unconditional | "
           "with other images' conditions | sample vs condition (pixels) |",
           "|---|---|---|---|---|"]
  for result in results:
    value = result["held_out_bits_per_dim"]
    gain = "-" if baseline is None or result["condition"] == "none" else (
        f"{baseline - value:.3f}")
    other = result.get("held_out_other_conditions_bits_per_dim")
    error = result.get("sample_condition_error_pixels")
    lines.append(
        f"| {result['condition']} | {value:.3f} | {gain} | "
        f"{'-' if other is None else f'{other:.3f}'} | "
        + ("-" if error is None else
           f"{error:.1f} (other images: "
           f"{result['other_condition_error_pixels']:.1f})") + " |")
  return "\n".join(lines)


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--epochs", type=int, default=3)
  parser.add_argument("--conditions", nargs="+",
                      default=["none", "downsampled:2", "downsampled:4",
                               "masked:bottom"])
  parser.add_argument("--runs-dir", default="runs/conditional")
  parser.add_argument("--output", default=os.path.join(
      HERE, "conditional_quality"))
  args = parser.parse_args()
  results = [run(condition, args.epochs, args.runs_dir)
             for condition in args.conditions]
  with open(args.output + ".json", "w", encoding="utf-8") as file:
    json.dump(results, file, indent=1)
  markdown = table(results)
  with open(args.output + ".md", "w", encoding="utf-8") as file:
    file.write(markdown + "\n")
  print(markdown)


if __name__ == "__main__":
  main()
