"""Input-pipeline throughput of a folder of images against the training step, with and without --cache.

Writes a folder of generated 64x64 RGB JPEGs (10 classes; smooth random
fields, so they compress like photographs), then measures, in one process
and in turns:

- reading: `tfp_realnvp.data.spec` of the folder (every file decoded and
  checked, as `train` does before it starts), in memory and with a disk
  cache directory;
- the training pipeline (`data.fit_pipelines`, batch 64): images per second
  of its first epoch and of a second one (the in-memory source serves
  decoded arrays; the cached one decodes the files in its first epoch and
  reads tf.data's cache file in the next);
- the training step: images per second of `fit` on batches already in
  memory, for the mnist_bundled preset's architecture on 64x64x3 images.

A pipeline faster than the step does not slow training; the ratios say by
how much. Usage:

  .venv/bin/python benchmarks/input_pipeline.py --images 10000
"""

import argparse
import json
import os
import tempfile
import time

import keras
import numpy as np
from PIL import Image

import tfp_realnvp
from tfp_realnvp import data
from tfp_realnvp.sources import ImageOptions

HERE = os.path.dirname(os.path.abspath(__file__))
SIZE = 64
CLASSES = 10
BATCH = 64


def write_folder(root, count, seed=0):
  """`count` smooth random 64x64 RGB JPEGs in CLASSES class subfolders."""
  rng = np.random.default_rng(seed)
  for index in range(count):
    coarse = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    image = Image.fromarray(coarse).resize((SIZE, SIZE), Image.BILINEAR)
    folder = os.path.join(root, f"class_{index % CLASSES}")
    os.makedirs(folder, exist_ok=True)
    image.save(os.path.join(folder, f"{index:05d}.jpg"), quality=90)


def pipeline_rate(folder, options, epochs=2):
  """Seconds of reading the folder, then images/s of each of `epochs` passes of the training pipeline."""
  start = time.perf_counter()
  data.spec(folder, options)
  read_seconds = time.perf_counter() - start
  train, _ = data.fit_pipelines(folder, BATCH, options=options)
  rates = []
  for _ in range(epochs):
    start, images = time.perf_counter(), 0
    for batch, _ in train:
      images += int(batch.shape[0])
    rates.append(images / (time.perf_counter() - start))
  return read_seconds, rates


def step_rate(steps=20):
  """Images/s of the training step of the mnist_bundled architecture on 64x64x3, data in memory."""
  keras.utils.set_random_seed(0)
  model = tfp_realnvp.RealNVP.from_preset(
      "mnist_bundled", compile=False, image_shape=(SIZE, SIZE, 3),
      num_classes=CLASSES)
  model.compile()
  images = np.random.default_rng(0).integers(
      0, 256, (BATCH * 4, SIZE, SIZE, 3)).astype(np.uint8)
  labels = np.arange(len(images)) % CLASSES
  model.fit(images, labels, batch_size=BATCH, epochs=1, verbose=0)  # Trace.
  start = time.perf_counter()
  model.fit(images, labels, batch_size=BATCH, epochs=steps // 4, verbose=0)
  return (steps // 4) * len(images) / (time.perf_counter() - start)


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--images", type=int, default=10_000)
  parser.add_argument("--output", default=os.path.join(
      HERE, "input_pipeline_results.json"))
  args = parser.parse_args()
  with tempfile.TemporaryDirectory() as root:
    folder = os.path.join(root, "images")
    start = time.perf_counter()
    write_folder(folder, args.images)
    print(f"wrote {args.images} JPEGs in {time.perf_counter() - start:.0f} s")
    memory = pipeline_rate(folder, ImageOptions())
    cached = pipeline_rate(folder, ImageOptions(
        cache_dir=os.path.join(root, "cache")))
  step = step_rate()
  results = {
      "images": args.images, "image_shape": [SIZE, SIZE, 3],
      "batch_size": BATCH,
      "read_seconds": {"memory": memory[0], "cache": cached[0]},
      "pipeline_images_per_second": {"memory": memory[1],
                                     "cache": cached[1]},
      "train_step_images_per_second": step,
      "pipeline_over_step": {
          "memory": [rate / step for rate in memory[1]],
          "cache": [rate / step for rate in cached[1]]},
  }
  with open(args.output, "w", encoding="utf-8") as file:
    json.dump(results, file, indent=2)
  print(json.dumps(results, indent=2))


if __name__ == "__main__":
  main()
