"""Grids of samples from a trained model (`.keras` file, checkpoint or SavedModel): `tfp-realnvp sample`.

A sample is x = f^-1(z) with z ~ N(0, T^2 I): the flow's inverse applied to
a draw from the standard normal prior (Dinh et al. 2017, "Density estimation
using Real NVP": the change of variables of sec. 3.1, samples in sec. 4.2),
scaled by a temperature T. T = 1 samples the model's density; T < 1 is the
reduced-temperature sampling of Parmar et al. 2018 ("Image Transformer") and
Kingma & Dhariwal 2018 ("Glow", whose samples use T = 0.7), which trades
diversity for cleaner images.
"""

import dataclasses
import math
import os

import keras
import numpy as np
import tensorflow as tf

from tfp_realnvp import validation
from tfp_realnvp.images import image_grid
from tfp_realnvp.images import save_image_grid
from tfp_realnvp.loading import SAMPLE_BATCH_SIZE

#: Temperature of train's samples.png, the TensorBoard grids and `tfp-realnvp sample`.
DEFAULT_TEMPERATURE = 0.8
UNCONDITIONAL_COLUMNS = 8  # 8 x 8 samples by default, like train's samples.png.
CONDITIONAL_COLUMNS = 10  # Samples per class row, like train's samples.png.
FILLER_PIXEL = 128.0  # The gray of `image_grid`'s background and borders.
#: The file name suffix of `write_sample_grid`'s output (any case).
PNG_SUFFIX = ".png"


@dataclasses.dataclass
class SampleGrid:
  """Samples laid out as a grid: one block of rows per temperature.

  Attributes:
    tiles: float32 [num_rows * num_columns, H, W, C], pixels in [0, 256),
      row-major; cells after a block's last sample hold gray filler tiles
      (FILLER_PIXEL).
    num_columns: tiles per row.
    temperatures: the temperature of each block, in order.
    labels: the labels of every block's samples (the same in each block),
      or None for an unconditional model.
    samples_per_temperature: samples in each block.
  """
  tiles: np.ndarray
  num_columns: int
  temperatures: list
  labels: list | None
  samples_per_temperature: int

  @property
  def num_rows(self):
    """Rows of tiles."""
    return len(self.tiles) // self.num_columns

  def image(self):
    """The grid as one image (`images.image_grid`).

    Returns:
      uint8 numpy array [rows * (H + 1) + 1, columns * (W + 1) + 1, C],
      pixels in [0, 256).
    """
    return image_grid(self.tiles, self.num_columns)


def draw_sample_grid(model, temperatures=(DEFAULT_TEMPERATURE,), labels=None,
                     num_samples=None, num_columns=None, seed=0,
                     batch_size=SAMPLE_BATCH_SIZE, verbose=0):
  """Draws samples for a grid: the same set of samples at every temperature.

  Each temperature T gets one block of rows holding the samples
  f^-1(T z_i) of the same latents z_i (the same seed), so that column j of
  every block shows one latent at different temperatures. A block of B
  samples fills ceil(B / num_columns) rows. The samples of a block are:

  - a conditional model: one per entry of `labels` (default: every class
    `num_columns` times, a row per class, like train's samples.png);
  - an unconditional model: `num_samples` (default: num_columns^2 with one
    temperature, like train's 8 x 8 samples.png; one row, num_columns, with
    several).

  The flow runs on `batch_size` samples at a time
  (`TrainedModel.sample_batches`); the seeded grid is the same for every
  batch size.

  Args:
    model: a `tfp_realnvp.loading.TrainedModel` (`loading.load`,
      `loading.from_keras`).
    temperatures: float > 0 or a non-empty sequence of them, standard
      deviations of the latents (unit: prior standard deviations; 1 samples
      the model's density).
    labels: int class labels in [0, K), one per sample, for a conditional
      model; None for the default rows per class.
    num_samples: int >= 1, samples per temperature of an unconditional model.
    num_columns: int >= 1 tiles per row; default 10 for a conditional model,
      8 otherwise.
    seed: int (the same seed gives the same grid), or None for fresh samples
      (from a SavedModel: its `sample` signature, not reproducible).
    batch_size: int >= 1, samples per call of the flow (memory holds one
      batch's activations).
    verbose: 0 nothing, 1 a Keras progress bar over the samples, 2 one line
      when they are done.

  Returns:
    A `SampleGrid`.

  Raises:
    ValueError: no temperature, a temperature that is not a number, <= 0 or
      not finite; num_columns, num_samples or batch_size not an int >= 1;
      a seed that is not an int or None; labels and num_samples both given;
      labels for an unconditional model, labels that are not ints or lie
      outside [0, K); num_samples without labels for a conditional model, or
      no labels for a conditional SavedModel whose class count is unknown;
      a model with a condition (`condition_shape`: its samples need one
      each, `tfp_realnvp.conditions.condition_grid` draws them).
    tf.errors.InvalidArgumentError: labels out of range for such a
      SavedModel (its own check names the range).
  """
  if getattr(model, "condition_shape", None) is not None:
    raise ValueError(
        f"The model is conditioned on a condition of shape "
        f"{list(model.condition_shape)}: its samples need one per sample. "
        f"train writes their grid (conditions.png); in Python, "
        f"model.sample(temperature, condition=...).")
  temperatures = [float(t)
                  for t in validation.temperature_values(temperatures)]
  if num_columns is None:
    num_columns = (CONDITIONAL_COLUMNS if model.conditional
                   else UNCONDITIONAL_COLUMNS)
  num_columns = validation.positive_int(num_columns, "num_columns")
  if labels is not None and num_samples is not None:
    raise ValueError(f"Pass labels (one per sample) or num_samples, not both; "
                     f"got labels {list(labels)} and num_samples "
                     f"{num_samples}.")
  labels = _checked_labels(model, labels, num_samples, num_columns)
  if labels is not None:
    count = len(labels)
  elif num_samples is not None:
    count = validation.positive_int(num_samples, "num_samples")
  else:
    count = num_columns ** 2 if len(temperatures) == 1 else num_columns
  progress = keras.utils.Progbar(count * len(temperatures), verbose=verbose,
                                 unit_name="sample")
  filler_count = math.ceil(count / num_columns) * num_columns - count
  tiles = []
  for temperature in temperatures:
    # The first call checks seed and batch_size before anything is drawn.
    for images in model.sample_batches(np.full(count, temperature, np.float32),
                                       labels, seed, batch_size):
      tiles.append(np.asarray(images, np.float32))
      progress.add(len(images))
    tiles.append(np.full((filler_count, *tiles[-1].shape[1:]), FILLER_PIXEL,
                         np.float32))
  return SampleGrid(np.concatenate(tiles), num_columns, temperatures,
                    None if labels is None else labels.tolist(), count)


def write_sample_grid(model, path, temperatures=(DEFAULT_TEMPERATURE,),
                      labels=None, num_samples=None, num_columns=None, seed=0,
                      scale=2, batch_size=SAMPLE_BATCH_SIZE, verbose=0):
  """Draws a sample grid (`draw_sample_grid`) and writes it as a PNG (Pillow, `images.save_image_grid`).

  Tiles are the samples floored to uint8 pixels, separated by 1-pixel gray
  borders, the whole grid enlarged `scale` times (nearest neighbour). The
  path is checked before anything is drawn, so that a mistyped `--output`
  (say the model file itself) is refused, not replaced by a PNG.

  Args:
    model, temperatures, labels, num_samples: as `draw_sample_grid`.
    num_columns, seed, batch_size, verbose: as `draw_sample_grid`.
    path: the PNG file (local or any TensorFlow filesystem), ending in .png
      (any case); missing parent directories are created.
    scale: int >= 1 enlargement.

  Returns:
    dict (JSON-serializable): `output` (path), `rows` and `columns` (tiles),
    `image_size` ([height, width] of the PNG in pixels), `temperatures`,
    `samples_per_temperature` and `seed` (the labels, up to 10 per class by
    default, are left out of this summary; `draw_sample_grid` gives them).

  Raises:
    ValueError: a path that does not end in .png or is a directory; as
      `draw_sample_grid`; scale < 1; images with other than 1 or 3
      channels.
    OSError: the file cannot be written.
  """
  path = _checked_png_path(path)
  scale = validation.positive_int(scale, "scale")
  grid = draw_sample_grid(model, temperatures, labels, num_samples,
                          num_columns, seed, batch_size, verbose)
  if os.path.dirname(path):
    tf.io.gfile.makedirs(os.path.dirname(path))
  save_image_grid(grid.tiles, path, grid.num_columns, scale)
  height, width = grid.tiles.shape[1:3]
  return {"output": path, "rows": grid.num_rows,
          "columns": grid.num_columns,
          "image_size": [scale * (grid.num_rows * (height + 1) + 1),
                         scale * (grid.num_columns * (width + 1) + 1)],
          "temperatures": grid.temperatures,
          "samples_per_temperature": grid.samples_per_temperature,
          "seed": seed}


def _checked_png_path(path):
  """`path` as a str, if it names a PNG file: it ends in .png and is no directory."""
  path = str(path)
  if not path.lower().endswith(PNG_SUFFIX):
    raise ValueError(f"The sample grid is a PNG image: its path must end in "
                     f"{PNG_SUFFIX}; got {path!r}.")
  if tf.io.gfile.isdir(path):
    raise ValueError(f"{path!r} is a directory: pass the path of the PNG file "
                     f"to write (ending in {PNG_SUFFIX}).")
  return path


def _checked_labels(model, labels, num_samples, num_columns):
  """int64 labels [B] for a conditional model (default: each class num_columns times), None otherwise."""
  if not model.conditional:
    if labels is not None:
      raise ValueError(f"The model is unconditional: it takes no labels; got "
                       f"labels {list(labels)}. Pass num_samples instead.")
    return None
  if labels is None:
    if num_samples is not None:
      raise ValueError(
          f"The model is class-conditional: it needs one label per sample. "
          f"Pass labels (ints in [0, {model.num_classes or 'K'})) instead "
          f"of num_samples, or neither for a row per class.")
    if model.num_classes is None:
      raise ValueError("The model is class-conditional and does not tell its "
                       "number of classes: pass labels, one int per sample.")
    return np.repeat(np.arange(model.num_classes, dtype=np.int64),
                     num_columns)
  values = np.asarray(labels)
  if values.ndim != 1 or not values.size:
    raise ValueError(f"labels must be a non-empty list of ints, one per "
                     f"sample; got {labels!r}.")
  if not np.issubdtype(values.dtype, np.integer):
    raise ValueError(f"labels must be ints; got {values.dtype} values "
                     f"{values.tolist()}.")
  if model.num_classes is not None:
    outside = sorted({int(v) for v in values
                      if not 0 <= v < model.num_classes})
    if outside:
      raise ValueError(f"labels must lie in [0, {model.num_classes}) for "
                       f"this model of {model.num_classes} classes; got "
                       f"{outside}.")
  return values.astype(np.int64)
