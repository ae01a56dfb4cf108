"""log_prob and sample throughput: the SavedModel against the in-process Keras model.

Both run in this one process on the same batches, after warm-up; each figure
is the median over repeats. Usage:

  .venv/bin/python benchmarks/serving_throughput.py [--model runs/demo/model.keras]

Without --model it builds the `make demo` architecture with fresh weights
(throughput does not depend on the weights). Prints a table and writes
benchmarks/serving_results.json.
"""

import argparse
import json
import os
import platform
import statistics
import tempfile
import time

import keras
import numpy as np
import tensorflow as tf

import tfp_realnvp
from tfp_realnvp.export import export_saved_model
from tfp_realnvp.loading import load_keras_model

HERE = os.path.dirname(os.path.abspath(__file__))


def median_images_per_second(fn, batch_size, repeats, warmup=2):
  for _ in range(warmup):
    fn()
  seconds = []
  for _ in range(repeats):
    start = time.perf_counter()
    fn()
    seconds.append(time.perf_counter() - start)
  return batch_size / statistics.median(seconds)


def demo_architecture():
  return tfp_realnvp.RealNVP((28, 28, 1), num_scales=3, num_coupling_layers=3,
                             num_res_blocks=2, filters=32, num_classes=10)


def serving_calls(model, loaded, batch_size):
  """The calls compared, each on one batch of `batch_size`: `model`'s log_prob
  (eager and in a tf.function) and sample (tf.function), and the `log_prob`
  and `sample` signatures of `loaded`, its SavedModel.

  Returns:
    dict: name -> function of no arguments.
  """
  rng = np.random.default_rng(0)
  images = tf.constant(rng.uniform(0, 256, (batch_size, *model.image_shape)),
                       tf.float32)
  labels = (None if model.num_classes is None else tf.constant(
      rng.integers(0, model.num_classes, batch_size), tf.int64))
  temperature = tf.fill([batch_size], 0.8)
  label_kwargs = {} if labels is None else {"labels": labels}
  keras_log_prob = tf.function(model.log_prob)
  keras_sample = tf.function(model.sample_at_temperatures)
  served_log_prob = loaded.signatures["log_prob"]
  served_sample = loaded.signatures["sample"]
  return {
      "log_prob_keras_eager": lambda: model.log_prob(images, labels),
      "log_prob_keras_graph": lambda: keras_log_prob(images, labels),
      "log_prob_saved_model": lambda: served_log_prob(
          images=images, **label_kwargs),
      "sample_keras_graph": lambda: keras_sample(temperature, labels),
      "sample_saved_model": lambda: served_sample(
          temperature=temperature, **label_kwargs),
  }


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--model", default="", help=".keras file to measure")
  parser.add_argument("--batch-size", type=int, default=64)
  parser.add_argument("--repeats", type=int, default=10)
  parser.add_argument("--output", default=os.path.join(
      HERE, "serving_results.json"))
  args = parser.parse_args()

  model = load_keras_model(args.model) if args.model else demo_architecture()
  batch = args.batch_size
  with tempfile.TemporaryDirectory() as directory:
    loaded = tf.saved_model.load(export_saved_model(model, directory, "bench"))
    calls = serving_calls(model, loaded, batch)
    figures = {
        name: median_images_per_second(
            call, batch,
            max(2, args.repeats // 5) if name.endswith("eager")
            else args.repeats)
        for name, call in calls.items()}
  ratios = {
      "log_prob_saved_model_over_keras_graph":
          figures["log_prob_saved_model"] / figures["log_prob_keras_graph"],
      "log_prob_saved_model_over_keras_eager":
          figures["log_prob_saved_model"] / figures["log_prob_keras_eager"],
      "sample_saved_model_over_keras_graph":
          figures["sample_saved_model"] / figures["sample_keras_graph"],
  }
  report = {
      "machine": f"{platform.processor() or platform.machine()}, "
                 f"{os.cpu_count()} cores, TF {tf.__version__}, "
                 f"Keras {keras.__version__}",
      "batch_size": batch, "model": args.model or "demo architecture",
      "images_per_second": figures, "ratios": ratios,
  }
  with open(args.output, "w", encoding="utf-8") as file:
    json.dump(report, file, indent=2)
  print(report["machine"])
  print(f"{'measure':40s} {'images/s':>10s}")
  for name, value in figures.items():
    print(f"{name:40s} {value:10.1f}")
  for name, value in ratios.items():
    print(f"{name:40s} {value:10.2f}x")


if __name__ == "__main__":
  main()
