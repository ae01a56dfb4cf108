"""Learning curves as PNG files (matplotlib)."""

import io

import numpy as np
import tensorflow as tf
# A Figure with an Agg canvas renders to files without pyplot's global state,
# so it neither needs a display nor changes a notebook's backend.
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


def plot_learning_curve(history, path, title="Real NVP"):
  """Plots training and held-out bits/dim per epoch and writes a PNG.

  Args:
    history: dict of per-epoch lists (Keras `History.history`, or the
      `history` of metrics.json) with "bits_per_dim" (training, measured
      while the weights change, with batch statistics) and optionally
      "val_bits_per_dim" (held-out, running averages), in bits/dim.
    path: output PNG path (local or any TensorFlow filesystem).
    title: the figure's title.

  Raises:
    ValueError: if `history` has no "bits_per_dim" values or contains NaN.
  """
  training = np.asarray(history.get("bits_per_dim", []), np.float64)
  held_out = np.asarray(history.get("val_bits_per_dim", []), np.float64)
  if training.size == 0:
    raise ValueError("history has no bits_per_dim values to plot.")
  if not (np.all(np.isfinite(training)) and np.all(np.isfinite(held_out))):
    raise ValueError("history contains NaN or infinite bits/dim.")
  figure = Figure(figsize=(6, 4), dpi=100)
  FigureCanvasAgg(figure)
  axes = figure.add_subplot()
  epochs = np.arange(1, training.size + 1)
  axes.plot(epochs, training, "o-", label="training")
  if held_out.size:
    axes.plot(epochs[:held_out.size], held_out, "s-", label="held-out")
    best = int(np.argmin(held_out))
    axes.annotate(f"best held-out {held_out[best]:.3f}",
                  (best + 1, held_out[best]), textcoords="offset points",
                  xytext=(0, 10), ha="right", va="bottom")
  axes.set_xlabel("epoch")
  axes.set_ylabel("bits/dim")
  axes.set_title(title)
  axes.grid(alpha=0.3)
  axes.legend()
  figure.tight_layout()
  buffer = io.BytesIO()
  figure.savefig(buffer, format="png")
  with tf.io.gfile.GFile(path, "wb") as file:
    file.write(buffer.getvalue())
