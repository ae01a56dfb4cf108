"""Condition tasks: a condition computed from every image, for conditional invertible networks (Ardizzone et al. 2019).

A task turns an image data set into (image, condition) pairs; a model with
`condition_shape=task.condition_shape(image_shape)` then learns
p(image | condition), the full distribution of images that agree with the
condition, with exact likelihoods:

- `downsampled:F` (super-resolution): the image average-pooled by F,
  [H/F, W/F, C];
- `masked:SPEC` (inpainting): the image with a region hidden (set to 0)
  and the 0/1 mask of that region (1 = hidden), [H, W, C + 1]; SPEC is
  "center" (the middle H/2 x W/2), "top", "bottom", "left", "right" (that
  half) or "ROW,COL,HEIGHT,WIDTH" (a box, in pixels);
- `grayscale` (colorization): the luminance of RGB images (ITU-R BT.601,
  `tf.image.rgb_to_grayscale`), [H, W, 1].

Conditions are float32 with pixel values divided by 256 (`PIXEL_LEVELS`),
in [0, 1), so that the conditioning network sees values of order 1; the
mask channel is 0 or 1. `parse("downsampled:4")` gives the task.
"""

import dataclasses

import numpy as np
import tensorflow as tf

from tfp_realnvp.bijectors.preprocessing import PIXEL_LEVELS
from tfp_realnvp.images import save_image_grid

#: Task names (`parse` reads each with its argument, where it takes one).
TASKS = ("downsampled", "masked", "grayscale")
#: The named regions a masked task may hide (`Masked`).
MASK_REGIONS = ("center", "top", "bottom", "left", "right")
#: Pixel value of the hidden region when a masked condition is shown.
HIDDEN_PIXEL = 128.0


class ConditionError(ValueError):
  """A condition task that is malformed or does not fit the images."""


def parse(spec):
  """The task a `--condition` string names.

  Args:
    spec: "downsampled:F" (F an int >= 2), "masked:SPEC" (see the module
      docstring) or "grayscale".

  Returns:
    A `Downsampled`, `Masked` or `Grayscale` task.

  Raises:
    ConditionError (a ValueError): an unknown task or a malformed argument,
      naming the valid forms.
  """
  name, _, argument = str(spec).partition(":")
  if name == "downsampled":
    try:
      factor = int(argument)
    except ValueError:
      factor = 0
    if factor < 2:
      raise ConditionError(f"downsampled:F needs an int factor F >= 2 (e.g. "
                           f"downsampled:4); got {spec!r}.")
    return Downsampled(factor)
  if name == "masked":
    if argument in MASK_REGIONS:
      return Masked(argument)
    try:
      box = tuple(int(v) for v in argument.split(","))
    except ValueError:
      box = ()
    if len(box) != 4 or min(box[2:], default=0) < 1 or min(box) < 0:
      raise ConditionError(
          f"masked:SPEC needs a region, one of {MASK_REGIONS}, or a box "
          f"ROW,COL,HEIGHT,WIDTH of ints (height and width >= 1); got "
          f"{spec!r}.")
    return Masked(argument)
  if name == "grayscale" and not argument:
    return Grayscale()
  raise ConditionError(f"condition must be one of downsampled:F, masked:SPEC, "
                       f"grayscale; got {spec!r}.")


class ConditionTask:
  """A condition computed from every image (the base of `Downsampled`, `Masked` and `Grayscale`).

  Subclasses give `spec`, `_condition_shape`, `_condition` and `_show`.
  """

  #: The `--condition` string of the task, e.g. "downsampled" and its factor.
  spec = ""

  def condition_shape(self, image_shape):
    """The shape of one image's condition, the model's `condition_shape`.

    Args:
      image_shape: (H, W, C) of the images.

    Returns:
      tuple of 3 ints (h, w, k).

    Raises:
      ConditionError: a task that does not fit the images (a factor that
        does not divide H and W, a box outside the image, grayscale of
        images that are not RGB).
    """
    return self._condition_shape(tuple(int(d) for d in image_shape))

  def __call__(self, images):
    """The conditions of a batch of images.

    Args:
      images: uint8 or float [N, H, W, C], pixels in [0, 256).

    Returns:
      float32 tensor [N] + `condition_shape((H, W, C))`, pixel values / 256.

    Raises:
      ConditionError: as `condition_shape`.
    """
    images = tf.cast(images, tf.float32)
    self.condition_shape(images.shape[1:])
    return self._condition(images)

  def show(self, condition, image_shape):
    """Conditions as images, for grids.

    Args:
      condition: float numpy [N] + `condition_shape(image_shape)`, as
        `__call__` gives them.
      image_shape: (H, W, C) of the images.

    Returns:
      float numpy [N, H, W, C], pixels in [0, 256).
    """
    return self._show(np.asarray(condition), tuple(image_shape))


def optional(spec):
  """The task `spec` names, or None for "" (no condition).

  Args:
    spec: "" or a string `parse` reads.

  Returns:
    A `ConditionTask`, or None.

  Raises:
    ConditionError: as `parse`.
  """
  return parse(spec) if spec else None


@dataclasses.dataclass(frozen=True)
class Downsampled(ConditionTask):
  """Super-resolution: the condition is the image average-pooled by `factor`, (H/F, W/F, C).

  Shown as each block's mean repeated F x F times.

  Attributes:
    factor: int >= 2, dividing H and W.
  """
  factor: int

  @property
  def spec(self):
    """The `--condition` string."""
    return f"downsampled:{self.factor}"

  def _condition_shape(self, image_shape):
    height, width, channels = image_shape
    if height % self.factor or width % self.factor:
      factors = [f for f in range(2, min(height, width) + 1)
                 if height % f == 0 and width % f == 0]
      raise ConditionError(
          f"downsampled:{self.factor} needs a factor that divides the image "
          f"size {height}x{width}; factors that do: {factors}.")
    return (height // self.factor, width // self.factor, channels)

  def _condition(self, images):
    return tf.nn.avg_pool2d(images, self.factor, self.factor,
                            "VALID") / PIXEL_LEVELS

  def _show(self, condition, image_shape):
    pixels = condition * PIXEL_LEVELS
    return np.repeat(np.repeat(pixels, self.factor, axis=1), self.factor,
                     axis=2)


@dataclasses.dataclass(frozen=True)
class Masked(ConditionTask):
  """Inpainting: the image with a region hidden (0) and the region's 0/1 mask, (H, W, C + 1).

  Shown as the visible pixels with the hidden region gray.

  Attributes:
    region: one of `MASK_REGIONS`, or "ROW,COL,HEIGHT,WIDTH".
  """
  region: str

  @property
  def spec(self):
    """The `--condition` string."""
    return f"masked:{self.region}"

  def mask(self, image_shape):
    """The hidden region of an image.

    Args:
      image_shape: (H, W, C) of the images.

    Returns:
      float32 numpy [H, W, 1], 1 on the hidden region, 0 elsewhere.

    Raises:
      ConditionError: a box that is not a non-empty region inside the image.
    """
    height, width = image_shape[:2]
    boxes = {"center": (height // 4, width // 4, height // 2, width // 2),
             "top": (0, 0, height // 2, width),
             "bottom": (height - height // 2, 0, height // 2, width),
             "left": (0, 0, height, width // 2),
             "right": (0, width - width // 2, height, width // 2)}
    row, col, box_height, box_width = boxes.get(self.region) or tuple(
        int(v) for v in self.region.split(","))
    if (min(box_height, box_width) < 1 or row + box_height > height
        or col + box_width > width):
      raise ConditionError(
          f"masked:{self.region} hides rows {row}..{row + box_height - 1}, "
          f"columns {col}..{col + box_width - 1}, which must be a non-empty "
          f"region inside the {height}x{width} image.")
    mask = np.zeros((height, width, 1), np.float32)
    mask[row:row + box_height, col:col + box_width] = 1.0
    return mask

  def _condition_shape(self, image_shape):
    self.mask(image_shape)
    return image_shape[:2] + (image_shape[2] + 1,)

  def _condition(self, images):
    mask = tf.constant(self.mask(images.shape[1:]))
    visible = images * (1.0 - mask) / PIXEL_LEVELS
    mask = tf.broadcast_to(mask, tf.concat([tf.shape(images)[:-1], [1]], 0))
    return tf.concat([visible, mask], axis=-1)

  def _show(self, condition, image_shape):
    hidden = condition[..., -1:]
    return (condition[..., :-1] * PIXEL_LEVELS * (1 - hidden)
            + HIDDEN_PIXEL * hidden)


@dataclasses.dataclass(frozen=True)
class Grayscale(ConditionTask):
  """Colorization: the condition is the luminance of an RGB image, (H, W, 1).

  Shown as gray RGB images.
  """

  @property
  def spec(self):
    """The `--condition` string."""
    return "grayscale"

  def _condition_shape(self, image_shape):
    if image_shape[2] != 3:
      raise ConditionError(f"grayscale (colorization) needs RGB images; got "
                           f"{image_shape[2]} channel(s) (image shape "
                           f"{image_shape}).")
    return image_shape[:2] + (1,)

  def _condition(self, images):
    return tf.image.rgb_to_grayscale(images) / PIXEL_LEVELS

  def _show(self, condition, image_shape):
    return np.repeat(condition * PIXEL_LEVELS, 3, axis=-1)


def with_condition(dataset, task, labels=False):
  """Maps a data set of (images, labels) batches or examples to dicts with the task's condition.

  Args:
    dataset: `tf.data.Dataset` of (images uint8 [..., H, W, C], labels).
    task: a task of `parse`.
    labels: whether to keep the labels (a model that is also
      class-conditional).

  Returns:
    `tf.data.Dataset` of dicts {"images", "condition"[, "labels"]}, the
    layout `RealNVP.fit` reads.
  """
  def add_condition(images, class_labels):
    batched = images.shape.rank == 4
    condition = task(images if batched else images[None])
    example = {"images": images,
               "condition": condition if batched else condition[0]}
    if labels:
      example["labels"] = class_labels
    return example
  return dataset.map(add_condition, num_parallel_calls=tf.data.AUTOTUNE)


#: Held-out images in train's conditions.png (a row each).
CONDITION_GRID_ROWS = 8
#: The first held-out images, among which train's grid spreads its rows.
CONDITION_GRID_POOL = 1000
#: Samples per condition in train's grids.
SAMPLES_PER_CONDITION = 6


def condition_grid(model, task, images, labels=None,
                   samples_per_condition=SAMPLES_PER_CONDITION,
                   temperature=0.7, seed=0):
  """Conditional samples of real images' conditions: per image, its condition shown, samples, and the image.

  Args:
    model: a `tfp_realnvp.RealNVP` with `condition_shape` equal to
      `task.condition_shape(model.image_shape)`.
    task: the model's task (`parse`).
    images: uint8 or float [N, H, W, C] real images, pixels in [0, 256).
    labels: int [N] for a class-conditional model, else None.
    samples_per_condition: int >= 1, samples per row.
    temperature: float > 0, the latents' standard deviation.
    seed: int, for reproducible samples (image i uses seed + i).

  Returns:
    float32 numpy [N, samples_per_condition + 2, H, W, C] tiles in
    [0, 256): per image, the condition shown (`show`), the samples, and
    the real image.

  Raises:
    ValueError: as `RealNVP.sample` (e.g. a task that does not fit the
      model's condition shape).
  """
  images = np.asarray(images, np.float32)
  condition = task(images)
  rows = []
  for i in range(len(images)):
    samples = model.sample(
        samples_per_condition, temperature=temperature, seed=seed + i,
        labels=(None if labels is None else
                np.full(samples_per_condition, labels[i], np.int64)),
        condition=condition[i]).numpy()
    shown = task.show(condition[i:i + 1].numpy(), model.image_shape)
    rows.append(np.concatenate([shown, samples, images[i:i + 1]]))
  return np.stack(rows).astype(np.float32)


def write_condition_grids(model, task, images, samples_path, conditions_path,
                          labels=None,
                          samples_per_condition=SAMPLES_PER_CONDITION,
                          temperature=0.7, seed=0, scale=2):
  """Writes `condition_grid` as two PNGs: the samples alone, and with each condition and real image.

  Args:
    model, task, images, labels, samples_per_condition, temperature, seed:
      as `condition_grid`.
    samples_path: the PNG of the samples, a row per image.
    conditions_path: the PNG whose rows also show the condition (first)
      and the real image (last).
    scale: int >= 1 enlargement.

  Returns:
    The tiles of `condition_grid`.
  """
  tiles = condition_grid(model, task, images, labels, samples_per_condition,
                         temperature, seed)
  columns = tiles.shape[1]
  save_image_grid(tiles[:, 1:-1].reshape(-1, *tiles.shape[2:]), samples_path,
                  columns - 2, scale)
  save_image_grid(tiles.reshape(-1, *tiles.shape[2:]), conditions_path,
                  columns, scale)
  return tiles


__all__ = ["CONDITION_GRID_POOL", "CONDITION_GRID_ROWS", "ConditionError", "ConditionTask", "Downsampled",
           "Grayscale", "MASK_REGIONS", "Masked", "SAMPLES_PER_CONDITION",
           "TASKS", "condition_grid", "optional", "parse", "with_condition",
           "write_condition_grids"]
