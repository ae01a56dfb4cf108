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

import numpy as np
import tensorflow as tf

from tfp_realnvp.images import image_grid
from tfp_realnvp.images import save_image_grid

#: Temperature of train's samples.png, the TensorBoard grids and `tfp-realnvp sample`.
DEFAULT_TEMPERATURE = 0.8
UNCONDITIONAL_COLUMNS = 8  # 8 x 8 samples by default, like train's samples.png.
CONDITIONAL_COLUMNS = 10  # Samples per class row, like train's samples.png.
FILLER_PIXEL = 128.0  # The gray of `image_grid`'s background and borders.


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
                     num_samples=None, num_columns=None, seed=0):
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

  Returns:
    A `SampleGrid`.

  Raises:
    ValueError: no temperature, a temperature <= 0 or not finite;
      num_columns or num_samples < 1; labels and num_samples both given;
      labels for an unconditional model, labels that are not ints or lie
      outside [0, K); num_samples without labels for a conditional model, or
      no labels for a conditional SavedModel whose class count is unknown.
    tf.errors.InvalidArgumentError: labels out of range for such a
      SavedModel (its own check names the range).
  """
  temperatures = _checked_temperatures(temperatures)
  if num_columns is None:
    num_columns = (CONDITIONAL_COLUMNS if model.conditional
                   else UNCONDITIONAL_COLUMNS)
  num_columns = _positive_int(num_columns, "num_columns")
  if labels is not None and num_samples is not None:
    raise ValueError(f"Pass labels (one per sample) or num_samples, not both; "
                     f"got labels {list(labels)} and num_samples "
                     f"{num_samples}.")
  labels = _checked_labels(model, labels, num_samples, num_columns)
  if labels is not None:
    count = len(labels)
  elif num_samples is not None:
    count = _positive_int(num_samples, "num_samples")
  else:
    count = num_columns ** 2 if len(temperatures) == 1 else num_columns
  rows_per_block = math.ceil(count / num_columns)
  blocks = []
  for temperature in temperatures:
    images = np.asarray(model.sample(np.full(count, temperature, np.float32),
                                     labels, seed), np.float32)
    filler = np.full((rows_per_block * num_columns - count, *images.shape[1:]),
                     FILLER_PIXEL, np.float32)
    blocks += [images, filler]
  return SampleGrid(np.concatenate(blocks), num_columns, temperatures,
                    None if labels is None else labels.tolist(), count)


def write_sample_grid(model, path, temperatures=(DEFAULT_TEMPERATURE,),
                      labels=None, num_samples=None, num_columns=None, seed=0,
                      scale=2):
  """Draws a sample grid (`draw_sample_grid`) and writes it as a PNG (Pillow, `images.save_image_grid`).

  Tiles are the samples floored to uint8 pixels, separated by 1-pixel gray
  borders, the whole grid enlarged `scale` times (nearest neighbour).

  Args:
    model, temperatures, labels, num_samples, num_columns, seed: as
      `draw_sample_grid`.
    path: the PNG file (local or any TensorFlow filesystem); missing parent
      directories are created.
    scale: int >= 1 enlargement.

  Returns:
    dict (JSON-serializable): `output` (path), `rows` and `columns` (tiles),
    `image_size` ([height, width] of the PNG in pixels), `temperatures`,
    `samples_per_temperature` and `seed` (the labels, up to 10 per class by
    default, are left out of this summary; `draw_sample_grid` gives them).

  Raises:
    ValueError: as `draw_sample_grid`, scale < 1, or images with other
      than 1 or 3 channels.
    OSError: the file cannot be written.
  """
  scale = _positive_int(scale, "scale")
  grid = draw_sample_grid(model, temperatures, labels, num_samples,
                          num_columns, seed)
  path = str(path)
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


def _checked_temperatures(temperatures):
  values = np.atleast_1d(np.asarray(temperatures, np.float64))
  if values.ndim != 1 or not values.size:
    raise ValueError(f"Give one or more temperatures; got {temperatures!r}.")
  bad = [float(t) for t in values if not (np.isfinite(t) and t > 0)]
  if bad:
    raise ValueError(f"temperature must be finite and > 0 (the latents' "
                     f"standard deviation; 1 samples the model, 0.7-0.8 gives "
                     f"smoother images); got {bad}.")
  return [float(t) for t in values]


def _positive_int(value, name):
  if int(value) != value or int(value) < 1:
    raise ValueError(f"{name} must be an int >= 1; got {value!r}.")
  return int(value)


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
