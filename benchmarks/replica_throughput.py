"""Training throughput on one device against MirroredStrategy on 2 logical CPU devices.

A correctness demonstration of the distributed path on a CPU-only machine, not
a speed claim: both logical devices share the same cores. Same global batch,
same architecture (the `make demo` one), same data; after one warm-up epoch,
the median images/s over the measured epochs. Usage:

  .venv/bin/python benchmarks/replica_throughput.py [--steps 20 --epochs 3]

Prints a table and writes benchmarks/replica_results.json.
"""

import argparse
import json
import os
import statistics

import tensorflow as tf

_CPU = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    _CPU, [tf.config.LogicalDeviceConfiguration()] * 2)

import keras  # pylint: disable=wrong-import-position

import tfp_realnvp  # pylint: disable=wrong-import-position
from tfp_realnvp import data  # pylint: disable=wrong-import-position
from tfp_realnvp.callbacks import TrainingThroughput  # pylint: disable=wrong-import-position
from tfp_realnvp.data import make_pipeline  # pylint: disable=wrong-import-position

HERE = os.path.dirname(os.path.abspath(__file__))


def measure(strategy, dataset, batch_size, steps, epochs):
  keras.utils.set_random_seed(0)
  with strategy.scope():
    model = tfp_realnvp.RealNVP((28, 28, 1), num_scales=3,
                                num_coupling_layers=3, num_res_blocks=2,
                                filters=32, num_classes=10)
    model.compile()
  throughput = TrainingThroughput(batch_size)
  history = model.fit(dataset, epochs=epochs + 1, steps_per_epoch=steps,
                      callbacks=[throughput], verbose=0)
  per_epoch = history.history["images_per_second"][1:]  # Skip warm-up.
  return statistics.median(per_epoch), history.history["bits_per_dim"][-1]


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--batch-size", type=int, default=64)
  parser.add_argument("--steps", type=int, default=20)
  parser.add_argument("--epochs", type=int, default=3)
  args = parser.parse_args()
  dataset = make_pipeline(data.load("mnist_bundled", "train"),
                          args.batch_size, training=True).repeat()
  results = {}
  for name, strategy in (
      ("one_device", tf.distribute.get_strategy()),
      ("mirrored_2_logical_cpus",
       tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]))):
    images_per_second, bits = measure(strategy, dataset, args.batch_size,
                                      args.steps, args.epochs)
    results[name] = {"images_per_second": images_per_second,
                     "final_train_bits_per_dim": bits}
  ratio = (results["mirrored_2_logical_cpus"]["images_per_second"] /
           results["one_device"]["images_per_second"])
  report = {"batch_size": args.batch_size, "steps_per_epoch": args.steps,
            "cpu_cores": os.cpu_count(), "results": results,
            "mirrored_over_one_device": ratio}
  with open(os.path.join(HERE, "replica_results.json"), "w",
            encoding="utf-8") as file:
    json.dump(report, file, indent=2)
  print(f"{'setting':28s} {'images/s':>9s} {'train bits/dim':>15s}")
  for name, values in results.items():
    print(f"{name:28s} {values['images_per_second']:9.1f} "
          f"{values['final_train_bits_per_dim']:15.3f}")
  print(f"mirrored / one device: {ratio:.2f}x")


if __name__ == "__main__":
  main()
