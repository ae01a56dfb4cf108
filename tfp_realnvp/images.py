"""Image grids of samples as PNG files (Pillow)."""

import numpy as np
import tensorflow as tf
from PIL import Image


def to_uint8(pixels):
  """Floors pixel values in [0, 256) to uint8 (the dequantization bin they fall in).

  Args:
    pixels: array-like of real pixel values, any shape.

  Returns:
    uint8 numpy array of the same shape: floor(pixels), clipped into
    [0, 255] (values outside [0, 256) go to the nearest end).
  """
  return np.clip(np.floor(np.asarray(pixels)), 0, 255).astype(np.uint8)


def image_grid(images, num_columns):
  """Tiles images [N, H, W, C] (pixels in [0, 256)) into one uint8 array.

  Rows are filled left to right; a last incomplete row stays gray.
  A 1-pixel gray border separates the tiles.

  Args:
    images: [N, H, W, C] pixel values in [0, 256), floored to uint8
      (`to_uint8`).
    num_columns: int >= 1, tiles per row.

  Returns:
    uint8 array [rows * (H + 1) + 1, num_columns * (W + 1) + 1, C], with
    rows = ceil(N / num_columns); gray is 128.

  Raises:
    ValueError: if images is not rank 4 or num_columns < 1.
  """
  images = to_uint8(images)
  if images.ndim != 4:
    raise ValueError(f"images must be [N, H, W, C]; got shape {images.shape}.")
  if num_columns < 1:
    raise ValueError(f"num_columns must be >= 1; got {num_columns}.")
  count, height, width, channels = images.shape
  rows = -(-count // num_columns)
  grid = np.full((rows * (height + 1) + 1, num_columns * (width + 1) + 1,
                  channels), 128, np.uint8)
  for index, image in enumerate(images):
    row, column = divmod(index, num_columns)
    top, left = 1 + row * (height + 1), 1 + column * (width + 1)
    grid[top:top + height, left:left + width] = image
  return grid


def save_image_grid(images, path, num_columns, scale=2):
  """Writes `image_grid(images, num_columns)` as a PNG, enlarged `scale` times.

  Args:
    images: [N, H, W, C] pixels in [0, 256), C = 1 (grayscale) or 3 (RGB).
    path: output file path (local or any TensorFlow filesystem).
    num_columns: tiles per row.
    scale: integer nearest-neighbour enlargement.

  Raises:
    ValueError: for channel counts other than 1 or 3, or bad shapes.
  """
  grid = image_grid(images, num_columns)
  if grid.shape[-1] not in (1, 3):
    raise ValueError(f"PNG grids need 1 or 3 channels; got {grid.shape[-1]}.")
  picture = Image.fromarray(grid[..., 0] if grid.shape[-1] == 1 else grid)
  picture = picture.resize((picture.width * scale, picture.height * scale),
                           Image.NEAREST)
  with tf.io.gfile.GFile(path, "wb") as file:
    picture.save(file, format="PNG")
