"""tfp_realnvp.plots: learning curves from history columns."""

import pytest
from PIL import Image

from tfp_realnvp.plots import plot_learning_curve


def test_learning_curve_plot(tmp_path):
  with pytest.raises(ValueError, match="NaN"):
    plot_learning_curve({"bits_per_dim": [3.0, 2.0],
                         "val_bits_per_dim": [2.5, float("nan")]},
                        str(tmp_path / "curve.png"))
  with pytest.raises(ValueError, match="no bits_per_dim"):
    plot_learning_curve({}, str(tmp_path / "curve.png"))
  plot_learning_curve({"bits_per_dim": [3.0, 2.0],
                       "val_bits_per_dim": [2.5, 2.1]},
                      str(tmp_path / "curve.png"))
  assert Image.open(tmp_path / "curve.png").size == (600, 400)
